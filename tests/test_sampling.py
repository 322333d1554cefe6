"""top_k_filter, top_p_filter, min_p_filter, sample, softmax_with_temperature, sample_next, apply_repetition_penalty.

The filters' definitions (exactly k, the smallest nucleus that reaches p including the
token that crosses it, p_min times the top probability), batched rows, and seeded
sampling whose empirical frequencies match softmax(logits / T) within a few standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from logits_to_loss import min_p_filter, sample, softmax, top_k_filter, top_p_filter
from logits_to_loss.sampling import apply_repetition_penalty, sample_next, softmax_with_temperature

PROPERTY = settings(max_examples=60, deadline=None)
N_DRAWS = 20_000
PROBS_532 = np.array([0.5, 0.3, 0.2])


def distinct_logits(max_rows=1):
    """1-D (or (B, V)) float64 logits with distinct entries in each row."""
    vocab = st.integers(1, 12)
    if max_rows == 1:
        return vocab.flatmap(lambda v: arrays(np.float64, (v,), elements=st.floats(-20, 20), unique=True))
    return st.tuples(st.integers(1, max_rows), vocab).flatmap(
        lambda s: st.lists(
            arrays(np.float64, (s[1],), elements=st.floats(-20, 20), unique=True), min_size=s[0], max_size=s[0]
        ).map(np.stack)
    )


def kept(filtered):
    assert not np.isnan(filtered).any()
    return np.isfinite(filtered)


def assert_frequencies_match(draws, probs, n_se=4.5):
    """Each class's count is within ``n_se`` binomial standard errors of ``n p``."""
    n = draws.size
    counts = np.bincount(draws.ravel(), minlength=probs.size)
    se = np.sqrt(n * probs * (1 - probs))
    assert (np.abs(counts - n * probs) <= n_se * se + 1e-9).all(), (counts / n, probs)


# --- top-k ------------------------------------------------------------------------------------


@PROPERTY
@given(distinct_logits(), st.integers(1, 15))
def test_top_k_keeps_exactly_the_k_largest(logits, k):
    out = top_k_filter(logits, k)
    keep = kept(out)
    assert keep.sum() == min(k, logits.size)
    np.testing.assert_array_equal(np.sort(np.flatnonzero(keep)), np.sort(np.argsort(logits)[::-1][:k]))
    np.testing.assert_array_equal(out[keep], logits[keep])  # kept logits are untouched
    assert (out[~keep] == -np.inf).all()


def test_top_k_keeps_ties_with_the_kth():
    np.testing.assert_array_equal(kept(top_k_filter([2.0, 1.0, 1.0, 0.0], 2)), [True, True, True, False])


def test_top_k_float32_and_int_dtype():
    assert top_k_filter(np.array([1.0, 3.0, 2.0], dtype=np.float32), 1).dtype == np.float32
    out = top_k_filter([1, 3, 2], 2)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [-np.inf, 3.0, 2.0])


# --- top-p ------------------------------------------------------------------------------------


@pytest.mark.parametrize("p, n_kept", [(0.3, 1), (0.5, 1), (0.6, 2), (0.79, 2), (0.81, 3), (1.0, 3)])
def test_top_p_keeps_the_token_that_crosses_p(p, n_kept):
    out = top_p_filter(np.log(PROBS_532), p)
    np.testing.assert_array_equal(kept(out), np.arange(3) < n_kept)


@PROPERTY
@given(distinct_logits(), st.floats(0.01, 1.0))
def test_top_p_keeps_the_smallest_prefix_that_reaches_p(logits, p):
    keep = kept(top_p_filter(logits, p))
    probs = softmax(logits)
    order = np.argsort(-logits)
    n = keep.sum()
    assert n >= 1
    assert keep[order[:n]].all(), "the kept tokens are the most likely ones"
    mass = probs[order[:n]].sum()
    assert mass >= p - 1e-12, "the nucleus reaches p"
    assert mass - probs[order[n - 1]] < p + 1e-12, "without its least likely token it would not"


# --- min-p ------------------------------------------------------------------------------------


