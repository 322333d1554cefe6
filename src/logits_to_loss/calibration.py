"""Calibration: does a model that says 80% turn out right 80% of the time?

Predictions are grouped by confidence (the top class's probability) into equal-width bins
``(0, 1/B], (1/B, 2/B], ..., ((B-1)/B, 1]``; in each bin the accuracy (how often the top class
was the target) is set against the mean confidence. The expected calibration error (ECE) is
the mean gap weighted by the bins' shares of the predictions:
``ECE = sum_b (n_b / N) |accuracy_b - confidence_b|``. An over-confident model has confidence
above accuracy; label smoothing pulls it down.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._validate import as_logits


@dataclass
class ReliabilityBins:
    """Per-bin figures for a reliability diagram; an empty bin has count 0 and NaN confidence/accuracy."""

    edges: np.ndarray  # (B + 1,) from 0 to 1
    confidence: np.ndarray  # (B,) mean top-class probability in the bin
    accuracy: np.ndarray  # (B,) fraction of the bin whose top class is the target
    count: np.ndarray  # (B,) predictions in the bin


def _check_inputs(probs: object, targets: object, n_bins: object) -> tuple[np.ndarray, np.ndarray, int]:
    probs = as_logits(probs, "probs").astype(np.float64)
    V = probs.shape[-1]
    probs = probs.reshape(-1, V)  # (N, V)
    if probs.shape[0] == 0:
        raise ValueError("probs holds no predictions; calibration needs at least one")
    if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("probs must be probabilities in [0, 1] (no NaN); apply softmax to logits first")
    if not np.allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-5):
        raise ValueError("each row of probs must sum to 1: pass softmax(logits), not logits or unnormalised scores")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class ids, got dtype {targets.dtype}")
    targets = targets.reshape(-1)
    if targets.shape[0] != probs.shape[0]:
        raise ValueError(f"targets has {targets.shape[0]} entries but probs has {probs.shape[0]} rows; one each")
    if (targets < 0).any() or (targets >= V).any():
        raise ValueError(f"targets must be class ids in [0, {V})")
    if isinstance(n_bins, bool) or not isinstance(n_bins, numbers.Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}; 10 is usual")
    return probs, targets, int(n_bins)


def reliability_bins(probs: np.ndarray, targets: np.ndarray, n_bins: int = 10) -> ReliabilityBins:
    """Bin ``(..., V)`` predictions by top-class probability: confidence, accuracy and count per bin.

    ``targets`` are the class ids ``(...)``; a tie for the top class counts the first of them.
    """
    probs, targets, n_bins = _check_inputs(probs, targets, n_bins)
    confidence = probs.max(axis=-1)  # (N,)
    correct = (probs.argmax(axis=-1) == targets).astype(np.float64)  # (N,)
    edges = np.linspace(0.0, 1.0, n_bins + 1)  # (B + 1,)
    bins = np.clip(np.searchsorted(edges, confidence) - 1, 0, n_bins - 1)  # (N,) edges[b] < c <= edges[b+1]
    count = np.bincount(bins, minlength=n_bins)  # (B,)
    with np.errstate(invalid="ignore"):  # 0 / 0 = NaN marks an empty bin
        mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return ReliabilityBins(edges, mean_confidence, accuracy, count)


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, n_bins: int = 10) -> float:
    """``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width confidence bins; 0 is perfect."""
    bins = reliability_bins(probs, targets, n_bins)
    filled = bins.count > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])  # (filled bins,)
    return float(bins.count[filled] @ gaps / bins.count.sum())
