"""entropy, kl_divergence, perplexity and bits_per_character.

The identity H(p, q) = H(p) + KL(p || q) that links them to cross_entropy, agreement
with SciPy, edge cases (0 log 0, q = 0 < p) and the worked figures of chapter 6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from logits_to_loss import bits_per_character, cross_entropy, entropy, kl_divergence, perplexity, softmax

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def two_distributions(draw):
    """Two probability vectors over the same V (p may have zeros, q is strictly positive)."""
    shape = draw(st.sampled_from([(4,), (3, 6), (2, 2, 5)]))
    logits_p = draw(arrays(np.float64, shape, elements=st.floats(-20, 20)))
    logits_q = draw(arrays(np.float64, shape, elements=st.floats(-20, 20)))
    zeros = draw(arrays(bool, shape))
    zeros[..., 0] = False
    logits_p = np.where(zeros, -np.inf, logits_p)
    return softmax(logits_p), softmax(logits_q), logits_q


@PROPERTY
@given(two_distributions())
def test_cross_entropy_is_entropy_plus_kl(dists):
    p, q, logits_q = dists
    h_pq = cross_entropy(logits_q, p, reduction="none")  # H(p, q) = -sum p log q with q = softmax(logits_q)
    np.testing.assert_allclose(h_pq, entropy(p) + kl_divergence(p, q), rtol=1e-9, atol=1e-9)
    assert (kl_divergence(p, q) >= -1e-12).all()  # Gibbs' inequality
    np.testing.assert_allclose(kl_divergence(p, p), 0.0, atol=1e-12)


@PROPERTY
@given(two_distributions())
def test_entropy_and_kl_match_scipy(dists):
    p, q, _ = dists
    np.testing.assert_allclose(entropy(p), scipy.stats.entropy(p, axis=-1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kl_divergence(p, q), scipy.special.rel_entr(p, q).sum(axis=-1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("vocab", [1, 2, 7, 50_000])
def test_entropy_bounds_uniform_and_one_hot(vocab):
    uniform = np.full(vocab, 1 / vocab)
    assert entropy(uniform) == pytest.approx(math.log(vocab), abs=1e-9)
    one_hot = np.zeros(vocab)
    one_hot[0] = 1.0
    assert entropy(one_hot) == 0.0  # 0 log 0 counts as 0, not NaN


def test_entropy_axis_and_nats():
    p = np.array([[0.5, 0.25], [0.5, 0.75]])
    np.testing.assert_allclose(entropy(p, axis=0), [math.log(2), -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))])
    assert entropy([0.5, 0.5]) == pytest.approx(math.log(2))  # nats, not bits


def test_kl_is_infinite_where_q_rules_out_what_p_allows():
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))  # p_i = 0 terms count 0
    assert entropy(np.array([1.0, 0.0])) == 0.0 and not np.isnan(kl_divergence([1.0, 0.0], [1.0, 0.0]))


def test_kl_is_not_symmetric():
    forward = kl_divergence([0.8, 0.2], [0.5, 0.5])
    backward = kl_divergence([0.5, 0.5], [0.8, 0.2])
    assert forward == pytest.approx(0.8 * math.log(1.6) + 0.2 * math.log(0.4))
    assert backward == pytest.approx(0.5 * math.log(0.625) + 0.5 * math.log(2.5))
    assert abs(forward - backward) > 0.01


# --- perplexity and bits per character --------------------------------------------------------


@pytest.mark.parametrize("vocab", [2, 10, 50_257])
def test_perplexity_of_uniform_model_is_vocab_size(vocab):
    losses = cross_entropy(np.zeros((8, vocab)), np.arange(8) % vocab, reduction="none")
    assert perplexity(losses) == pytest.approx(vocab, rel=1e-9)


def test_perplexity_worked_figures():
    assert round(perplexity(2.94), 1) == 18.9
    assert perplexity(0.0) == 1.0  # a perfect model
    assert perplexity([0.0, 0.0, 0.0]) == 1.0
    assert isinstance(perplexity(np.float32(1.0)), float)


def test_perplexity_is_exp_of_mean_not_mean_of_exp():
    losses = np.array([0.1, 3.0])
    assert perplexity(losses) == pytest.approx(math.exp(1.55))
    assert perplexity(losses) < np.exp(losses).mean()  # Jensen: the two differ


def test_perplexity_accepts_int_lists_and_float32():
    assert perplexity([1, 1]) == pytest.approx(math.e)
    assert perplexity(np.array([2.0, 2.0], dtype=np.float32)) == pytest.approx(math.exp(2.0), rel=1e-6)


def test_bits_per_character():
    assert bits_per_character(100 * math.log(2), 100) == pytest.approx(1.0)
    assert bits_per_character(0.0, 5) == 0.0
    assert bits_per_character(np.float32(6.0), 3) == pytest.approx(2 / math.log(2), rel=1e-7)
    # the same text: 10 tokens at 2.0 nats vs 40 tokens at 0.5 nats have equal bits per character
    assert bits_per_character(10 * 2.0, 50) == pytest.approx(bits_per_character(40 * 0.5, 50))
