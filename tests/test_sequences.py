"""next_token_pairs, sequence_cross_entropy, causal_mask, attention_weights, masked_attention_weights, dpo_loss.

Teacher forcing shifts the tokens by one; the masked sequence loss is the mean over the
masked-in positions only (by hand and against torch's ignore_index); attention masks
future keys with -inf, which gives them exactly 0 weight where a score of 0 would not.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from logits_to_loss import (
    attention_weights,
    causal_mask,
    cross_entropy,
    next_token_pairs,
    sequence_cross_entropy,
    softmax,
)
from logits_to_loss.sequences import dpo_loss, masked_attention_weights

PROPERTY = settings(max_examples=50, deadline=None)


def test_next_token_pairs_shift_by_one():
    tokens = np.array([[5, 6, 7, 8], [1, 2, 3, 4]])
    inputs, targets = next_token_pairs(tokens)
    np.testing.assert_array_equal(inputs, [[5, 6, 7], [1, 2, 3]])
    np.testing.assert_array_equal(targets, [[6, 7, 8], [2, 3, 4]])
    inputs, targets = next_token_pairs([10, 20])
    np.testing.assert_array_equal(inputs, [10])
    np.testing.assert_array_equal(targets, [20])


@PROPERTY
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=30))
def test_next_token_pairs_position_t_predicts_token_t_plus_1(tokens):
    inputs, targets = next_token_pairs(np.array(tokens))
    assert len(inputs) == len(targets) == len(tokens) - 1
    for t in range(len(inputs)):
        assert inputs[t] == tokens[t] and targets[t] == tokens[t + 1]


def make_batch(seed, B=3, T=6, V=7, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(B, T, V)).astype(dtype) * 2
    targets = rng.integers(0, V, size=(B, T))
    mask = rng.random((B, T)) < 0.6
    mask[0, 0] = True  # at least one position counts
    return logits, targets, mask


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masked_sequence_loss_is_mean_over_masked_in_positions(seed, dtype):
    logits, targets, mask = make_batch(seed, dtype=dtype)
    loss = sequence_cross_entropy(logits, targets, mask)
    # by hand: -log p_y at every position, then the mean over mask == True only
    x = logits.astype(np.float64)
    lse = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1)) + x.max(-1)
    per_position = lse - np.take_along_axis(x, targets[..., None], axis=-1)[..., 0]
    tol = {"rtol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(loss, per_position[mask].sum() / mask.sum(), **tol)
    # torch: the same positions ignored with ignore_index
    V = logits.shape[-1]
    expected = F.cross_entropy(
        torch.from_numpy(logits.reshape(-1, V)), torch.from_numpy(np.where(mask, targets, -100).reshape(-1)), ignore_index=-100
    )
    np.testing.assert_allclose(loss, expected.numpy(), **tol)
    assert np.asarray(loss).dtype == dtype
    # the masked mean is not the plain mean (the masked-out positions really are left out)
    assert not np.isclose(loss, per_position.mean(), rtol=1e-6)


def test_masked_out_positions_do_not_matter():
    logits, targets, mask = make_batch(10)
    loss = sequence_cross_entropy(logits, targets, mask)
    scrambled_logits = np.where(mask[..., None], logits, 1e6)
    scrambled_targets = np.where(mask, targets, 10_000)  # not even a valid class
    assert sequence_cross_entropy(scrambled_logits, scrambled_targets, mask) == loss


def test_sequence_loss_without_mask_is_plain_mean():
    logits, targets, _ = make_batch(11)
    np.testing.assert_allclose(sequence_cross_entropy(logits, targets), cross_entropy(logits, targets), rtol=1e-15)
    all_true = np.ones(targets.shape, bool)
    np.testing.assert_allclose(sequence_cross_entropy(logits, targets, all_true), cross_entropy(logits, targets), rtol=1e-15)


def test_teacher_forcing_end_to_end():
    tokens = np.array([[3, 1, 4, 1, 5], [2, 7, 1, 0, 0]])  # second row: two padding tokens (id 0)
    inputs, targets = next_token_pairs(tokens)
    logits = np.random.default_rng(12).normal(size=inputs.shape + (8,))
    mask = np.array([[True] * 4, [True, True, False, False]])  # do not learn to predict padding
    loss = sequence_cross_entropy(logits, targets, mask)
    per_position = cross_entropy(logits, targets, reduction="none")
    np.testing.assert_allclose(loss, per_position[mask].mean(), rtol=1e-14)


# --- causal mask and attention ----------------------------------------------------------------


@pytest.mark.parametrize("T", [1, 2, 5, 17])
def test_causal_mask_is_lower_triangular_bool(T):
    mask = causal_mask(T)
    assert mask.dtype == bool and mask.shape == (T, T)
    i, j = np.indices((T, T))
    np.testing.assert_array_equal(mask, j <= i)  # query t sees keys 0..t


@pytest.mark.parametrize("shape", [(5, 5), (2, 5, 5), (2, 3, 5, 5)])
def test_attention_gives_exactly_zero_weight_to_masked_keys(shape):
    scores = np.random.default_rng(13).normal(size=shape) * 3
    T = shape[-1]
    mask = causal_mask(T)  # broadcasts over batch and heads
    weights = attention_weights(scores, mask)
    assert weights.shape == shape and weights.dtype == scores.dtype
    future = np.broadcast_to(~mask, shape)
    assert (weights[future] == 0.0).all()  # exactly 0, not just small
    assert (weights[~future] > 0).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-14)
    # each row is the softmax over the keys it may see
    for index in np.ndindex(shape[:-1]):
        t = index[-1]
        np.testing.assert_allclose(weights[index][: t + 1], softmax(scores[index][: t + 1]), rtol=1e-14)
    expected = torch.softmax(torch.from_numpy(scores).masked_fill(torch.from_numpy(~mask), float("-inf")), -1)
    np.testing.assert_allclose(weights, expected.numpy(), rtol=1e-12, atol=1e-15)


def test_masking_with_zero_would_leak_weight():
    scores = np.array([[2.0, -1.0, -3.0], [0.5, 1.0, -2.0], [1.0, 0.0, 3.0]])
    mask = causal_mask(3)
    weights = attention_weights(scores, mask)
    leaky = softmax(np.where(mask, scores, 0.0))  # the bug: a masked score of 0 still has weight e^0 = 1
    assert weights[0, 1] == 0 and weights[0, 2] == 0
    assert leaky[0, 1] > 0.04 and leaky[0, 2] > 0.04  # query 0 attends to the future
    assert leaky[0, 0] < weights[0, 0] == 1.0
    assert not np.allclose(leaky, weights)
    # an additive 0/1 mask is the same bug, so a non-bool mask is refused
    with pytest.raises(TypeError, match="mask"):
        attention_weights(scores, mask.astype(np.float64))


def test_attention_with_no_mask_is_softmax_and_mask_can_be_per_batch():
    scores = np.random.default_rng(14).normal(size=(2, 4, 4))
    np.testing.assert_array_equal(attention_weights(scores), softmax(scores))
    padding = np.array([[True, True, True, False], [True, True, False, False]])[:, None, :]  # (B, 1, Tk)
    weights = attention_weights(scores, padding)
    assert (weights[0, :, 3] == 0).all() and (weights[1, :, 2:] == 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-14)


def test_attention_keeps_float32():
    scores = np.zeros((3, 3), dtype=np.float32)
    weights = attention_weights(scores, causal_mask(3))
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights[2], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_array_equal(weights[0], [1, 0, 0])


# --- masked_attention_weights -----------------------------------------------------------------


def test_masked_attention_weights_is_attention_weights_with_a_required_mask():
    scores = np.random.default_rng(15).normal(size=(2, 5, 5))
    mask = causal_mask(5)
    np.testing.assert_array_equal(masked_attention_weights(scores, mask), attention_weights(scores, mask))
    weights = masked_attention_weights(scores, mask)
    assert (weights[:, ~mask] == 0).all()
    np.testing.assert_allclose(weights[:, 1, :2], softmax(scores[:, 1, :2]), rtol=1e-14)
    with pytest.raises(TypeError, match="mask is required"):
        masked_attention_weights(scores, None)


def test_fully_masked_query_row_raises():
    mask = causal_mask(3).copy()
    mask[1] = False
    with pytest.raises(ValueError, match="no key"):
        masked_attention_weights(np.zeros((3, 3)), mask)


# --- dpo_loss ---------------------------------------------------------------------------------


def dpo_by_formula(pc, pr, rc, rr, beta):
    margin = beta * ((np.asarray(pc) - rc) - (np.asarray(pr) - rr))
    return float(np.mean(-np.log(1 / (1 + np.exp(-margin)))))


def test_dpo_loss_by_hand_and_against_torch():
    rng = np.random.default_rng(16)
    pc, pr, rc, rr = -rng.uniform(5, 40, size=(4, 32))
    for beta in (0.1, 0.5, 2.0):
        loss = dpo_loss(pc, pr, rc, rr, beta=beta)
        assert loss == pytest.approx(dpo_by_formula(pc, pr, rc, rr, beta), rel=1e-12)
        logits = beta * ((torch.from_numpy(pc) - torch.from_numpy(rc)) - (torch.from_numpy(pr) - torch.from_numpy(rr)))
        assert loss == pytest.approx(float(-F.logsigmoid(logits).mean()), rel=1e-12)
    # policy equal to the reference: margin 0, loss log 2 per pair
    assert dpo_loss([-3.0, -7.0], [-5.0, -1.0], [-3.0, -7.0], [-5.0, -1.0]) == pytest.approx(np.log(2), rel=1e-15)
    # one pair by hand: beta = 1, margin (-2 - -3) - (-4 - -3) = 2, loss log(1 + e^-2)
    assert dpo_loss([-2.0], [-4.0], [-3.0], [-3.0], beta=1.0) == pytest.approx(np.log1p(np.exp(-2.0)), rel=1e-14)


def test_dpo_loss_is_stable_for_huge_margins():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # e^-10000 may underflow to 0: fine
        assert dpo_loss([0.0], [-1e4], [-1e4], [0.0], beta=1.0) == 0.0  # far right: no loss
        assert dpo_loss([-1e4], [0.0], [0.0], [-1e4], beta=1.0) == pytest.approx(2e4, rel=1e-15)  # far wrong: linear


def test_dpo_loss_rewards_raising_the_chosen_response():
    base = {"policy_rejected_logps": [-10.0], "ref_chosen_logps": [-10.0], "ref_rejected_logps": [-10.0]}
    losses = [dpo_loss(policy_chosen_logps=[c], **base) for c in (-14.0, -10.0, -6.0)]
    assert losses[0] > losses[1] > losses[2]


@pytest.mark.parametrize(
    "args, beta, error, match",
    [
        (([0.5], [-1.0], [-1.0], [-1.0]), 0.1, ValueError, "log-probabilities"),
        (([-1.0], [-1.0, -2.0], [-1.0], [-1.0]), 0.1, ValueError, "one shape"),
        (([np.nan], [-1.0], [-1.0], [-1.0]), 0.1, ValueError, "NaN"),
        (([], [], [], []), 0.1, ValueError, "at least one"),
        (([-1.0], [-1.0], [-1.0], [-1.0]), 0.0, ValueError, "beta"),
        (([-1.0], [-1.0], [-1.0], [-1.0]), "0.1", TypeError, "beta"),
        ((["a"], [-1.0], [-1.0], [-1.0]), 0.1, TypeError, "policy_chosen_logps"),
    ],
)
def test_dpo_loss_bad_input(args, beta, error, match):
    with pytest.raises(error, match=match):
        dpo_loss(*args, beta=beta)
