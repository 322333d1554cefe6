"""Temperature, top-k, top-p (nucleus), min-p and repetition penalty: choosing the next token from logits.

The order is repetition penalty, temperature, then truncation, then renormalise and draw.
Filters return logits with removed entries at ``-inf``, so the softmax of the result gives
them probability exactly 0.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_logits, check_probability, check_temperature
from .normalisation import softmax


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest logits per row (ties with the k-th are kept), the rest to ``-inf``."""
    logits = as_logits(logits)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    k = min(int(k), logits.shape[-1])
    kth = np.partition(logits, -k, axis=-1)[..., -k, None]  # (..., 1) the k-th largest
    return np.where(logits >= kth, logits, -np.inf).astype(logits.dtype)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: keep the smallest set of top tokens whose probability mass reaches ``p``.

    The token that crosses ``p`` is kept (a token goes only if the mass before it has
    already reached ``p``), so at least one token always survives. Holtzman et al. 2020.
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
    """Keep tokens with probability at least ``p_min`` times the top token's: ``z_i >= max z + log p_min``."""
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


def softmax_with_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / T)`` over the last axis, ``T > 0``.

    ``T < 1`` sharpens the distribution, ``T > 1`` flattens it; the ranking never changes, so
    temperature cannot repair a wrong favourite. ``T -> 0`` tends to the argmax (use
    ``sample(..., temperature=0)`` for greedy decoding), ``T -> inf`` to the uniform distribution.
    """
    return softmax(logits, axis=-1, temperature=temperature)


def sample_next(
    logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0, top_p: float | None = None
) -> np.ndarray:
    """One next-token id per row of ``(..., V)`` logits: temperature, then the nucleus, then a draw.

    A thin alias of :func:`sample` (same validation, same use of ``rng``), so both give the
    same ids from the same seed.
    """
    return sample(logits, rng, temperature=temperature, top_p=top_p)


def _check_penalty(penalty: float) -> float:
    if isinstance(penalty, bool) or not isinstance(penalty, numbers.Real):
        raise TypeError(f"penalty must be a number, got {penalty!r}")
    if not np.isfinite(penalty) or penalty <= 0:
        raise ValueError(f"penalty must be finite and > 0, got {penalty!r}; 1.0 changes nothing, 1.2 is typical")
    return float(penalty)


def _seen_tokens(previous_tokens: object, shape: tuple) -> np.ndarray:
    """Boolean ``shape`` array, True at the ids in ``previous_tokens`` (one row of ids per row of logits)."""
    prev = np.asarray(previous_tokens)
    if prev.size == 0:
        return np.zeros(shape, dtype=bool)
    if prev.dtype.kind not in "iu":
        raise TypeError(f"previous_tokens must be integer token ids, got dtype {prev.dtype}")
    if (prev < 0).any() or (prev >= shape[-1]).any():
        raise ValueError(f"previous_tokens must be ids in [0, {shape[-1]}) (the logits' vocabulary)")
    if prev.ndim == 1:  # the same history for every row
        prev = np.broadcast_to(prev, shape[:-1] + prev.shape)
    if prev.shape[:-1] != shape[:-1]:
        raise ValueError(
            f"previous_tokens has shape {prev.shape}; for logits {shape} it must be 1-D or {shape[:-1]} + (L,)"
        )
    seen = np.zeros(shape, dtype=bool)
    np.put_along_axis(seen, prev, True, axis=-1)
    return seen


def apply_repetition_penalty(logits: np.ndarray, previous_tokens: np.ndarray, penalty: float) -> np.ndarray:
    """CTRL's repetition penalty: make every token already seen less likely (``penalty > 1``).

    A seen token's logit is divided by ``penalty`` when positive and multiplied by it when
    negative, so it always moves down; unseen tokens are untouched. ``previous_tokens`` is a
    1-D array of ids applied to every row, or one row of ids per row of logits
    (``logits.shape[:-1] + (L,)``). Apply it before temperature and truncation.
    """
    logits = as_logits(logits)
    penalty = _check_penalty(penalty)
    seen = _seen_tokens(previous_tokens, logits.shape)  # (..., V)
    penalised = np.where(logits > 0, logits / penalty, logits * penalty)
    return np.where(seen, penalised, logits).astype(logits.dtype)
