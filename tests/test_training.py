"""train_bigram: gradient descent on a bigram table with the gradient p - y.

The pair-count shortcut gives exactly the per-position gradient (checked against a plain
per-position NumPy loop and against torch autograd, label smoothing included); the curves are
the model's real losses; a small training text over-fits; label smoothing lowers the
calibration error of that over-fitted model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from logits_to_loss import cross_entropy, cross_entropy_grad, softmax
from logits_to_loss.calibration import expected_calibration_error
from logits_to_loss.corpus import course_prose, train_heldout_split
from logits_to_loss.ngram import CharNGram
from logits_to_loss.training import train_bigram

TRAIN = "the cat sat on the mat. the dog sat on the log. a cat and a dog."
HELDOUT = "the dog sat on the mat; a cat ran."


@pytest.fixture(scope="module")
def prose():
    return train_heldout_split(course_prose()[:30_000])  # chapters 1-4: later chapters do not move the figures


def per_position_reference(train_text, steps, learning_rate, label_smoothing):
    """Gradient descent written position by position: logits = W[previous], dW = onehot^T (p - y) / T."""
    vocab = CharNGram.fit(train_text).vocab
    targets = vocab.encode(train_text)
    previous = np.concatenate([[vocab.unk_id], targets[:-1]])
    onehot = np.eye(len(vocab))[previous]  # (T, V)
    W = np.zeros((len(vocab), len(vocab)))
    for _ in range(steps):
        W -= learning_rate * onehot.T @ cross_entropy_grad(W[previous], targets, label_smoothing=label_smoothing)
    return W, cross_entropy(W[previous], targets)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_pair_count_gradient_equals_the_per_position_gradient(label_smoothing):
    model, curves = train_bigram(TRAIN, HELDOUT, steps=7, learning_rate=3.0, label_smoothing=label_smoothing)
    W, loss = per_position_reference(TRAIN, 7, 3.0, label_smoothing)
    np.testing.assert_allclose(model.table, W, rtol=1e-12, atol=1e-13)
    assert curves.train[-1] == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_steps_match_torch_autograd(label_smoothing):
    model, _ = train_bigram(TRAIN, HELDOUT, steps=5, learning_rate=2.0, label_smoothing=label_smoothing)
    vocab = model.vocab
    targets = torch.from_numpy(vocab.encode(TRAIN))
    previous = torch.cat([torch.tensor([vocab.unk_id]), targets[:-1]])
    W = torch.zeros(len(vocab), len(vocab), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.SGD([W], lr=2.0)
    for _ in range(5):
        optimiser.zero_grad()
        F.cross_entropy(W[previous], targets, label_smoothing=label_smoothing).backward()
        optimiser.step()
    np.testing.assert_allclose(model.table, W.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_curves_are_the_models_losses():
    model, curves = train_bigram(TRAIN, HELDOUT, steps=50, learning_rate=5.0)
    assert curves.train.shape == curves.heldout.shape == (51,)
    V = len(model.vocab)
    assert curves.train[0] == pytest.approx(math.log(V), rel=1e-14)  # W = 0 predicts uniformly
    assert curves.heldout[0] == pytest.approx(math.log(V), rel=1e-14)
    assert curves.train[-1] == pytest.approx(model.losses(TRAIN).mean(), rel=1e-12)
    assert curves.heldout[-1] == pytest.approx(model.losses(HELDOUT).mean(), rel=1e-12)
    assert (np.diff(curves.train) < 0).all(), "a small enough step always lowers a convex loss"
    model, curves = train_bigram(TRAIN, HELDOUT, steps=0)
    assert curves.train.shape == (1,) and (model.table == 0).all()


def test_gradient_descent_approaches_the_count_model_from_above(prose):
    train, heldout = prose
    _, curves = train_bigram(train, heldout, steps=400, learning_rate=50.0)
    best = CharNGram.fit(train, order=2, k=1e-9).losses(train).mean()  # the exact minimum on the training text
    assert (curves.train > best).all()
    assert curves.train[-1] - best < 0.1


def test_a_small_training_text_over_fits(prose):
    train, heldout = prose
    _, curves = train_bigram(train[:1000], heldout, steps=400, learning_rate=20.0)
    turn = int(curves.heldout.argmin())
    assert 20 < turn < 200, turn
    assert curves.heldout[-1] > curves.heldout[turn] + 0.1  # the held-out loss turns up ...
    assert curves.train[-1] < curves.train[turn] - 0.05  # ... while the training loss keeps falling
    assert curves.heldout[-1] - curves.train[-1] > 0.7


def test_label_smoothing_calibrates_the_over_fitted_model(prose):
    train, heldout = prose
    ece = []
    for eps in (0.0, 0.1, 0.2):
        model, _ = train_bigram(train[:2000], heldout, steps=300, learning_rate=20.0, label_smoothing=eps)
        ece.append(expected_calibration_error(softmax(model.sequence_logits(heldout)), model.targets(heldout)))
    assert ece[0] > ece[1] > ece[2], ece
    assert ece[0] > 2 * ece[2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"steps": -1}, ValueError, "steps"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate"),
        ({"label_smoothing": 1.5}, ValueError, "label_smoothing"),
        ({"heldout_text": ""}, ValueError, "non-empty"),
    ],
)
def test_bad_training_arguments(kwargs, error, match):
    args = {"train_text": TRAIN, "heldout_text": HELDOUT} | kwargs
    with pytest.raises(error, match=match):
        train_bigram(**args)
