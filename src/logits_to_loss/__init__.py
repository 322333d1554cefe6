"""Logits to Loss: the NumPy reference library of the course.

One module per concept; every public function is exported here. The class axis is
last (``(..., V)``) and names follow PyTorch (``cross_entropy``, ``ignore_index=-100``).
The course machinery (checker, quiz, chapters, explorers) and the GPU module (the only one
importing torch or triton) are imported from their own modules, not from here.
"""

from .calibration import expected_calibration_error, reliability_bins
from .corpus import MarkovSource, course_prose, train_heldout_split
from .gradcheck import compare_gradients, numerical_gradient
from .information import bits_per_character, entropy, kl_divergence, perplexity
from .losses import cross_entropy, cross_entropy_grad, label_smoothed_targets, nll_loss
from .ngram import CharNGram
from .normalisation import log_softmax, logsumexp, naive_softmax, softmax
from .sampling import (
    apply_repetition_penalty,
    min_p_filter,
    sample,
    sample_next,
    softmax_with_temperature,
    top_k_filter,
    top_p_filter,
)
from .sequences import (
    attention_weights,
    causal_mask,
    dpo_loss,
    masked_attention_weights,
    next_token_pairs,
    sequence_cross_entropy,
)
from .streaming import online_softmax
from .training import train_bigram

__all__ = [
    "CharNGram",
    "MarkovSource",
    "apply_repetition_penalty",
    "attention_weights",
    "bits_per_character",
    "causal_mask",
    "compare_gradients",
    "course_prose",
    "cross_entropy",
    "cross_entropy_grad",
    "dpo_loss",
    "entropy",
    "expected_calibration_error",
    "kl_divergence",
    "label_smoothed_targets",
    "log_softmax",
    "logsumexp",
    "masked_attention_weights",
    "min_p_filter",
    "naive_softmax",
    "next_token_pairs",
    "nll_loss",
    "numerical_gradient",
    "online_softmax",
    "perplexity",
    "reliability_bins",
    "sample",
    "sample_next",
    "sequence_cross_entropy",
    "softmax",
    "softmax_with_temperature",
    "top_k_filter",
    "top_p_filter",
    "train_bigram",
    "train_heldout_split",
]
__version__ = "0.2.0"