@pytest.mark.parametrize("p_min, expected", [(0.1, [1, 1, 1]), (0.39, [1, 1, 1]), (0.5, [1, 1, 0]), (0.7, [1, 0, 0]), (1.0, [1, 0, 0])])
def test_min_p_worked_examples(p_min, expected):
    # probs [0.5, 0.3, 0.2]: the threshold is p_min * 0.5
    np.testing.assert_array_equal(kept(min_p_filter(np.log(PROBS_532), p_min)), np.array(expected, bool))


@PROPERTY
@given(distinct_logits(), st.floats(0.001, 1.0))
def test_min_p_keeps_tokens_above_p_min_times_top(logits, p_min):
    keep = kept(min_p_filter(logits, p_min))
    probs = softmax(logits)
    threshold = p_min * probs.max()
    assert keep[probs >= threshold * (1 + 1e-9)].all()
    assert not keep[probs < threshold * (1 - 1e-9)].any()
    assert keep[np.argmax(logits)]


# --- batched rows -----------------------------------------------------------------------------


@PROPERTY
@given(distinct_logits(max_rows=4), st.integers(1, 6), st.floats(0.05, 1.0), st.floats(0.01, 1.0))
def test_filters_work_on_each_row_independently(logits, k, p, p_min):
    for fn, arg in ((top_k_filter, k), (top_p_filter, p), (min_p_filter, p_min)):
        batched = fn(logits, arg)
        assert batched.shape == logits.shape
        np.testing.assert_array_equal(batched, np.stack([fn(row, arg) for row in logits]))
        # the same rows in a (B, 1, V) batch give the same answer
        np.testing.assert_array_equal(fn(logits[:, None, :], arg)[:, 0, :], batched)


def test_filters_on_rows_with_different_shapes_of_distribution():
    logits = np.log(np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.9, 0.05, 0.05]]))
    np.testing.assert_array_equal(
        kept(top_p_filter(logits, 0.6)), [[True, True, False], [False, True, True], [True, False, False]]
    )
    np.testing.assert_array_equal(
        kept(min_p_filter(logits, 0.5)), [[True, True, False], [False, True, True], [True, False, False]]
    )
    np.testing.assert_array_equal(kept(top_k_filter(logits, 1)), [[True, False, False], [False, False, True], [True, False, False]])


# --- sample -----------------------------------------------------------------------------------


def test_temperature_zero_is_argmax():
    rng = np.random.default_rng(0)
    logits = np.random.default_rng(1).normal(size=(3, 4, 10))
    np.testing.assert_array_equal(sample(logits, rng, temperature=0), logits.argmax(axis=-1))
    draws = sample(logits, rng, temperature=0, size=7)
    np.testing.assert_array_equal(draws, np.repeat(logits.argmax(axis=-1)[..., None], 7, axis=-1))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_empirical_frequencies_match_softmax_over_temperature(temperature):
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    draws = sample(logits, np.random.default_rng(1234), temperature=temperature, size=N_DRAWS)
    assert draws.shape == (N_DRAWS,)
    assert_frequencies_match(draws, softmax(logits, temperature=temperature))


def test_empirical_frequencies_for_batched_rows():
    logits = np.array([[2.0, 1.0, 0.5, -1.0], [-1.0, 0.5, 1.0, 2.0]], dtype=np.float32)
    draws = sample(logits, np.random.default_rng(99), size=N_DRAWS)
    assert draws.shape == (2, N_DRAWS)
    for row, row_draws in zip(logits, draws):
        assert_frequencies_match(row_draws, softmax(row.astype(np.float64)))


@pytest.mark.parametrize(
    "options, allowed",
    [
        ({"top_k": 1}, [0]),  # greedy through top-k
        ({"top_k": 2}, [0, 1]),
        ({"top_p": 0.6}, [0, 1]),
        ({"min_p": 0.5}, [0, 1]),
        ({"top_k": 3, "top_p": 0.81, "min_p": 0.7}, [0]),
        ({"temperature": 0.5, "top_p": 0.6}, [0]),  # temperature first: probs become [0.68, 0.25, ...]
        ({"temperature": 3.0, "min_p": 0.5}, [0, 1, 2]),
    ],
)
def test_filtered_out_tokens_are_never_drawn(options, allowed):
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    draws = sample(logits, np.random.default_rng(7), size=N_DRAWS, **options)
    assert set(np.unique(draws)) == set(allowed)
    # the kept tokens are drawn in proportion to their renormalised probabilities
    probs = softmax(logits, temperature=options.get("temperature", 1.0))
    expected = np.where(np.isin(np.arange(4), allowed), probs, 0)
    expected /= expected.sum()
    assert_frequencies_match(draws, expected)


