"""Input checks shared by the reference library.

Every public function turns its inputs into arrays here, so that bad input fails
early with an error that names the argument and says how to fix it, instead of
surfacing later as a silent NaN.
"""

from __future__ import annotations

import numbers

import numpy as np

_FLOATS = (np.float16, np.float32, np.float64)


def as_float_array(x: object, name: str) -> np.ndarray:
    """Return ``x`` as a float array, keeping float16/32/64 and promoting the rest to float64."""
    arr = np.asarray(x)
    if arr.dtype.type in _FLOATS:
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(
        f"{name} must be real numbers (float16, float32 or float64), got dtype {arr.dtype}; "
        f"convert it with np.asarray({name}, dtype=np.float32)"
    )


def as_logits(x: object, name: str = "logits") -> np.ndarray:
    """Float array with at least one axis (the class axis, last)."""
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a class axis (shape (..., V)), got a scalar; wrap it as [{name}]")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} has an empty class axis (shape {arr.shape}); it needs at least one class")
    return arr


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """float16 is accumulated in float32 (a sum of 128K ones overflows float16), the rest as is."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def check_no_nan_rows(row_max: np.ndarray, name: str) -> None:
    """A NaN anywhere in a row makes the row's max NaN, so checking the maxima is enough (and cheap)."""
    if np.isnan(row_max).any():
        raise ValueError(f"{name} contains NaN; find where it was produced upstream (e.g. 0/0 or inf - inf)")


def check_axis(arr: np.ndarray, axis: int, name: str) -> int:
    """Normalise ``axis`` for ``arr`` or raise naming ``axis``."""
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis={axis} is out of range for {name} with {arr.ndim} dimension(s)")
    return int(axis) % arr.ndim


def check_temperature(temperature: float, *, allow_zero: bool = False) -> float:
    """Temperature must be a positive finite number (0 only where greedy decoding is meant)."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    t = float(temperature)
    lowest = "0 (greedy)" if allow_zero else "a positive number such as 0.7"
    if not np.isfinite(t) or t < 0 or (t == 0 and not allow_zero):
        raise ValueError(f"temperature must be finite and > 0, got {temperature!r}; use {lowest}")
    return t


def check_probability(p: float, name: str) -> float:
    """A probability mass threshold in (0, 1]."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a number in (0, 1], got {p!r}")
    if not 0.0 < float(p) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {p!r}; e.g. {name}=0.9")
    return float(p)
