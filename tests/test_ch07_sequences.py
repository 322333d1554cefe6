"""Chapter 7: the explorers' numbers, the checker on masks and ragged pairs, and the figures the chapter states."""

from __future__ import annotations

import numpy as np
import pytest

from logits_to_loss import CharNGram, cross_entropy, dpo_loss, softmax
from logits_to_loss.chapter import load
from logits_to_loss.checker import CheckFailure
from logits_to_loss.explorers.sequences import PROMPT, RESPONSE, CausalAttentionExplorer, PositionLossExplorer
from logits_to_loss.explorers.svg import element, label

CHAPTER = load("07-sequences")


def test_attention_explorer_with_minus_inf_leaks_nothing():
    """With -inf every query row sums to 1, the upper triangle is exactly 0 and no weight reaches the future."""
    state = CausalAttentionExplorer().update(mask_value="-inf", length=5)
    weights = state["weights"]
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    assert (np.triu(weights, k=1) == 0).all()
    assert (state["leak"] == 0).all()


def test_attention_explorer_with_zero_leaks_e_to_the_zero():
    """With 0, query i gives its (T-1-i) future keys e^0 = 1 each: leak = (T-1-i) / (sum_{j<=i} e^s_ij + T-1-i)."""
    state = CausalAttentionExplorer().update(mask_value="0", length=6, seed=3)
    scores, T = state["scores"], 6
    future = T - 1 - np.arange(T)
    past = np.where(np.tril(np.ones((T, T), dtype=bool)), np.exp(scores), 0.0).sum(axis=-1)
    np.testing.assert_allclose(state["leak"], future / (past + future))
    assert state["leak"][-1] == 0 and (state["leak"][:-1] > 0).all()


def test_attention_explorer_scaling_divides_by_sqrt_dk():
    """Unticking the scale multiplies the scores by sqrt(d_k) = 4 and keeps them otherwise the same."""
    explorer = CausalAttentionExplorer()
    scaled = explorer.update(scaled=True)["scores"]
    np.testing.assert_allclose(explorer.update(scaled=False)["scores"], 4 * scaled)


def test_attention_explorer_draws_a_t_by_t_map():
    """A new T draws T x T weight cells and T leak bars, nothing more."""
    explorer = CausalAttentionExplorer()
    explorer.update(length=3)
    assert element(explorer.svg, "weight-2-2") is not None and element(explorer.svg, "leak-2") is not None
    for missing in ("weight-3-0", "weight-0-3", "leak-3"):
        with pytest.raises(KeyError):
            element(explorer.svg, missing)


@pytest.fixture(scope="module")
def small_model():
    return CharNGram.fit("question: answer: a distribution over the next token. softmax returns it.", order=2)


def test_position_loss_explorer_means_over_the_counted_positions(small_model):
    """The mean is the mean of the per-position losses that count; each mask removes exactly its positions."""
    explorer = PositionLossExplorer(small_model)
    n_prompt, n_response = len(PROMPT), len(RESPONSE)
    state = explorer.update(mask_prompt=False, mask_padding=False, padding=5)
    assert state["count"] == n_prompt + n_response + 5
    np.testing.assert_allclose(state["losses"], small_model.losses(PROMPT + RESPONSE + "\ufffd" * 5))
    assert state["mean"] == pytest.approx(state["losses"].mean())
    state = explorer.update(mask_prompt=True, mask_padding=True)
    assert state["count"] == n_response
    assert state["mean"] == pytest.approx(state["losses"][n_prompt : n_prompt + n_response].mean())
    state = explorer.update(mask_prompt=False)
    assert state["count"] == n_prompt + n_response


def test_position_loss_explorer_responds_to_every_control(small_model):
    """Each toggle and the padding slider change the numbers shown (masked padding still changes the bars)."""
    explorer = PositionLossExplorer(small_model)
    for name, new in (("mask_prompt", True), ("mask_padding", True), ("padding", 0)):
        before = explorer.state["mean"], explorer.state["count"], len(explorer.state["losses"])
        after = explorer.update(**{name: new})
        assert (after["mean"], after["count"], len(after["losses"])) != before, name
    assert f"{explorer.state['mean']:.3f} nats" in label(explorer.svg, "title")


def test_causal_mask_must_be_booleans():
    """A 0/1 float mask equals the answer numerically but is refused: PyTorch would add it to the scores."""
    with pytest.raises(CheckFailure, match="return booleans"):
        CHAPTER.causal_mask.check(lambda T: np.tril(np.ones((T, T))), "lengths")


def test_a_ragged_pair_is_feedback_not_a_crash():
    """Inputs and targets of different lengths, not catalogued, give a CheckFailure rather than a ValueError."""
    with pytest.raises(CheckFailure):
        CHAPTER.next_token_pairs.check(lambda tokens: (tokens[..., :-1], tokens[..., 2:]), "1-D")


def test_reship_today_figures():
    """Losses 2.170 and 0.306 (probabilities 0.114 and 0.736), mean 1.238, the miss 88% of the total."""
    logits, targets = np.array([[3.0, 1.0, 0.0], [2.0, 0.5, 0.0]]), np.array([1, 0])
    losses = cross_entropy(logits, targets, reduction="none")
    np.testing.assert_allclose(losses, [2.170, 0.306], atol=5e-4)
    np.testing.assert_allclose(softmax(logits)[[0, 1], targets], [0.114, 0.736], atol=5e-4)
    assert losses.mean() == pytest.approx(1.238, abs=5e-4)
    assert round(100 * losses[0] / losses.sum()) == 88


def test_quiz_figures():
    """Masking with 0 gives key 2 weight 0.09 (0.94 unmasked); DPO at margin 1, beta 0.1 is 0.644, at 0 log 2."""
    with_zero = softmax(np.array([1.0, 2.0, 0.0]))
    assert with_zero[2] == pytest.approx(1 / (np.e + np.e**2 + 1)) and round(with_zero[2], 2) == 0.09
    assert round(softmax(np.array([1.0, 2.0, 5.0]))[2], 2) == 0.94
    ref = np.array([-10.0])
    assert dpo_loss(ref + 2, ref + 1, ref, ref, beta=0.1) == pytest.approx(np.log1p(np.exp(-0.1)))
    assert round(np.log1p(np.exp(-0.1)), 3) == 0.644
    assert dpo_loss(ref, ref, ref, ref) == pytest.approx(np.log(2))