@pytest.mark.parametrize(
    "shape, size, expected",
    [
        ((5,), None, ()),
        ((5,), 3, (3,)),
        ((2, 5), None, (2,)),
        ((2, 5), 3, (2, 3)),
        ((2, 4, 5), None, (2, 4)),
        ((2, 4, 5), 1, (2, 4, 1)),
    ],
)
def test_sample_output_shapes(shape, size, expected):
    logits = np.random.default_rng(0).normal(size=shape)
    for temperature in (0, 1.0):
        out = np.asarray(sample(logits, np.random.default_rng(0), temperature=temperature, size=size))
        assert out.shape == expected
        assert out.dtype.kind in "iu"
        assert ((out >= 0) & (out < shape[-1])).all()


def test_sample_is_reproducible_with_a_seed():
    logits = np.zeros(50)
    first = sample(logits, np.random.default_rng(42), size=100)
    np.testing.assert_array_equal(first, sample(logits, np.random.default_rng(42), size=100))
    assert not np.array_equal(first, sample(logits, np.random.default_rng(43), size=100))


def test_sample_accepts_huge_logits_and_lists():
    assert sample([1e30, 0.0, -1e30], np.random.default_rng(0)) == 0
    assert sample(np.array([1000.0, 1000.0 + np.log(3.0)]), np.random.default_rng(0), size=8).shape == (8,)


# --- softmax_with_temperature -----------------------------------------------------------------


@pytest.mark.parametrize(
    "temperature, expected",
    [(0.5, [0.980, 0.018, 0.002]), (1.0, [0.844, 0.114, 0.042]), (2.0, [0.629, 0.231, 0.140])],
)
def test_temperature_figures_of_the_brief(temperature, expected):
    probs = softmax_with_temperature([3.0, 1.0, 0.0], temperature)
    np.testing.assert_allclose(probs, expected, atol=5e-4)
    z = np.array([3.0, 1.0, 0.0]) / temperature
    np.testing.assert_allclose(probs, np.exp(z) / np.exp(z).sum(), rtol=1e-14)  # softmax(z / T) by hand


@PROPERTY
@given(distinct_logits(), st.floats(0.05, 20.0))
def test_temperature_keeps_the_ranking(logits, temperature):
    probs = softmax_with_temperature(logits, temperature)
    assert (np.diff(probs[np.argsort(logits)]) >= 0).all()  # a larger logit never gets less (ties by underflow)
    assert probs[np.argmax(logits)] == probs.max()


