"""Entropy and KL divergence in nats, the pieces of cross-entropy: ``H(p, q) = H(p) + KL(p || q)``.

Chapter 3 (``03-cross-entropy``) uses them to show that minimising cross-entropy
minimises the KL divergence to the data, because ``H(p)`` is fixed.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_logits, check_axis


def _as_distribution(x: object, name: str) -> np.ndarray:
    arr = as_logits(x, name)
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError(f"{name} must be probabilities (>= 0, no NaN); apply softmax to logits first")
    return arr


def entropy(probs: np.ndarray, axis: int = -1) -> np.ndarray:
    """``H(p) = -sum_i p_i log p_i`` in nats, with ``0 log 0 = 0``. Chapter 3 (``03-cross-entropy``)."""
    p = _as_distribution(probs, "probs")
    axis = check_axis(p, axis, "probs")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0)  # the limit p log p -> 0 as p -> 0
    return -terms.sum(axis=axis)


def kl_divergence(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """``KL(p || q) = sum_i p_i log(p_i / q_i)`` in nats; terms with ``p_i = 0`` count 0.

    Infinite where ``q_i = 0 < p_i`` (q rules out something p allows). Chapter 3 (``03-cross-entropy``).
    """
    p = _as_distribution(p, "p")
    q = _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    axis = check_axis(p, axis, "p")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0)
    return terms.sum(axis=axis)
