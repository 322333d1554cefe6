"""Temperature, top-k, top-p (nucleus) and min-p: choosing the next token from logits.

Chapter 5 (``05-sampling``). The order is temperature, then truncation, then
renormalise and draw. Filters return logits with removed entries at ``-inf``, so the
softmax of the result gives them probability exactly 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_logits, check_probability, check_temperature
from .softmax import softmax


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest logits per row (ties with the k-th are kept), the rest to ``-inf``. Chapter 5 (``05-sampling``)."""
    logits = as_logits(logits)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    k = min(int(k), logits.shape[-1])
    kth = np.partition(logits, -k, axis=-1)[..., -k, None]  # (..., 1) the k-th largest
    return np.where(logits >= kth, logits, -np.inf).astype(logits.dtype)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: keep the smallest set of top tokens whose probability mass reaches ``p``.

    The token that crosses ``p`` is kept (a token goes only if the mass before it has
    already reached ``p``), so at least one token always survives. Holtzman et al. 2020;
    chapter 5 (``05-sampling``).
    """
    logits = as_logits(logits)
    p = check_probability(p, "p")
    if p == 1.0:
        return logits.copy()
    order = np.argsort(-logits, axis=-1, kind="stable")  # (..., V) most likely first
    sorted_probs = np.take_along_axis(softmax(logits.astype(np.float64)), order, axis=-1)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
    keep_sorted = mass_before < p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf).astype(logits.dtype)


def min_p_filter(logits: np.ndarray, p_min: float) -> np.ndarray:
    """Keep tokens with probability at least ``p_min`` times the top token's: ``z_i >= max z + log p_min``.

    Chapter 5 (``05-sampling``).
    """
    logits = as_logits(logits)
    p_min = check_probability(p_min, "p_min")
    threshold = logits.max(axis=-1, keepdims=True) + np.log(p_min)  # (..., 1)
    return np.where(logits >= threshold, logits, -np.inf).astype(logits.dtype)


def sample(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    size: int | None = None,
) -> np.ndarray:
    """Draw token ids from ``(..., V)`` logits: temperature, then top-k, top-p, min-p, then a draw.

    ``temperature=0`` is greedy decoding (the argmax). Returns ints of shape ``logits.shape[:-1]``,
    with a trailing ``(size,)`` axis of independent draws when ``size`` is given.
    Chapter 5 (``05-sampling``).
    """
    logits = as_logits(logits)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1):
        raise ValueError(f"size must be None or an int >= 1, got {size!r}")
    temperature = check_temperature(temperature, allow_zero=True)
    rows = logits.reshape(-1, logits.shape[-1]).astype(np.float64)  # (N, V)
    draws = 1 if size is None else int(size)
    if temperature == 0:
        if np.isnan(rows).any():
            raise ValueError("logits contains NaN")
        out = np.repeat(rows.argmax(axis=-1)[:, None], draws, axis=1)  # (N, draws)
    else:
        rows = rows - rows.max(axis=-1, keepdims=True)
        rows /= temperature
        for value, fn in ((top_k, top_k_filter), (top_p, top_p_filter), (min_p, min_p_filter)):
            if value is not None:
                rows = fn(rows, value)
        probs = softmax(rows)  # (N, V), renormalised over the kept tokens
        out = np.stack([rng.choice(probs.shape[-1], size=draws, p=row) for row in probs])
    out = out.reshape(logits.shape[:-1] + (draws,))
    return out if size is not None else out[..., 0]