def test_temperature_limits_and_batches():
    logits = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 2.5]])
    np.testing.assert_allclose(softmax_with_temperature(logits, 1e-3), [[1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(softmax_with_temperature(logits, 1e6), np.full((2, 3), 1 / 3), atol=1e-5)
    assert softmax_with_temperature(logits.astype(np.float32), 0.7).dtype == np.float32


@pytest.mark.parametrize("temperature", [0, -1.0, np.inf, np.nan])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature"):
        softmax_with_temperature([1.0, 2.0], temperature)


# --- sample_next ------------------------------------------------------------------------------


def chi_square_below_threshold(draws, probs, p_value=1e-6):
    """Pearson's chi-square of the draws against ``probs``, below its 1 - 1e-6 quantile (never flaky with a seed)."""
    counts = np.bincount(draws.ravel(), minlength=probs.size)
    expected = draws.size * probs
    assert (counts[expected == 0] == 0).all(), "a token with probability 0 was drawn"
    keep = expected > 0
    chi2 = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    return chi2 < stats.chi2.isf(p_value, df=keep.sum() - 1)


def test_sample_next_is_sample_with_the_same_stream():
    logits = np.random.default_rng(3).normal(size=(4, 6, 9))
    for options in ({}, {"temperature": 0.7}, {"temperature": 1.3, "top_p": 0.8}, {"temperature": 0}):
        first = sample_next(logits, np.random.default_rng(11), **options)
        np.testing.assert_array_equal(first, sample(logits, np.random.default_rng(11), **options))
        assert first.shape == (4, 6)


@pytest.mark.parametrize("temperature, top_p", [(1.0, None), (0.5, None), (2.0, None), (1.0, 0.9), (2.0, 0.75)])
def test_sample_next_draws_follow_the_tempered_nucleus(temperature, top_p):
    logits = np.array([3.0, 1.0, 0.0, -1.0])
    draws = sample_next(np.tile(logits, (N_DRAWS, 1)), np.random.default_rng(21), temperature, top_p)  # one per row
    probs = softmax_with_temperature(logits, temperature)
    if top_p is not None:
        probs = softmax(top_p_filter(np.log(probs), top_p))
    assert chi_square_below_threshold(draws, probs)
    if temperature != 1.0:
        assert not chi_square_below_threshold(draws, softmax(logits * temperature)), "multiplying by T is caught"


# --- repetition penalty -----------------------------------------------------------------------


def test_repetition_penalty_by_hand():
    logits = np.array([2.0, -1.0, 0.5, -3.0, 0.0])
    out = apply_repetition_penalty(logits, [0, 1, 1, 4], 2.0)
    # seen 0 (positive: halved), 1 (negative: doubled), 4 (zero: unchanged); 2 and 3 unseen
    np.testing.assert_array_equal(out, [1.0, -2.0, 0.5, -3.0, 0.0])
    np.testing.assert_array_equal(apply_repetition_penalty(logits, [0, 1], 1.0), logits)
    np.testing.assert_array_equal(apply_repetition_penalty(logits, np.array([], dtype=int), 2.0), logits)
    np.testing.assert_array_equal(apply_repetition_penalty(logits, [], 2.0), logits)
    assert apply_repetition_penalty([-np.inf, 1.0], [0], 1.5)[0] == -np.inf


def test_repetition_penalty_per_row_and_shared_history():
    logits = np.array([[1.0, 2.0, -1.0], [3.0, -2.0, 0.5]], dtype=np.float32)
    out = apply_repetition_penalty(logits, np.array([[1, 1], [2, 0]]), 4.0)
    np.testing.assert_array_equal(out, np.array([[1.0, 0.5, -1.0], [0.75, -2.0, 0.125]], dtype=np.float32))
    assert out.dtype == np.float32
    shared = apply_repetition_penalty(logits, [2], 2.0)
    np.testing.assert_array_equal(shared, [[1.0, 2.0, -2.0], [3.0, -2.0, 0.25]])


@PROPERTY
@given(distinct_logits(), st.floats(1.0, 10.0), st.data())
def test_repetition_penalty_only_lowers_seen_tokens(logits, penalty, data):
    seen = data.draw(st.lists(st.integers(0, logits.size - 1), max_size=5))
    out = apply_repetition_penalty(logits, np.array(seen, dtype=int), penalty)
    assert (out <= logits).all()
    unseen = ~np.isin(np.arange(logits.size), seen)
    np.testing.assert_array_equal(out[unseen], logits[unseen])


@pytest.mark.parametrize(
    "previous, penalty, error, match",
    [
        ([0], 0.0, ValueError, "penalty"),
        ([0], -1.2, ValueError, "penalty"),
        ([0], "high", TypeError, "penalty"),
        ([3], 1.2, ValueError, "previous_tokens"),
        ([-1], 1.2, ValueError, "previous_tokens"),
        ([0.0], 1.2, TypeError, "integer"),
        ([[0], [1], [2]], 1.2, ValueError, "shape"),
    ],
)
def test_repetition_penalty_bad_input(previous, penalty, error, match):
    with pytest.raises(error, match=match):
        apply_repetition_penalty(np.zeros((2, 3)), np.asarray(previous), penalty)
