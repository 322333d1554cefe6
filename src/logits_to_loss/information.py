"""Information in nats: entropy, KL divergence, perplexity and bits per character.

Cross-entropy splits as ``H(p, q) = H(p) + KL(p || q)``, so minimising it minimises the KL
divergence to the data (``H(p)`` is fixed). Perplexity, ``exp(mean loss)``, reads a loss as the
"effective number of equally likely choices"; bits per character does not depend on the tokenizer.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validate import as_float_array, as_logits, check_axis


def _as_distribution(x: object, name: str) -> np.ndarray:
    arr = as_logits(x, name)
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError(f"{name} must be probabilities (>= 0, no NaN); apply softmax to logits first")
    return arr


def entropy(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """``H(p) = -sum_i p_i log p_i`` in nats, with ``0 log 0 = 0``."""
    p = _as_distribution(probs, "probs")
    axis = check_axis(p, axis, "probs")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0)  # the limit p log p -> 0 as p -> 0
    return -terms.sum(axis=axis)


def kl_divergence(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` in nats; terms with ``p_i = 0`` count 0.

    Infinite where ``q_i = 0 < p_i`` (q rules out something p allows).
    """
    p = _as_distribution(p, "p")
    q = _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    axis = check_axis(p, axis, "p")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0)
    return terms.sum(axis=axis)


def perplexity(losses: np.ndarray | float) -> float:
    """``exp(mean(losses))`` for per-token losses in nats (a scalar mean loss is accepted).

    The exponential of the mean, not the mean of the exponentials. Uniform over V
    classes gives V; a perfect model gives 1.
    """
    arr = as_float_array(losses, "losses").astype(np.float64)
    if arr.size == 0:
        raise ValueError("losses is empty; perplexity needs at least one per-token loss")
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError("losses must be non-negative per-token losses in nats (no NaN)")
    return float(np.exp(arr.mean()))


def bits_per_character(total_loss_nats: float, num_chars: int) -> float:
    """``total nats / (num_chars * ln 2)``: comparable across tokenizers."""
    if isinstance(num_chars, bool) or not isinstance(num_chars, numbers.Integral) or num_chars <= 0:
        raise ValueError(f"num_chars must be a positive int (characters in the text), got {num_chars!r}")
    total = float(total_loss_nats)
    if not math.isfinite(total) or total < 0:
        raise ValueError(f"total_loss_nats must be a finite, non-negative sum of losses in nats, got {total_loss_nats!r}")
    return total / (num_chars * math.log(2))
