"""Cross-entropy, negative log-likelihood and the gradient ``p - y``.

The semantics are those of ``torch.nn.functional.cross_entropy`` and ``nll_loss``
(class-index or class-probability targets, class weights, ``ignore_index``,
``reduction``, ``label_smoothing``) with one difference: the class axis is LAST, so
logits are ``(..., V)`` and index targets ``(...)``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, as_logits, compute_dtype
from .normalisation import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _check_options(
    num_classes: int, dtype: np.dtype, weight: object, reduction: str, label_smoothing: float
) -> np.ndarray | None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}; 0.1 is a common choice")
    if weight is None:
        return None
    w = as_float_array(weight, "weight").astype(dtype, copy=False)
    if w.shape != (num_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({num_classes},), got {w.shape}")
    if np.isnan(w).any():
        raise ValueError("weight contains NaN")
    return w


@dataclass
class _IndexTarget:
    """Class-index targets, with the ignored positions masked out."""

    safe: np.ndarray  # (...) int: the target, 0 where ignored (so it can index)
    valid: np.ndarray  # (...) bool: not ignore_index


def _index_target(target: np.ndarray, logits_shape: tuple, ignore_index: int) -> _IndexTarget:
    num_classes = logits_shape[-1]
    if target.shape != logits_shape[:-1]:
        raise ValueError(
            f"target has shape {target.shape} but logits {logits_shape} need class indices of shape "
            f"{logits_shape[:-1]} (one per row; the class axis is last)"
        )
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= num_classes))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"target contains {target[where]} at position {where}, outside [0, {num_classes}); "
            f"class indices must be in [0, V) or equal ignore_index={ignore_index}"
        )
    return _IndexTarget(safe=np.where(valid, target, 0), valid=valid)


def _as_target(target: object, logits: np.ndarray, ignore_index: int) -> _IndexTarget | np.ndarray:
    """Integer targets are class indices; float targets are class probabilities."""
    t = np.asarray(target)
    if t.dtype.kind in "iu":
        return _index_target(t, logits.shape, ignore_index)
    if t.dtype.kind == "f":
        if t.shape != logits.shape:
            raise ValueError(
                f"target is float with shape {t.shape}, so it is read as class probabilities, which must "
                f"match logits {logits.shape}; for class indices pass an integer array of shape {logits.shape[:-1]}"
            )
        if ignore_index >= 0:  # as torch: a class that could be ignored is meaningless for probabilities
            raise ValueError(
                f"ignore_index={ignore_index} is not supported for class-probability targets (a probability "
                "target has no class to skip); leave ignore_index at its default"
            )
        if np.isnan(t).any():
            raise ValueError("target contains NaN")
        return t.astype(logits.dtype, copy=False)
    raise TypeError(f"target must be integer class indices or float class probabilities, got dtype {t.dtype}")


def _index_weights(target: _IndexTarget, w: np.ndarray) -> np.ndarray:
    """``w[y]`` per row, 0 on ignored rows: each row's share of the mean's denominator."""
    return np.where(target.valid, w[target.safe], 0).astype(w.dtype)  # (...)


def _prob_weights(target: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """``q = w * ((1 - eps) t + eps / V)``: the loss is ``-sum(q * log p)`` over classes."""
    return w * (target * (1 - eps) + eps / target.shape[-1])  # (..., V)


@dataclass
class _Prepared:
    logits: np.ndarray
    target: _IndexTarget | np.ndarray
    w: np.ndarray  # (V,) class weights, ones when none were given
    eps: float


def _prepare(logits, target, weight, ignore_index, reduction, label_smoothing) -> _Prepared:
    logits = as_logits(logits)
    w = _check_options(logits.shape[-1], logits.dtype, weight, reduction, label_smoothing)
    if w is None:
        w = np.ones(logits.shape[-1], logits.dtype)
    return _Prepared(logits, _as_target(target, logits, ignore_index), w, float(label_smoothing))


def _mean_denominator(prep: _Prepared) -> float:
    """torch's mean divides by the summed target weights (index targets) or the row count (probabilities)."""
    if isinstance(prep.target, _IndexTarget):
        weights = _index_weights(prep.target, prep.w)
        denominator = float(weights.sum(dtype=compute_dtype(weights.dtype)))
    else:
        denominator = float(prep.logits.size // prep.logits.shape[-1])
    if denominator == 0:
        raise ValueError(
            "reduction='mean' over zero targets: every target equals ignore_index (or has weight 0); "
            "torch returns nan here; use reduction='sum' if an empty batch can happen"
        )
    return denominator


def _losses(prep: _Prepared, log_probs: np.ndarray) -> np.ndarray:
    """Per-row losses ``-sum_c q_c log p_c`` (...), without forming ``q`` for index targets."""
    eps, t = prep.eps, prep.target
    if isinstance(t, _IndexTarget):
        logp_y = np.take_along_axis(log_probs, t.safe[..., None], axis=-1)[..., 0]  # (...)
        losses = -(1 - eps) * np.where(t.valid, _index_weights(t, prep.w) * logp_y, 0)
        if eps:  # label smoothing adds eps/V of the (weighted) uniform target
            uniform = log_probs @ prep.w  # (...)
            losses -= (eps / log_probs.shape[-1]) * np.where(t.valid, uniform, 0)
        return losses
    q = _prob_weights(t, prep.w, eps)
    return -np.where(q != 0, q * log_probs, 0).sum(axis=-1)  # 0 * log 0 counts as 0


def _reduce_losses(losses: np.ndarray, prep: _Prepared, reduction: str) -> np.ndarray:
    if reduction == "none":
        return losses
    total = losses.sum(dtype=compute_dtype(losses.dtype))  # float16 losses are summed in float32
    out = total if reduction == "sum" else total / _mean_denominator(prep)
    return out.astype(losses.dtype)


def nll_loss(
    log_probs: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    """Negative log-likelihood ``-w_y log_probs[..., y]`` of class-index targets, as ``torch``'s.

    ``log_probs`` are ``(..., V)`` log-probabilities (e.g. from :func:`log_softmax`).
    The mean divides by the summed weights of the kept targets.
    """
    prep = _prepare(log_probs, target, weight, ignore_index, reduction, 0.0)
    if np.isnan(prep.logits).any():
        raise ValueError("log_probs contains NaN; compute it with log_softmax rather than log(softmax)")
    if not isinstance(prep.target, _IndexTarget):
        raise TypeError("nll_loss takes integer class indices as target; use cross_entropy for probability targets")
    return _reduce_losses(_losses(prep, prep.logits), prep, reduction)


def cross_entropy(
    logits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """Cross-entropy of raw logits, ``torch.nn.functional.cross_entropy`` with the class axis last.

    Per row, ``loss = -sum_c q_c log softmax(z)_c``; for an index target ``y`` with no
    weights or smoothing that is ``-log p_y = logsumexp(z) - z_y``. ``target`` is either
    integer class indices ``(...)`` (``ignore_index`` rows are skipped) or float class
    probabilities ``(..., V)``. ``label_smoothing=eps`` mixes the target with the uniform
    distribution: ``(1 - eps) y + eps / V``. Pass logits, never probabilities.
    """
    prep = _prepare(logits, target, weight, ignore_index, reduction, label_smoothing)
    return _reduce_losses(_losses(prep, log_softmax(prep.logits)), prep, reduction)


def cross_entropy_grad(
    logits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    """d loss / d logits for :func:`cross_entropy` with the same arguments, shape ``(..., V)``.

    Each row's loss is ``-sum_c q_c log p_c``, so its gradient is ``p * sum(q) - q``; with a
    plain index target that is ``p - onehot(y)``. ``reduction="mean"`` divides by the same
    denominator as the loss; ``"sum"`` and ``"none"`` give each row the gradient of its own
    loss (the gradient of the sum). Ignored rows get 0.
    """
    prep = _prepare(logits, target, weight, ignore_index, reduction, label_smoothing)
    eps, t, w = prep.eps, prep.target, prep.w
    probs = np.exp(log_softmax(prep.logits))  # (..., V)
    num_classes = probs.shape[-1]
    if isinstance(t, _IndexTarget):
        w_y = _index_weights(t, w)  # (...)
        row_mass = (1 - eps) * w_y + (eps / num_classes) * w.sum() * t.valid  # sum_c q_c per row
        grad = probs * row_mass[..., None]
        if eps:
            grad -= (eps / num_classes) * w * t.valid[..., None]
        np.put_along_axis(
            grad, t.safe[..., None],
            np.take_along_axis(grad, t.safe[..., None], axis=-1) - ((1 - eps) * w_y)[..., None], axis=-1,
        )
    else:
        q = _prob_weights(t, w, eps)
        grad = probs * q.sum(axis=-1, keepdims=True) - q
    if reduction == "mean":
        grad /= _mean_denominator(prep)
    return grad.astype(prep.logits.dtype, copy=False)


def label_smoothed_targets(targets: np.ndarray, num_classes: int, eps: float) -> np.ndarray:
    """Soft targets ``(1 - eps) * onehot(targets) + eps / V``, shape ``targets.shape + (V,)``.

    ``cross_entropy(logits, label_smoothed_targets(t, V, eps))`` equals
    ``cross_entropy(logits, t, label_smoothing=eps)``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    _check_options(int(num_classes), np.dtype(np.float64), None, "mean", eps)
    t = _index_target(np.asarray(targets), np.asarray(targets).shape + (int(num_classes),), ignore_index=-100)
    if not t.valid.all():
        raise ValueError("targets contains ignore_index (-100); smoothed targets need a class for every row")
    onehot = np.zeros(t.safe.shape + (int(num_classes),))
    np.put_along_axis(onehot, t.safe[..., None], 1.0, axis=-1)
    return (1 - eps) * onehot + eps / num_classes
