"""reliability_bins and expected_calibration_error.

A hand-made example worked bin by bin; a loop reference on random data; predictions whose
targets are drawn from the predicted distribution are calibrated within a tolerance derived
from the bin counts, and sharpened ones are over-confident.
"""

from __future__ import annotations

import numpy as np
import pytest

from logits_to_loss import softmax
from logits_to_loss.calibration import expected_calibration_error, reliability_bins

# confidences 0.85 (right), 0.75 (wrong), 0.55 (right), 0.65 (right)
PROBS = np.array([[0.85, 0.15], [0.75, 0.25], [0.55, 0.45], [0.35, 0.65]])
TARGETS = np.array([0, 1, 0, 1])


def test_hand_made_example():
    bins = reliability_bins(PROBS, TARGETS, n_bins=5)  # edges 0, 0.2, 0.4, 0.6, 0.8, 1
    np.testing.assert_allclose(bins.edges, [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_array_equal(bins.count, [0, 0, 1, 2, 1])
    np.testing.assert_allclose(bins.confidence[2:], [0.55, 0.70, 0.85], rtol=1e-14)
    np.testing.assert_allclose(bins.accuracy[2:], [1.0, 0.5, 1.0], rtol=1e-14)
    assert np.isnan(bins.confidence[:2]).all() and np.isnan(bins.accuracy[:2]).all()  # empty bins
    # gaps 0.45, 0.2, 0.15 weighted 1/4, 2/4, 1/4
    assert expected_calibration_error(PROBS, TARGETS, n_bins=5) == pytest.approx(0.25, rel=1e-14)
    # one bin: |accuracy - mean confidence| = |3/4 - 2.8/4|
    assert expected_calibration_error(PROBS, TARGETS, n_bins=1) == pytest.approx(0.05, rel=1e-12)


def test_bins_are_closed_on_the_right():
    probs = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    bins = reliability_bins(probs, np.array([0, 0]), n_bins=4)
    np.testing.assert_array_equal(bins.count, [0, 1, 0, 1])  # 0.5 in (0.25, 0.5], 1.0 in (0.75, 1]


def ece_by_loop(probs, targets, n_bins):
    total = 0.0
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            gap = abs((predicted[inside] == targets[inside]).mean() - confidence[inside].mean())
            total += inside.sum() / len(probs) * gap
    return total


@pytest.mark.parametrize("n_bins", [1, 7, 10, 15])
def test_matches_a_loop_reference(n_bins):
    rng = np.random.default_rng(n_bins)
    probs = softmax(rng.normal(size=(500, 6)) * 2)
    targets = rng.integers(0, 6, size=500)
    expected = ece_by_loop(probs, targets, n_bins)
    assert expected_calibration_error(probs, targets, n_bins) == pytest.approx(expected, rel=1e-12)


def test_targets_drawn_from_the_predictions_are_calibrated_and_sharpened_ones_are_not():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20_000, 5)) * 1.5
    probs = softmax(logits)
    targets = (probs.cumsum(axis=1) > rng.random((20_000, 1))).argmax(axis=1)  # one draw per row from probs
    bins = reliability_bins(probs, targets)
    filled = bins.count > 0
    # per bin, accuracy is a mean of n_b coin flips: its standard error is at most 0.5 / sqrt(n_b)
    tolerance = (bins.count[filled] / bins.count.sum()) @ (5 * 0.5 / np.sqrt(bins.count[filled]))
    assert expected_calibration_error(probs, targets) < tolerance
    sharpened = softmax(logits * 3)  # same ranking, more confident, same outcomes
    over = reliability_bins(sharpened, targets)
    assert expected_calibration_error(sharpened, targets) > 0.1
    assert (over.confidence[over.count > 100] > over.accuracy[over.count > 100]).all()


def test_batched_predictions_are_flattened():
    rng = np.random.default_rng(3)
    probs = softmax(rng.normal(size=(4, 25, 3)))
    targets = rng.integers(0, 3, size=(4, 25))
    flat = expected_calibration_error(probs.reshape(-1, 3), targets.ravel())
    assert expected_calibration_error(probs, targets) == flat
    assert reliability_bins(np.float32(probs), targets).count.sum() == 100


@pytest.mark.parametrize(
    "probs, targets, n_bins, error, match",
    [
        ([[2.0, -1.0]], [0], 10, ValueError, "probabilities"),
        ([[0.5, 0.4]], [0], 10, ValueError, "softmax"),
        ([[np.nan, 1.0]], [0], 10, ValueError, "NaN"),
        (np.zeros((0, 3)), np.zeros(0, int), 10, ValueError, "no predictions"),
        ([[0.5, 0.5]], [0.0], 10, TypeError, "integer"),
        ([[0.5, 0.5]], [0, 1], 10, ValueError, "entries"),
        ([[0.5, 0.5]], [2], 10, ValueError, "class ids"),
        ([[0.5, 0.5]], [0], 0, ValueError, "n_bins"),
        ([[0.5, 0.5]], [0], 2.5, ValueError, "n_bins"),
        (0.5, [0], 10, ValueError, "class axis"),
    ],
)
def test_bad_input(probs, targets, n_bins, error, match):
    with pytest.raises(error, match=match):
        expected_calibration_error(probs, np.asarray(targets), n_bins)
