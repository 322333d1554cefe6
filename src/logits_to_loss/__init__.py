"""Logits to Loss: the NumPy reference library of the course.

One module per concept; every public function is exported here. The class axis is
last (``(..., V)``) and names follow PyTorch (``cross_entropy``, ``ignore_index=-100``).
"""

from .losses import cross_entropy, cross_entropy_grad, label_smoothed_targets, nll_loss
from .gradcheck import compare_gradients, numerical_gradient
from .information import bits_per_character, entropy, kl_divergence, perplexity
from .sampling import min_p_filter, sample, top_k_filter, top_p_filter
from .sequences import attention_weights, causal_mask, next_token_pairs, sequence_cross_entropy
from .normalisation import log_softmax, logsumexp, naive_softmax, softmax

__all__ = [
    "attention_weights",
    "bits_per_character",
    "causal_mask",
    "compare_gradients",
    "cross_entropy",
    "cross_entropy_grad",
    "entropy",
    "kl_divergence",
    "label_smoothed_targets",
    "log_softmax",
    "logsumexp",
    "min_p_filter",
    "naive_softmax",
    "next_token_pairs",
    "nll_loss",
    "numerical_gradient",
    "perplexity",
    "sample",
    "sequence_cross_entropy",
    "softmax",
    "top_k_filter",
    "top_p_filter",
]
__version__ = "0.1.0"
