"""Every bad input fails early, with an error that names the offending argument.

Silent NaN is the failure mode the library exists to prevent, so each check here asserts
both the exception type and that the message names the argument. The last tests show
what is accepted: integer and list inputs, promoted to float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as L

LOGITS = np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0]])
TARGET = np.array([0, 3])
NAN_LOGITS = np.array([[2.0, np.nan, 0.5, -1.0], [0.0, 1.0, 2.0, 3.0]])
RNG = np.random.default_rng(0)
SCORES = np.zeros((3, 3))

CASES = [
    # temperature: > 0 for softmax/log_softmax, 0 allowed only in sample
    ("softmax_temperature_0", lambda: L.softmax(LOGITS, temperature=0), ValueError, "temperature"),
    ("softmax_temperature_negative", lambda: L.softmax(LOGITS, temperature=-1.0), ValueError, "temperature"),
    ("softmax_temperature_inf", lambda: L.softmax(LOGITS, temperature=np.inf), ValueError, "temperature"),
    ("softmax_temperature_nan", lambda: L.softmax(LOGITS, temperature=np.nan), ValueError, "temperature"),
    ("softmax_temperature_str", lambda: L.softmax(LOGITS, temperature="1"), TypeError, "temperature"),
    ("log_softmax_temperature_0", lambda: L.log_softmax(LOGITS, temperature=0.0), ValueError, "temperature"),
    ("log_softmax_temperature_negative", lambda: L.log_softmax(LOGITS, temperature=-0.5), ValueError, "temperature"),
    ("sample_temperature_negative", lambda: L.sample(LOGITS, RNG, temperature=-1.0), ValueError, "temperature"),
    # probability thresholds in (0, 1]
    ("top_p_0", lambda: L.top_p_filter(LOGITS, 0.0), ValueError, r"^p must"),
    ("top_p_above_1", lambda: L.top_p_filter(LOGITS, 1.01), ValueError, r"^p must"),
    ("top_p_negative", lambda: L.top_p_filter(LOGITS, -0.5), ValueError, r"^p must"),
    ("top_p_bool", lambda: L.top_p_filter(LOGITS, True), TypeError, r"^p must"),
    ("min_p_0", lambda: L.min_p_filter(LOGITS, 0.0), ValueError, r"^p_min must"),
    ("min_p_above_1", lambda: L.min_p_filter(LOGITS, 2.0), ValueError, r"^p_min must"),
    ("sample_top_p_0", lambda: L.sample(LOGITS, RNG, top_p=0.0), ValueError, r"^p must"),
    ("sample_min_p_above_1", lambda: L.sample(LOGITS, RNG, min_p=1.5), ValueError, r"^p_min must"),
    # k >= 1
    ("top_k_0", lambda: L.top_k_filter(LOGITS, 0), ValueError, r"^k must"),
    ("top_k_negative", lambda: L.top_k_filter(LOGITS, -2), ValueError, r"^k must"),
    ("top_k_float", lambda: L.top_k_filter(LOGITS, 1.5), ValueError, r"^k must"),
    ("sample_top_k_0", lambda: L.sample(LOGITS, RNG, top_k=0), ValueError, r"^k must"),
    ("sample_size_0", lambda: L.sample(LOGITS, RNG, size=0), ValueError, r"^size must"),
    # targets outside [0, V) that are not ignore_index
    ("target_equal_V", lambda: L.cross_entropy(LOGITS, np.array([0, 4])), ValueError, "target"),
    ("target_negative", lambda: L.cross_entropy(LOGITS, np.array([-1, 0])), ValueError, "target"),
    ("target_not_custom_ignore", lambda: L.cross_entropy(LOGITS, np.array([0, -100]), ignore_index=3), ValueError, "target"),
    ("grad_target_out_of_range", lambda: L.cross_entropy_grad(LOGITS, np.array([0, 9])), ValueError, "target"),
    ("nll_target_out_of_range", lambda: L.nll_loss(LOGITS, np.array([5, 0])), ValueError, "target"),
    ("target_wrong_shape", lambda: L.cross_entropy(LOGITS, np.array([0, 1, 2])), ValueError, "target"),
    ("target_string", lambda: L.cross_entropy(LOGITS, np.array(["a", "b"])), TypeError, "target"),
    # probability targets
    ("soft_target_wrong_shape", lambda: L.cross_entropy(LOGITS, np.full((2, 3), 1 / 3)), ValueError, "target"),
    ("soft_target_transposed", lambda: L.cross_entropy(LOGITS, np.full((4, 2), 0.5)), ValueError, "target"),
    ("soft_target_nan", lambda: L.cross_entropy(LOGITS, np.full((2, 4), np.nan)), ValueError, "target"),
    ("soft_target_ignore_index", lambda: L.cross_entropy(LOGITS, np.full((2, 4), 0.25), ignore_index=0), ValueError, "ignore_index"),
    ("nll_soft_target", lambda: L.nll_loss(LOGITS, np.full((2, 4), 0.25)), TypeError, "target"),
    # NaN in logits
    ("softmax_nan", lambda: L.softmax(NAN_LOGITS), ValueError, "logits contains NaN"),
    ("log_softmax_nan", lambda: L.log_softmax(NAN_LOGITS), ValueError, "logits contains NaN"),
    ("logsumexp_nan", lambda: L.logsumexp(NAN_LOGITS), ValueError, "logits contains NaN"),
    ("cross_entropy_nan", lambda: L.cross_entropy(NAN_LOGITS, TARGET), ValueError, "logits contains NaN"),
    ("cross_entropy_grad_nan", lambda: L.cross_entropy_grad(NAN_LOGITS, TARGET), ValueError, "logits contains NaN"),
    ("nll_loss_nan", lambda: L.nll_loss(NAN_LOGITS, TARGET), ValueError, "log_probs contains NaN"),
    ("sample_nan", lambda: L.sample(NAN_LOGITS, RNG), ValueError, "logits contains NaN"),
    ("sample_greedy_nan", lambda: L.sample(NAN_LOGITS, RNG, temperature=0), ValueError, "logits contains NaN"),
    ("softmax_plus_inf", lambda: L.softmax([np.inf, 0.0]), ValueError, "logits"),
    ("softmax_all_minus_inf", lambda: L.softmax([-np.inf, -np.inf]), ValueError, "logits"),
    ("sequence_nan", lambda: L.sequence_cross_entropy(np.full((1, 2, 3), np.nan), np.zeros((1, 2), int)), ValueError, "logits"),
    # mean over zero targets
    ("mean_all_ignored", lambda: L.cross_entropy(LOGITS, np.array([-100, -100])), ValueError, "reduction='mean'"),
    ("mean_all_custom_ignored", lambda: L.cross_entropy(LOGITS, np.array([3, 3]), ignore_index=3), ValueError, "reduction='mean'"),
    ("mean_all_weight_0", lambda: L.cross_entropy(LOGITS, TARGET, weight=np.zeros(4)), ValueError, "reduction='mean'"),
    ("grad_mean_all_ignored", lambda: L.cross_entropy_grad(LOGITS, np.array([-100, -100])), ValueError, "reduction='mean'"),
    ("nll_mean_all_ignored", lambda: L.nll_loss(LOGITS, np.array([-100, -100])), ValueError, "reduction='mean'"),
    (
        "sequence_all_masked",
        lambda: L.sequence_cross_entropy(np.zeros((1, 2, 3)), np.zeros((1, 2), int), np.zeros((1, 2), bool)),
        ValueError,
        "reduction='mean'",
    ),
    # options
    ("reduction_avg", lambda: L.cross_entropy(LOGITS, TARGET, reduction="avg"), ValueError, "reduction"),
    ("reduction_None", lambda: L.cross_entropy(LOGITS, TARGET, reduction=None), ValueError, "reduction"),
    ("grad_reduction", lambda: L.cross_entropy_grad(LOGITS, TARGET, reduction="batchmean"), ValueError, "reduction"),
    ("nll_reduction", lambda: L.nll_loss(LOGITS, TARGET, reduction="MEAN"), ValueError, "reduction"),
    ("label_smoothing_negative", lambda: L.cross_entropy(LOGITS, TARGET, label_smoothing=-0.1), ValueError, "label_smoothing"),
    ("label_smoothing_above_1", lambda: L.cross_entropy(LOGITS, TARGET, label_smoothing=1.5), ValueError, "label_smoothing"),
    ("label_smoothing_str", lambda: L.cross_entropy(LOGITS, TARGET, label_smoothing="0.1"), TypeError, "label_smoothing"),
    ("grad_label_smoothing", lambda: L.cross_entropy_grad(LOGITS, TARGET, label_smoothing=2.0), ValueError, "label_smoothing"),
    ("weight_too_short", lambda: L.cross_entropy(LOGITS, TARGET, weight=np.ones(3)), ValueError, "weight"),
    ("weight_2d", lambda: L.cross_entropy(LOGITS, TARGET, weight=np.ones((1, 4))), ValueError, "weight"),
    ("weight_nan", lambda: L.cross_entropy(LOGITS, TARGET, weight=[1.0, np.nan, 1.0, 1.0]), ValueError, "weight"),
    ("grad_weight_shape", lambda: L.cross_entropy_grad(LOGITS, TARGET, weight=np.ones(5)), ValueError, "weight"),
    ("nll_weight_shape", lambda: L.nll_loss(LOGITS, TARGET, weight=np.ones(2)), ValueError, "weight"),
    # rng must be a Generator
    ("rng_int_seed", lambda: L.sample(LOGITS, 0), TypeError, "rng"),
    ("rng_none", lambda: L.sample(LOGITS, None), TypeError, "rng"),
    ("rng_random_state", lambda: L.sample(LOGITS, np.random.RandomState(0)), TypeError, "rng"),
    # masks must be bool
    ("sequence_mask_int", lambda: L.sequence_cross_entropy(np.zeros((1, 2, 3)), np.zeros((1, 2), int), np.ones((1, 2), int)), TypeError, "mask"),
    ("sequence_mask_shape", lambda: L.sequence_cross_entropy(np.zeros((1, 2, 3)), np.zeros((1, 2), int), np.ones((2, 1), bool)), ValueError, "mask"),
    ("attention_mask_float", lambda: L.attention_weights(SCORES, np.tril(np.ones((3, 3)))), TypeError, "mask"),
    ("attention_mask_additive", lambda: L.attention_weights(SCORES, np.triu(np.full((3, 3), -1e9), 1)), TypeError, "mask"),
    ("attention_mask_shape", lambda: L.attention_weights(SCORES, np.ones((2, 2), bool)), ValueError, "mask"),
    # a fully masked attention row
    ("attention_row_fully_masked", lambda: L.attention_weights(SCORES, np.triu(np.ones((3, 3), bool), 1)), ValueError, "mask"),
    ("attention_all_masked", lambda: L.attention_weights(SCORES, np.zeros((3, 3), bool)), ValueError, "mask"),
    # perplexity and bits per character
    ("perplexity_empty", lambda: L.perplexity([]), ValueError, "losses"),
    ("perplexity_negative", lambda: L.perplexity([1.0, -0.1]), ValueError, "losses"),
    ("perplexity_nan", lambda: L.perplexity([np.nan]), ValueError, "losses"),
    ("perplexity_str", lambda: L.perplexity(["1.0"]), TypeError, "losses"),
    ("bpc_zero_chars", lambda: L.bits_per_character(10.0, 0), ValueError, "num_chars"),
    ("bpc_negative_chars", lambda: L.bits_per_character(10.0, -5), ValueError, "num_chars"),
    ("bpc_float_chars", lambda: L.bits_per_character(10.0, 2.5), ValueError, "num_chars"),
    ("bpc_bool_chars", lambda: L.bits_per_character(10.0, True), ValueError, "num_chars"),
    ("bpc_negative_loss", lambda: L.bits_per_character(-1.0, 10), ValueError, "total_loss_nats"),
    ("bpc_inf_loss", lambda: L.bits_per_character(np.inf, 10), ValueError, "total_loss_nats"),
    # shapes and dtypes of logits, probabilities, tokens
    ("logits_scalar", lambda: L.softmax(3.0), ValueError, "logits"),
    ("logits_empty_class_axis", lambda: L.cross_entropy(np.zeros((2, 0)), np.zeros(2, int)), ValueError, "logits"),
    ("logits_string", lambda: L.softmax(np.array(["a", "b"])), TypeError, "logits"),
    ("logits_complex", lambda: L.log_softmax(np.array([1j, 0])), TypeError, "logits"),
    ("axis_out_of_range", lambda: L.softmax(LOGITS, axis=2), ValueError, "axis"),
    ("axis_float", lambda: L.logsumexp(LOGITS, axis=1.0), TypeError, "axis"),
    ("entropy_negative", lambda: L.entropy([1.5, -0.5]), ValueError, "probs"),
    ("entropy_nan", lambda: L.entropy([np.nan, 1.0]), ValueError, "probs"),
    ("kl_negative_q", lambda: L.kl_divergence([0.5, 0.5], [1.5, -0.5]), ValueError, r"^q must"),
    ("kl_shapes", lambda: L.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5]), ValueError, "p and q"),
    ("tokens_float", lambda: L.next_token_pairs(np.array([1.0, 2.0])), TypeError, "tokens"),
    ("tokens_too_short", lambda: L.next_token_pairs(np.array([[1], [2]])), ValueError, "tokens"),
    ("causal_mask_0", lambda: L.causal_mask(0), ValueError, r"^T must"),
    ("causal_mask_float", lambda: L.causal_mask(2.0), ValueError, r"^T must"),
    ("scores_scalar", lambda: L.attention_weights(1.0), ValueError, "scores"),
]


@pytest.mark.parametrize("call, exception, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_naming_the_argument(call, exception, match):
    with pytest.raises(exception, match=match):
        call()


def test_the_same_calls_succeed_with_good_input():
    """Guards the table above: each error comes from the one bad argument, not from the rest."""
    L.softmax(LOGITS, temperature=0.5)
    L.log_softmax(LOGITS, temperature=2.0)
    assert L.sample(LOGITS, RNG, temperature=0).shape == (2,)  # 0 is allowed in sample only
    L.top_p_filter(LOGITS, 1.0)
    L.min_p_filter(LOGITS, 1.0)
    L.top_k_filter(LOGITS, 1)
    L.sample(LOGITS, RNG, top_k=1, top_p=1.0, min_p=1.0, size=1)
    L.cross_entropy(LOGITS, np.array([0, -100]))
    L.cross_entropy(LOGITS, np.array([0, 3]), ignore_index=3)
    L.cross_entropy(LOGITS, np.full((2, 4), 0.25), ignore_index=-1)  # a negative ignore_index is a no-op
    L.cross_entropy(LOGITS, np.array([-100, -100]), reduction="sum")  # sum over zero targets is 0
    assert L.cross_entropy(LOGITS, np.array([-100, -100]), reduction="sum") == 0
    L.cross_entropy(LOGITS, TARGET, weight=np.ones(4), label_smoothing=1.0)
    L.nll_loss(L.log_softmax(LOGITS), TARGET, weight=np.ones(4))
    L.sequence_cross_entropy(np.zeros((1, 2, 3)), np.zeros((1, 2), int), np.array([[True, False]]))
    L.attention_weights(SCORES, np.tril(np.ones((3, 3), bool)))
    L.perplexity([0.0])
    L.bits_per_character(0.0, 1)
    L.causal_mask(1)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: L.softmax(x),
        lambda x: L.log_softmax(x),
        lambda x: L.logsumexp(x),
        lambda x: L.naive_softmax(x),
        lambda x: L.cross_entropy_grad(x, [0, 2]),
        lambda x: L.top_k_filter(x, 2),
        lambda x: L.top_p_filter(x, 0.9),
        lambda x: L.min_p_filter(x, 0.1),
        lambda x: L.attention_weights(x),
    ],
    ids=["softmax", "log_softmax", "logsumexp", "naive_softmax", "cross_entropy_grad", "top_k", "top_p", "min_p", "attention"],
)
@pytest.mark.parametrize(
    "logits", [[[3, 1, 0], [1, 0, -2]], np.array([[3, 1, 0], [1, 0, -2]], dtype=np.int32), np.array([[3, 1, 0], [1, 0, 2]], np.uint8)],
    ids=["list", "int32", "uint8"],
)
def test_integer_and_list_inputs_are_promoted_to_float64(call, logits):
    out = call(logits)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, call(np.asarray(logits, dtype=np.float64)))


def test_integer_inputs_to_loss_perplexity_and_entropy():
    assert np.asarray(L.cross_entropy([[3, 1, 0]], [1])).dtype == np.float64
    assert np.asarray(L.nll_loss([[0, -1]], [0], weight=[1, 2])).dtype == np.float64
    assert L.entropy([1, 0]) == 0.0
    assert L.perplexity([0, 0]) == 1.0
    assert L.bits_per_character(np.int64(0), np.int64(3)) == 0.0
