"""Checks for chapter 1 (``01-softmax``): the ``softmax`` exercise and the mastery quiz."""

from __future__ import annotations

import numpy as np

from .. import softmax as reference_softmax
from ..checker import Case, Exercise, Mistake
from ..quiz import Option, Question, Quiz


def _exp_over_total(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum()


def _sum_without_keepdims(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum(axis=axis)  # (B, V) / (B,) broadcasts the sums along the wrong axis


MISTAKES = (
    Mistake(
        "normalised along the wrong axis",
        lambda logits, axis=-1: reference_softmax(logits, axis=0 if axis in (-1, logits.ndim - 1) else -1),
        "Each row is one distribution over the vocabulary, so sum over the class axis (`axis`), "
        "not across the batch (§1.3).",
    ),
    Mistake(
        "normalised over the whole batch",
        _exp_over_total,
        "Dividing by the total of every entry makes the whole array sum to 1 instead of each row; "
        "use `e.sum(axis=axis, keepdims=True)` (§1.3).",
    ),
    Mistake(
        "row sums broadcast along the wrong axis",
        _sum_without_keepdims,
        "`e.sum(axis=-1)` drops the axis, so a (B, V) array divided by (B,) sums lines them up with "
        "the columns; keep the axis with `keepdims=True` (§1.3).",
    ),
    Mistake(
        "not normalised",
        lambda logits, axis=-1: np.exp(logits),
        "These are the raw e^z: divide by their sum so the probabilities add up to 1 (§1.2).",
    ),
    Mistake(
        "logits divided by their sum",
        lambda logits, axis=-1: logits / logits.sum(axis=axis, keepdims=True),
        "Softmax exponentiates first: e^z is positive and widens gaps, z / sum(z) can be negative "
        "or divide by 0 (§1.2).",
    ),
    Mistake(
        "base 2 or 10 instead of e",
        lambda logits, axis=-1: reference_softmax(logits * np.log(10), axis=axis),
        "Softmax uses e^z (`np.exp`); 10**z is softmax of z·ln 10, a sharper distribution (§1.2).",
    ),
    Mistake(
        "base 2 instead of e",
        lambda logits, axis=-1: reference_softmax(logits * np.log(2), axis=axis),
        "Softmax uses e^z (`np.exp`); 2**z is softmax of z·ln 2, a flatter distribution (§1.2).",
    ),
    Mistake(
        "an extra batch axis",
        lambda logits, axis=-1: reference_softmax(np.atleast_2d(logits), axis=axis),
        "A 1-D input of shape (V,) must give shape (V,), not (1, V): avoid np.atleast_2d / reshape "
        "(§1.3).",
    ),
)


def _one_row(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([2.0, 1.0, 0.5, -1.0]),), "the cat example"),
        Case((np.array([0.0, 0.0, 0.0]),), "equal logits"),
        Case((rng.normal(0, 3, size=int(rng.integers(2, 40))),), "random row"),
        Case((rng.normal(0, 3, size=7).astype(np.float32),), "random float32 row"),
    ]


def _batch(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 3.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]),), "a batch of 3 rows"),
        Case((rng.normal(0, 2, size=(5, 5)),), "square random batch"),
        Case((rng.normal(0, 2, size=(4, 9)).astype(np.float32),), "random (4, 9) float32 batch"),
        Case((rng.normal(0, 2, size=(2, 3, 6)),), "a (B, T, V) batch"),
    ]


def _axis(rng: np.random.Generator) -> list[Case]:
    x = rng.normal(0, 2, size=(6, 3))
    return [Case((x,), "axis=0 on a (6, 3) array", {"axis": 0}), Case((x.T.copy(),), "axis=1", {"axis": 1})]


softmax = Exercise(
    "softmax", reference_softmax, {"1-D": _one_row, "batched": _batch, "axis": _axis}, MISTAKES
)

quiz = Quiz(
    "01-softmax",
    [
        Question(
            "q1",
            "Logits 3 and 1: what is the ratio of their softmax probabilities?",
            [
                Option("a", "3 : 1", "That is the ratio of the logits. Softmax compares e^3 and e^1."),
                Option("b", "about 7.4 : 1", "Right: e^3 / e^1 = e^2 ≈ 7.39. The exponential turns gaps into ratios."),
                Option("c", "2 : 1", "That is their difference, not the ratio of probabilities."),
            ],
            "b",
        ),
        Question(
            "q2",
            "You add 5 to every logit. What happens to the probabilities?",
            [
                Option("a", "They all grow", "They still sum to 1, so they cannot all grow."),
                Option("b", "Nothing", "Right: e^(z+5) = e^5·e^z, and e^5 cancels between numerator and sum."),
                Option("c", "The largest grows", "Only the gaps between logits matter, and they are unchanged."),
            ],
            "b",
        ),
        Question(
            "q3",
            "A token has logit -8 while the others are around 2. Its probability is…",
            [
                Option("a", "exactly 0", "e^-8 is small but positive: every token keeps a non-zero share."),
                Option("b", "small but positive", "Right: e^z > 0 for every finite z, so no token is ruled out."),
                Option("c", "negative", "e^z is never negative; probabilities are ≥ 0."),
            ],
            "b",
        ),
        Question(
            "q4",
            "For logits of shape (B, V), which axis must softmax normalise over?",
            [
                Option("a", "axis 0 (the batch)", "That mixes different examples; each row is its own distribution."),
                Option("b", "axis -1 (the vocabulary)", "Right: each of the B rows is a distribution over the V tokens."),
                Option("c", "all entries together", "Then the whole batch sums to 1 and each row sums to about 1/B."),
            ],
            "b",
        ),
        Question(
            "q5",
            "p(cat) = 0.7 after 'The'. In 1,000 draws from this distribution, about how many are 'cat'?",
            [
                Option("a", "700", "Right: a probability is a long-run frequency of draws."),
                Option("b", "all 1,000", "That is greedy decoding (always the argmax), not sampling."),
                Option("c", "it cannot be known", "Individual draws vary, but the expected count is 0.7 × 1,000."),
            ],
            "a",
        ),
    ],
)
