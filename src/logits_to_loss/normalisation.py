"""Softmax, log-softmax and log-sum-exp: turning logits into a distribution.

The max shift, log-sum-exp and log-softmax keep it finite for any finite logits.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_logits, check_axis, check_no_nan_rows, check_temperature, compute_dtype


def _shifted(logits: np.ndarray, axis: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(z, m)`` with ``z = (logits - m) / T`` and ``m`` the max along ``axis`` (kept).

    Subtracting the row max first means the largest exponent is e^0 = 1, so exp never
    overflows; dividing by T after the shift keeps tiny temperatures finite too.
    """
    work = logits.astype(compute_dtype(logits.dtype), copy=False)
    m = work.max(axis=axis, keepdims=True)
    check_no_nan_rows(m, "logits")
    if np.isinf(m).any():
        raise ValueError(
            "logits has a row that is all -inf or contains +inf; softmax is undefined there "
            "(mask with a large negative number or leave at least one finite entry per row)"
        )
    z = work - m
    if temperature != 1.0:
        z /= temperature
    return z, m


def softmax(logits: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """Stable softmax: ``p_i = exp(z_i / T) / sum_j exp(z_j / T)`` along ``axis``.

    Computed as ``exp(z - max z)`` normalised, which is the same distribution (softmax
    is invariant to adding a constant) but never overflows. Returns the
    input's float dtype.
    """
    logits = as_logits(logits)
    axis = check_axis(logits, axis, "logits")
    z, _ = _shifted(logits, axis, check_temperature(temperature))
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z.astype(logits.dtype, copy=False)


def log_softmax(logits: np.ndarray, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    """``log p_i = (z_i - m) - log sum_j exp(z_j - m)``, never forming tiny probabilities.

    ``log(softmax(x))`` gives -inf once a probability underflows to 0; this form keeps
    the exact finite value. Taught in.
    """
    logits = as_logits(logits)
    axis = check_axis(logits, axis, "logits")
    z, _ = _shifted(logits, axis, check_temperature(temperature))
    z -= np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return z.astype(logits.dtype, copy=False)


def logsumexp(logits: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log sum_i exp(x_i) = m + log sum_i exp(x_i - m)`` with ``m = max x``.

    Infinite entries follow SciPy: +inf anywhere gives +inf, an all -inf slice gives
    -inf. NaN raises. Taught in.
    """
    arr = as_float_array(logits, "logits")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    axis = check_axis(arr, axis, "logits")
    work = arr.astype(compute_dtype(arr.dtype), copy=False)
    m = work.max(axis=axis, keepdims=True)
    check_no_nan_rows(m, "logits")
    shift = np.where(np.isfinite(m), m, 0)  # an infinite max is not a usable shift
    # log(0) = -inf for an all -inf slice is the right answer; a +inf max (shift 0) makes
    # exp overflow to inf for large finite entries, and +inf is the right answer there too
    with np.errstate(divide="ignore", over="ignore"):
        out = np.log(np.exp(work - shift).sum(axis=axis, keepdims=True)) + shift
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out.astype(arr.dtype, copy=False)


def naive_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """The textbook ``exp(x) / sum exp(x)`` with no max shift: kept on purpose.

    It overflows for logits above about 88.7 in float32 (11.1 in float16) and returns
    NaN: the reason for the max shift.
    """
    logits = as_logits(logits)
    axis = check_axis(logits, axis, "logits")
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(logits)
        return e / e.sum(axis=axis, keepdims=True)
