"""softmax, log_softmax, logsumexp and naive_softmax.

Properties (hypothesis) for float32/float64 logits of 1-D and 2-D shapes, differential
checks against torch and SciPy, dtype handling (float16 included) and the worked
figures of chapters 1, 2 and 5.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from logits_to_loss import log_softmax, logsumexp, naive_softmax, softmax

PROPERTY = settings(max_examples=60, deadline=None)
DTYPES = [np.float32, np.float64]
SHAPES = array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=12)
EPS = {np.float32: np.finfo(np.float32).eps, np.float64: np.finfo(np.float64).eps}


def logits_arrays(low: float, high: float, dtype=None, shape=SHAPES):
    """Strategy for finite float32 or float64 logits in [low, high] of 1-D or 2-D shape."""
    dtypes = st.sampled_from(DTYPES) if dtype is None else st.just(dtype)

    def of_dtype(dt):
        lo, hi = float(dt(low)), float(dt(high))  # bounds representable in the dtype
        return arrays(dt, shape, elements=st.floats(lo, hi, width=np.finfo(dt).bits, allow_subnormal=False))

    return dtypes.flatmap(of_dtype)


# Dyadic values: x + c is exact in float32 for these, so the shift-invariance check can be exact.
dyadic = st.integers(-800, 800).map(lambda i: i / 8)
shifts = st.sampled_from([0.0, 1.0, -1.0, 1000.0, -1000.0, 4096.0]) | st.integers(-2000, 2000).map(float)


# --- properties -------------------------------------------------------------------------------


@PROPERTY
@given(logits_arrays(-1e30, 1e30))
def test_softmax_rows_sum_to_one(logits):
    probs = softmax(logits)
    assert probs.dtype == logits.dtype
    assert probs.shape == logits.shape
    np.testing.assert_allclose(probs.sum(axis=-1, dtype=np.float64), 1.0, rtol=0, atol=8 * logits.shape[-1] * EPS[logits.dtype.type])
    assert (probs >= 0).all() and (probs <= 1).all()


@PROPERTY
@given(logits_arrays(-20, 20), st.data())
def test_softmax_positive_where_finite_and_zero_at_minus_inf(logits, data):
    # Blank out some entries with -inf but keep each row's first entry finite.
    blank = data.draw(arrays(bool, logits.shape))
    blank[..., 0] = False
    logits = np.where(blank, -np.inf, logits).astype(logits.dtype)
    probs = softmax(logits)
    assert (probs[~blank] > 0).all()
    assert (probs[blank] == 0).all()


@PROPERTY
@given(st.sampled_from(DTYPES).flatmap(lambda dt: arrays(dt, SHAPES, elements=dyadic)), shifts)
def test_softmax_shift_invariance_is_exact(logits, c):
    shifted = (logits + logits.dtype.type(c)).astype(logits.dtype)
    np.testing.assert_array_equal(softmax(shifted), softmax(logits))
    np.testing.assert_array_equal(log_softmax(shifted), log_softmax(logits))
    # logsumexp itself moves by c, so it is exact only up to rounding at magnitude |c| + 100
    rounding = 2 * EPS[logits.dtype.type] * (abs(c) + 100)
    np.testing.assert_allclose(logsumexp(shifted).astype(np.float64) - c, logsumexp(logits), rtol=0, atol=rounding)


@PROPERTY
@given(logits_arrays(-50, 50), st.sampled_from([1000.0, -1000.0, 1e4, 123.456]))
def test_softmax_shift_invariance_any_values(logits, c):
    shifted = logits.astype(np.float64) + c
    rounding = 4 * EPS[logits.dtype.type] * (abs(c) + 50)  # error of representing x + c in the dtype
    np.testing.assert_allclose(softmax(shifted.astype(logits.dtype)), softmax(logits), rtol=0, atol=4 * rounding + 1e-12)


@PROPERTY
@given(logits_arrays(-30, 30))
def test_softmax_preserves_order(logits):
    probs = softmax(logits)
    x = logits[..., :, None], logits[..., None, :]
    p = probs[..., :, None], probs[..., None, :]
    assert not ((x[0] < x[1]) & (p[0] > p[1])).any(), "a larger logit got a smaller probability"
    assert ((x[0] != x[1]) | (p[0] == p[1])).all(), "equal logits got different probabilities"
    top = np.take_along_axis(probs, logits.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(top, probs.max(axis=-1))  # the top logit has the top probability


@PROPERTY
@given(logits_arrays(-100, 100, np.float64))
def test_low_temperature_tends_to_one_hot_at_argmax(logits):
    top2 = np.sort(logits, axis=-1)[..., -2:] if logits.shape[-1] > 1 else None
    assume(top2 is None or (top2[..., 1] - top2[..., 0] > 0.1).all())  # a unique argmax
    probs = softmax(logits, temperature=1e-3)
    one_hot = np.eye(logits.shape[-1])[logits.argmax(axis=-1)]
    np.testing.assert_allclose(probs, one_hot, rtol=0, atol=1e-12)


@PROPERTY
@given(logits_arrays(-100, 100))
def test_high_temperature_tends_to_uniform(logits):
    n = logits.shape[-1]
    np.testing.assert_allclose(softmax(logits, temperature=1e6), np.full(logits.shape, 1 / n), rtol=1e-3)


@PROPERTY
@given(logits_arrays(-30, 30, np.float64), st.lists(st.floats(0.05, 50), min_size=2, max_size=5, unique=True))
def test_top_probability_never_grows_with_temperature(logits, temperatures):
    top = [softmax(logits, temperature=t).max(axis=-1) for t in sorted(temperatures)]
    for colder, warmer in zip(top, top[1:]):
        assert (warmer <= colder + 1e-12).all()


@PROPERTY
@given(logits_arrays(-1e30, 1e30))
def test_logsumexp_bounds(logits):
    lse = logsumexp(logits)
    m = logits.max(axis=-1)
    n = logits.shape[-1]
    assert lse.dtype == logits.dtype and lse.shape == logits.shape[:-1]
    assert (m <= lse).all()
    slack = 4 * EPS[logits.dtype.type] * (np.abs(m.astype(np.float64)) + np.log(n) + 1)
    assert (lse <= m.astype(np.float64) + np.log(n) + slack).all()


@PROPERTY
@given(logits_arrays(-60, 60))
def test_log_softmax_is_log_of_softmax_where_no_underflow(logits):
    probs = softmax(logits)
    logp = log_softmax(logits)
    ok = probs > 1e-20
    tol = 1e-5 if logits.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(logp[ok], np.log(probs[ok]), rtol=tol, atol=tol)
    assert (logp <= 0).all()


@PROPERTY
@given(logits_arrays(-1e30, 1e30), st.floats(0.01, 100))
def test_huge_finite_logits_stay_finite(logits, temperature):
    assert np.isfinite(softmax(logits)).all()
    assert np.isfinite(softmax(logits, temperature=temperature)).all()
    assert np.isfinite(log_softmax(logits)).all()
    assert np.isfinite(log_softmax(logits, temperature=temperature)).all()
    assert np.isfinite(logsumexp(logits)).all()


@PROPERTY
@given(logits_arrays(-1e3, 1e3, shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)), st.data())
def test_axis_argument_matches_moving_the_axis_last(logits, data):
    axis = data.draw(st.integers(-logits.ndim, logits.ndim - 1))
    moved = np.moveaxis(logits, axis, -1)
    np.testing.assert_array_equal(softmax(logits, axis=axis), np.moveaxis(softmax(moved), -1, axis))
    np.testing.assert_array_equal(log_softmax(logits, axis=axis), np.moveaxis(log_softmax(moved), -1, axis))
    np.testing.assert_array_equal(logsumexp(logits, axis=axis), logsumexp(moved))
    assert logsumexp(logits, axis=axis, keepdims=True).shape == tuple(
        1 if i == axis % logits.ndim else s for i, s in enumerate(logits.shape)
    )


# --- against torch and SciPy ------------------------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 11)])
@pytest.mark.parametrize("temperature", [1.0, 0.3, 4.0])
def test_softmax_and_log_softmax_match_torch(dtype, tol, shape, temperature):
    logits = (np.random.default_rng(sum(shape)).normal(size=shape) * 5).astype(dtype)
    x = torch.from_numpy(logits) / temperature
    np.testing.assert_allclose(softmax(logits, temperature=temperature), torch.softmax(x, -1).numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(
        log_softmax(logits, temperature=temperature), torch.log_softmax(x, -1).numpy(), rtol=tol, atol=tol
    )
    np.testing.assert_allclose(logsumexp(logits), torch.logsumexp(torch.from_numpy(logits), -1).numpy(), rtol=tol, atol=tol)


@pytest.mark.filterwarnings("error")  # a +inf entry is a valid input, not a reason to warn
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_matches_scipy_with_infinities(dtype):
    inf = np.inf
    logits = np.array(
        [
            [0.0, 1.0, 2.0, 3.0],
            [-inf, 1.0, -inf, 2.0],  # -inf entries contribute e^-inf = 0
            [-inf, -inf, -inf, -inf],  # empty sum: log 0 = -inf
            [inf, 1.0, -inf, 0.0],  # +inf dominates
            [inf, inf, 0.0, 0.0],
            [1e30, -1e30, 0.0, 1e30],
            [-1e4, -1e4 - 1, -1e4 - 2, -inf],
        ],
        dtype=dtype,
    )
    with np.errstate(all="ignore"):
        expected = scipy.special.logsumexp(logits, axis=-1)
        expected_cols = scipy.special.logsumexp(logits, axis=0, keepdims=True)
    np.testing.assert_allclose(logsumexp(logits), expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(logsumexp(logits, axis=0, keepdims=True), expected_cols, rtol=1e-6 if dtype == np.float32 else 1e-14)
    assert logsumexp(logits).dtype == dtype
    assert logsumexp(logits)[2] == -inf and logsumexp(logits)[3] == inf


def test_logsumexp_of_scalar_and_lists():
    assert logsumexp(3.0) == 3.0
    assert logsumexp([0, 0]) == pytest.approx(np.log(2))
    np.testing.assert_allclose(logsumexp([[0.0, np.log(3)], [1.0, 1.0]]), [np.log(4), 1 + np.log(2)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_softmax_match_scipy(dtype):
    logits = np.random.default_rng(1).normal(size=(5, 13)).astype(dtype) * 10
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(softmax(logits), scipy.special.softmax(logits.astype(np.float64), axis=-1), rtol=tol, atol=tol)
    np.testing.assert_allclose(
        log_softmax(logits), scipy.special.log_softmax(logits.astype(np.float64), axis=-1), rtol=tol, atol=tol * 10
    )


# --- dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("fn", [softmax, log_softmax, logsumexp])
def test_dtype_preserved(fn, dtype):
    logits = np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0]], dtype=dtype)
    out = fn(logits)
    assert out.dtype == dtype
    expected = fn(logits.astype(np.float64))
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=2e-3 if dtype == np.float16 else 1e-6)


def test_float16_large_vocabulary_uniform_does_not_overflow():
    vocab = 200_000  # e^0 summed 200k times is inf in float16 (max 65504)
    logits = np.zeros(vocab, dtype=np.float16)
    probs = softmax(logits)
    assert probs.dtype == np.float16 and np.isfinite(probs).all()
    # 1/200000 is a float16 subnormal (spacing 2**-24), so the check is absolute
    np.testing.assert_allclose(probs.astype(np.float64), 1 / vocab, rtol=0, atol=2.0**-24)
    assert float(probs.astype(np.float64).sum()) == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(log_softmax(logits).astype(np.float64), -np.log(vocab), rtol=1e-3)
    lse = logsumexp(logits)
    assert lse.dtype == np.float16
    assert float(lse) == pytest.approx(np.log(vocab), rel=1e-3)


def test_integer_and_list_logits_are_promoted_to_float64():
    for logits in ([3, 1, 0], np.array([3, 1, 0], dtype=np.int32), np.array([3, 1, 0], dtype=np.uint8)):
        assert softmax(logits).dtype == np.float64
        assert log_softmax(logits).dtype == np.float64
        assert logsumexp(logits).dtype == np.float64
        np.testing.assert_allclose(softmax(logits), softmax(np.array([3.0, 1.0, 0.0])))


def test_log_softmax_stays_finite_where_softmax_underflows():
    logits = np.array([0.0, -1000.0])
    with np.errstate(divide="ignore"):
        assert np.log(softmax(logits))[1] == -np.inf
    np.testing.assert_allclose(log_softmax(logits), [0.0, -1000.0], atol=1e-12)


def test_softmax_does_not_modify_its_input():
    logits = np.array([[3.0, 1.0, 0.0]])
    before = logits.copy()
    softmax(logits, temperature=0.5)
    log_softmax(logits, temperature=2.0)
    logsumexp(logits)
    np.testing.assert_array_equal(logits, before)


# --- worked figures of the course -------------------------------------------------------------


def test_worked_figures_chapter_1():
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    np.testing.assert_array_equal(np.round(np.exp(logits), 3), [7.389, 2.718, 1.649, 0.368])
    assert round(float(np.exp(logits).sum()), 3) == 12.124
    np.testing.assert_array_equal(np.round(softmax(logits), 3), [0.609, 0.224, 0.136, 0.030])
    np.testing.assert_array_equal(np.round(softmax([3.0, 1.0, 0.0]), 3), [0.844, 0.114, 0.042])


def test_worked_figures_chapter_2_shift_by_1000():
    with np.errstate(all="ignore"):
        naive = naive_softmax(np.array([1000.0, 998.0, 997.0]))
    assert np.isnan(naive).all()
    np.testing.assert_allclose(softmax(np.array([1000.0, 998.0, 997.0])), softmax(np.array([3.0, 1.0, 0.0])), rtol=1e-14)
    np.testing.assert_array_equal(np.round(softmax(np.array([1003.0, 1001.0, 1000.0])), 3), [0.844, 0.114, 0.042])
    # naive_softmax is right where it does not overflow
    np.testing.assert_allclose(naive_softmax(np.array([3.0, 1.0, 0.0])), softmax(np.array([3.0, 1.0, 0.0])), rtol=1e-15)
    with np.errstate(all="ignore"):
        assert np.isnan(naive_softmax(np.array([89.0, 0.0], dtype=np.float32))).any()  # e^89 > float32 max


@pytest.mark.parametrize(
    "temperature, expected", [(0.5, [0.980, 0.018, 0.002]), (1.0, [0.844, 0.114, 0.042]), (2.0, [0.629, 0.231, 0.140])]
)
def test_worked_figures_temperature(temperature, expected):
    np.testing.assert_array_equal(np.round(softmax([3.0, 1.0, 0.0], temperature=temperature), 3), expected)
