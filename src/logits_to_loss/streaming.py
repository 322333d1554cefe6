"""Online softmax in NumPy: the normaliser computed in one streaming pass over the class axis.

A row too long to hold at once is read in blocks of ``block_size`` classes. A running max
``m`` and a running sum ``s = sum_j exp(x_j - m)`` are kept; when a block raises the max from
``m`` to ``m'``, the old sum is rescaled by ``exp(m - m')`` so that it is again relative to the
new max (Milakov & Gimelshein 2018, "Online normalizer calculation for softmax"). Each element
is read once for the normaliser and once more to write ``exp(x - m) / s``. The class axis is
last, as everywhere in the library.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator

import numpy as np

from ._validate import as_logits, check_no_nan_rows, compute_dtype


def check_block_size(block_size: object) -> int:
    """``block_size`` must be an int >= 1 (the number of classes read per step)."""
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral):
        raise TypeError(f"block_size must be an int >= 1, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}; e.g. block_size=1024")
    return int(block_size)


def _blocks(work: np.ndarray, block_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices ``work[..., i:i + block_size]`` (views, no copy); the last may be shorter."""
    for start in range(0, work.shape[-1], block_size):
        yield work[..., start : start + block_size]  # (..., B)


def running_max_sum(blocks: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Consume ``blocks`` once and return ``(m, s)`` with ``sum_j exp(x_j) = s * exp(m)``.

    ``m`` is the row max and ``s = sum_j exp(x_j - m)``, both of shape ``(..., 1)``. Per block:
    ``m' = max(m, max(block))`` and ``s' = s * exp(m - m') + sum exp(block - m')``. While every
    entry seen so far is -inf the shift used is 0, so ``exp(-inf - (-inf))`` (NaN) never occurs.
    Raises ValueError for NaN or +inf entries, and for a row that is all -inf (as ``softmax`` does).
    """
    m = s = None
    for block in blocks:
        block_max = block.max(axis=-1, keepdims=True)  # (..., 1)
        check_no_nan_rows(block_max, "logits")
        if np.isposinf(block_max).any():
            raise ValueError("logits contains +inf; softmax is undefined there (clip or mask it first)")
        if m is None:
            m, s = np.full_like(block_max, -np.inf), np.zeros_like(block_max)
        new_m = np.maximum(m, block_max)  # (..., 1)
        shift = np.where(np.isneginf(new_m), 0, new_m)
        # s * exp(m - m') puts the old sum on the new max: e^(x - m) * e^(m - m') = e^(x - m')
        s = s * np.exp(m - shift) + np.exp(block - shift).sum(axis=-1, keepdims=True)
        m = new_m
    if m is None:
        raise ValueError("blocks is empty; it needs at least one block of classes")
    if np.isneginf(m).any():
        raise ValueError(
            "logits has a row that is all -inf; softmax is undefined there "
            "(mask with a large negative number or leave at least one finite entry per row)"
        )
    return m, s


def online_softmax(logits: np.ndarray, block_size: int) -> np.ndarray:
    """Softmax along the last axis with the normaliser streamed in blocks of ``block_size`` classes.

    ``p_i = exp(x_i - m) / s`` with ``(m, s)`` from :func:`running_max_sum`: one read of each
    block for the normaliser, one more to normalise. Works on ``(V,)`` and ``(..., V)``; any
    ``block_size >= 1`` works (the last block may be shorter, ``block_size >= V`` is one block).
    Returns the input's float dtype (float16 is accumulated in float32).
    """
    logits = as_logits(logits)
    block_size = check_block_size(block_size)
    work = logits.astype(compute_dtype(logits.dtype), copy=False)  # (..., V)
    m, s = running_max_sum(_blocks(work, block_size))  # (..., 1) each
    out = np.exp(work - m)  # (..., V)
    out /= s
    return out.astype(logits.dtype, copy=False)
