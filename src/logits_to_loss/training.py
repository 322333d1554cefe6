"""Training by gradient descent: a one-layer next-character model learned with the gradient ``p - y``.

The model is a bigram table of logits ``W`` ``(V, V)``: the logits after character ``a`` are the
row ``W[a]`` (an embedding of the previous character straight into logits). Counting gives
this table in closed form (:meth:`CharNGram.fit`); here it is learned instead, one full-batch
gradient step at a time, while the training and held-out losses are recorded, so their curves
can be read: both fall together, then the held-out loss turns up once the table starts to fit
accidents of the training text (over-fitting). ``label_smoothing`` trains towards
``(1 - eps) onehot + eps / V`` instead of the one-hot target, a pull towards uniform that
penalises over-confidence.

Every position whose previous character is ``a`` reads the same row ``W[a]``, so the text
enters the loss only through its pair counts ``C[a, b]``: with ``n_a = sum_b C[a, b]`` of them,
their gradients ``p - y`` add up to ``n_a (p(W[a]) - C[a] / n_a)``, the gradient of one row
whose target is the distribution ``C[a] / n_a``. One step costs ``V^2``, not ``T V``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .losses import cross_entropy, cross_entropy_grad
from .ngram import CharNGram, Vocabulary, pair_counts


@dataclass
class LossCurves:
    """Mean cross-entropy in nats (no smoothing) before every step and after the last, ``(steps + 1,)``."""

    train: np.ndarray
    heldout: np.ndarray


@dataclass
class _Counts:
    """A text as a bigram model sees it: the next-character distribution after each character."""

    targets: np.ndarray  # (V, V) C[a] / n_a: the soft target of row a (zeros if a never occurs)
    share: np.ndarray  # (V,) n_a / T: row a's share of the positions

    @classmethod
    def of(cls, text: str, vocab: Vocabulary) -> _Counts:
        if not isinstance(text, str) or not text:
            raise ValueError("the training and held-out texts must be non-empty strings")
        counts = pair_counts(text, 2, vocab).astype(np.float64)  # (V, V)
        n = counts.sum(axis=1)  # (V,)
        return cls(counts / np.maximum(n, 1)[:, None], n / n.sum())

    def mean_loss(self, weights: np.ndarray) -> float:
        """``sum_a (n_a / T) CE(W[a], C[a] / n_a)``: the mean per-position cross-entropy."""
        return float(self.share @ cross_entropy(weights, self.targets, reduction="none"))

    def grad(self, weights: np.ndarray, label_smoothing: float) -> np.ndarray:
        """``(V, V)`` d mean loss / d W: row a is ``(n_a / T) (p - q_a)``."""
        per_row = cross_entropy_grad(weights, self.targets, reduction="none", label_smoothing=label_smoothing)
        return self.share[:, None] * per_row


def _check_training(steps: object, learning_rate: object) -> tuple[int, float]:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise TypeError(f"learning_rate must be a number, got {learning_rate!r}")
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be finite and > 0, got {learning_rate!r}; e.g. 20")
    return int(steps), float(learning_rate)


def train_bigram(
    train_text: str,
    heldout_text: str,
    steps: int = 300,
    learning_rate: float = 20.0,
    label_smoothing: float = 0.0,
) -> tuple[CharNGram, LossCurves]:
    """Learn a bigram table by full-batch gradient descent from ``W = 0`` (uniform predictions).

    Each step is ``W -= learning_rate * dL/dW`` with ``L`` the mean cross-entropy over the
    positions of ``train_text`` (label-smoothed when ``label_smoothing > 0``). The vocabulary is
    the training text's; held-out characters outside it read as ``<unk>``. Returns the trained
    model and the loss curves.
    """
    steps, learning_rate = _check_training(steps, learning_rate)
    vocab = Vocabulary(train_text)
    train, heldout = _Counts.of(train_text, vocab), _Counts.of(heldout_text, vocab)
    weights = np.zeros((len(vocab), len(vocab)))  # (V, V)
    curves = LossCurves(np.empty(steps + 1), np.empty(steps + 1))
    for step in range(steps + 1):
        curves.train[step], curves.heldout[step] = train.mean_loss(weights), heldout.mean_loss(weights)
        if step < steps:
            weights -= learning_rate * train.grad(weights, label_smoothing)
    return CharNGram(vocab, 2, weights), curves
