"""Sequences: teacher forcing, masked sequence loss, and the causal mask of attention.

Chapter 7 (``07-sequences``). One forward pass scores every position because the
targets are the inputs shifted by one; padding and prompt tokens are masked out of
the mean; attention masks future keys with ``-inf`` (``e^-inf = 0``), never with 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_logits
from .cross_entropy import cross_entropy
from .softmax import softmax


def next_token_pairs(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets) = (tokens[..., :-1], tokens[..., 1:])``: position t predicts token t+1.

    Teacher forcing: one forward pass scores every position. Chapter 7 (``07-sequences``).
    """
    tokens = np.asarray(tokens)
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"tokens must be integer token ids, got dtype {tokens.dtype}")
    if tokens.ndim == 0 or tokens.shape[-1] < 2:
        raise ValueError(f"tokens needs at least 2 positions along its last axis, got shape {tokens.shape}")
    return tokens[..., :-1], tokens[..., 1:]


def sequence_cross_entropy(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean cross-entropy over the positions where ``mask`` is true.

    ``logits`` ``(B, T, V)``, ``targets`` ``(B, T)``, ``mask`` ``(B, T)`` bool (True = counts);
    masked positions (padding, or the prompt in SFT) are left out of both sum and count.
    Chapter 7 (``07-sequences``).
    """
    targets = np.asarray(targets)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True where the loss counts), got dtype {mask.dtype}")
        if mask.shape != targets.shape:
            raise ValueError(f"mask has shape {mask.shape} but targets {targets.shape}; they must match")
        targets = np.where(mask, targets, -100)
    return cross_entropy(logits, targets, ignore_index=-100, reduction="mean")


def causal_mask(T: int) -> np.ndarray:
    """``(T, T)`` boolean lower-triangular mask: query t may attend to keys 0..t. Chapter 7 (``07-sequences``)."""
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"T must be an int >= 1 (the sequence length), got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool))


def attention_weights(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax over keys (last axis) of ``(..., Tq, Tk)`` scores, masked keys set to ``-inf``.

    ``mask`` is boolean, True = may attend, broadcastable to ``scores``. Setting a masked
    score to 0 would still give it weight e^0; ``-inf`` gives exactly 0. Scale the scores
    by ``1/sqrt(d_k)`` before calling. Chapter 7 (``07-sequences``).
    """
    scores = as_logits(scores, "scores")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(
                f"mask must be boolean (True = may attend), got dtype {mask.dtype}; "
                "an additive 0/1 mask does not block attention"
            )
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError:
            raise ValueError(f"mask of shape {mask.shape} does not broadcast to scores {scores.shape}") from None
        if not mask.any(axis=-1).all():
            raise ValueError("mask leaves a query row with no key to attend to; every row needs at least one True")
        scores = np.where(mask, scores, -np.inf).astype(scores.dtype)
    return softmax(scores, axis=-1)
