"""Softmax: from logits to a distribution."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.softmax import SoftmaxExplorer
from ..mistakes import EXTRA_BATCH_AXIS, WRONG_AXIS
from ..normalisation import softmax
from ..quiz import Question, Quiz


def _one_row(rng):
    return [Case((np.array([2.0, 1.0, 0.5, -1.0]),), "the cat example"), Case((np.zeros(3),), "equal logits"),
            Case((rng.normal(0, 3, size=int(rng.integers(2, 40))),), "random row"),
            Case((rng.normal(0, 3, size=7).astype(np.float32),), "random float32 row")]


def _batch(rng):
    rows = np.array([[2.0, 1.0, 0.5, -1.0], [0.0, 3.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    return [Case((rows,), "a batch of 3 rows"), Case((rng.normal(0, 2, size=(5, 5)),), "square random batch"),
            Case((rng.normal(0, 2, size=(4, 9)).astype(np.float32),), "random (4, 9) float32 batch"),
            Case((rng.normal(0, 2, size=(2, 3, 6)),), "a (B, T, V) batch")]


def _axis(rng):
    x = rng.normal(0, 2, size=(6, 3))
    return [Case((x,), "axis=0 on a (6, 3) array", {"axis": 0}), Case((x.T.copy(),), "axis=1", {"axis": 1})]


BATCHES = ("batched", "axis")
EXERCISE = Exercise(
    "softmax(logits, axis=-1)",
    softmax,
    {
        "1-D": Part("softmax of a single row of logits matches the reference.", _one_row, points=2),
        "batched": Part("softmax normalises every row of a batch separately.", _batch, points=2),
        "axis": Part("softmax honours the axis argument.", _axis),
    },
    [
        Mistake("normalised over the whole batch", "e = np.exp(logits)\nreturn e / e.sum()",
                "Dividing by the total of every entry makes the whole array sum to 1 instead of each row; "
                "use `e.sum(axis=axis, keepdims=True)` (§1.3).", BATCHES),
        Mistake("row sums broadcast along the wrong axis", "e = np.exp(logits)\nreturn e / e.sum(axis=axis)",
                "`e.sum(axis=-1)` drops the axis, so (B, V) divided by (B,) lines the sums up with the columns; "
                "keep the axis with `keepdims=True` (§1.3).", BATCHES),
        Mistake("not normalised", "return np.exp(logits)",
                "These are the raw e^z: divide by their sum so the probabilities add up to 1 (§1.2)."),
        Mistake("logits divided by their sum", "return logits / logits.sum(axis=axis, keepdims=True)",
                "Softmax exponentiates first: e^z is positive and widens gaps, z / sum(z) can be negative "
                "or divide by 0 (§1.2)."),
        Mistake("base 10 instead of e", "e = 10.0 ** logits\nreturn e / e.sum(axis=axis, keepdims=True)",
                "Softmax uses e^z (`np.exp`); 10**z is softmax of z·ln 10, a sharper distribution (§1.2)."),
        Mistake("base 2 instead of e", "e = 2.0 ** logits\nreturn e / e.sum(axis=axis, keepdims=True)",
                "Softmax uses e^z (`np.exp`); 2**z is softmax of z·ln 2, a flatter distribution (§1.2)."),
    ],
    shared=[WRONG_AXIS.on(*BATCHES), EXTRA_BATCH_AXIS.on("1-D")],
)

QUIZ = Quiz([
    Question("Logits 3 and 1: what is the ratio of their softmax probabilities?",
             ("about 7.4 : 1", "e^3 / e^1 = e^2 ≈ 7.39: the exponential turns gaps into ratios."),
             [("3 : 1", "That is the ratio of the logits. Softmax compares e^3 and e^1."),
              ("2 : 1", "That is their difference, not the ratio of probabilities.")]),
    Question("You add 5 to every logit. What happens to the probabilities?",
             ("Nothing", "e^(z+5) = e^5·e^z, and e^5 cancels between numerator and sum."),
             [("They all grow", "They still sum to 1, so they cannot all grow."),
              ("The largest grows", "Only the gaps between logits matter, and they are unchanged.")]),
    Question("A token has logit -8 while the others are around 2. Its probability is…",
             ("small but positive", "e^z > 0 for every finite z, so no token is ruled out."),
             [("exactly 0", "e^-8 is small but positive: every token keeps a non-zero share."),
              ("negative", "e^z is never negative; probabilities are ≥ 0.")]),
    Question("For logits of shape (B, V), which axis must softmax normalise over?",
             ("axis -1 (the vocabulary)", "Each of the B rows is a distribution over the V tokens."),
             [("axis 0 (the batch)", "That mixes different examples; each row is its own distribution."),
              ("all entries together", "Then the whole batch sums to 1 and each row sums to about 1/B.")],
             level="intermediate"),
    Question("p(mat) = 0.7 after 'The cat sat on the'. In 1,000 draws, about how many are 'mat'?",
             ("700", "A probability is a long-run frequency of draws."),
             [("all 1,000", "That is greedy decoding (always the argmax), not sampling."),
              ("it cannot be known", "Individual draws vary, but the expected count is 0.7 × 1,000.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "01-softmax", "Softmax: from logits to a distribution", [EXERCISE], QUIZ, SoftmaxExplorer,
    objectives=("compute softmax by hand", "explain why it uses e^z", "write a batched softmax"),
    minutes=30,
)
