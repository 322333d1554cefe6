"""Checking gradients: central finite differences and a makemore-style side-by-side comparison.

The gradient ``d loss / d logits = p - y`` is confirmed two ways:
against central differences, and against PyTorch's autograd.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._validate import as_float_array


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry of ``x``.

    The error shrinks like eps² (forward differences only like eps), until float64 rounding of
    ``f`` takes over below about 1e-6. ``x`` is not modified.
    """
    x = as_float_array(x, "x").astype(np.float64)
    if not (isinstance(eps, (int, float)) and eps > 0):
        raise ValueError(f"eps must be a positive step such as 1e-5, got {eps!r}")
    grad = np.zeros_like(x)
    bumped = x.copy()
    for i in np.ndindex(x.shape):
        bumped[i] = x[i] + eps
        up = float(f(bumped))
        bumped[i] = x[i] - eps
        down = float(f(bumped))
        bumped[i] = x[i]
        grad[i] = (up - down) / (2 * eps)
    return grad


def compare_gradients(name: str, ours: np.ndarray, theirs: np.ndarray) -> dict[str, object]:
    """Print and return ``exact``, ``approximate`` (allclose) and ``max diff`` of two gradients.

    In the spirit of makemore's ``cmp``: the line reads ``name | exact: False | approximate: True |
    max diff: 2.2e-17``.
    """
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"ours has shape {a.shape} but theirs {b.shape}; compare gradients of the same tensor")
    result = {"exact": bool(np.array_equal(a, b)), "approximate": bool(np.allclose(a, b)), "max_diff": float(np.abs(a - b).max(initial=0.0))}
    print(f"{name:<15} | exact: {result['exact']!s:5} | approximate: {result['approximate']!s:5} | max diff: {result['max_diff']:.2e}")
    return result
