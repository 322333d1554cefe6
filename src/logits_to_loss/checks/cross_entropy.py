"""Checks for chapter 3 (``03-cross-entropy``): ``cross_entropy``, ``label_smoothed_targets`` and the quiz.

The mistake functions below compute what a known wrong answer returns, so a learner's output
can be fingerprinted. They run on the checker's side and may use the reference library freely.
The stability mistakes come first: on ordinary logits they equal the right answer, so they can
only ever match on the huge-logit cases, where they tell the three unstable recipes apart.
"""

from __future__ import annotations

import numpy as np

from ..checker import Case, Exercise, Mistake
from ..cross_entropy import cross_entropy as reference_cross_entropy
from ..cross_entropy import label_smoothed_targets as reference_label_smoothed_targets
from ..quiz import Option, Question, Quiz
from ..softmax import log_softmax, naive_softmax, softmax


# -- cross_entropy: what each mistake returns ------------------------------------------------------


def _float(logits) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64)


def _pick(values: np.ndarray, targets) -> np.ndarray:
    """``values[..., y]`` row by row: (V,) with a scalar target -> (), (B, V) with (B,) -> (B,)."""
    t = np.asarray(targets)
    return np.take_along_axis(values, t[..., None], axis=-1)[..., 0]


def _logsumexp_no_shift(logits, targets):
    z = _float(logits)
    return np.mean(np.log(np.exp(z).sum(axis=-1)) - _pick(z, targets))


def _log_of_naive_softmax(logits, targets):
    return np.mean(-np.log(_pick(naive_softmax(_float(logits)), targets)))


def _log_of_softmax(logits, targets):
    return np.mean(-np.log(_pick(softmax(_float(logits)), targets)))


def _probs_as_logits(logits, targets):
    return reference_cross_entropy(softmax(_float(logits)), targets)


def _minus_log_logits(logits, targets):
    return np.mean(-np.log(_pick(_float(logits), targets)))


def _favourite(logits, targets):
    logp = log_softmax(_float(logits))
    return np.mean(-logp.max(axis=-1))


def _every_class(logits, targets):
    return np.mean(-log_softmax(_float(logits)).sum(axis=-1))


def _per_row(logits, targets):
    return reference_cross_entropy(_float(logits), targets, reduction="none")


def _square(logits, targets):
    return -log_softmax(_float(logits))[:, np.asarray(targets)]  # (B, B): every row with every target


def _take_flat(logits, targets):
    return np.mean(-np.take(log_softmax(_float(logits)), np.asarray(targets)))  # indexes the flattened array


MISTAKES = (
    Mistake(
        "log of a softmax that underflowed",
        _log_of_softmax,
        "The max shift keeps softmax finite, but a probability below about 1e-308 still rounds to 0 and "
        "-log(0) = inf, although the loss is finite. Never form p: compute the loss from the logits as "
        "logsumexp(z) - z_y, with logsumexp = m + log(sum(exp(z - m))) and m the row max (§3.3).",
    ),
    Mistake(
        "log-sum-exp without the max shift",
        _logsumexp_no_shift,
        "exp(z) overflows to inf above about 709 (88.7 in float32) and underflows to 0 far below, so "
        "log(sum(exp(z))) becomes inf or -inf. Subtract the row max m first and add it back: "
        "logsumexp(z) = m + log(sum(exp(z - m))) (§3.3).",
    ),
    Mistake(
        "log of a softmax without the max shift",
        _log_of_naive_softmax,
        "exp of huge logits is inf (or 0 for very negative ones), and inf / inf = nan. Work with "
        "logsumexp(z) - z_y, shifting by the row max inside the log-sum-exp (§3.3).",
    ),
    Mistake(
        "probabilities passed where logits are expected",
        _probs_as_logits,
        "Your function treats softmax outputs as if they were logits: softmax gets applied twice, which "
        "squashes every row towards uniform and pulls the loss towards log V. The input is raw logits; "
        "compute logsumexp(logits) - logits[y] and do not apply softmax first (§3.6).",
    ),
    Mistake(
        "-log taken of the logits, not of probabilities",
        _minus_log_logits,
        "Logits are not probabilities: they can be negative (log gives nan) or above 1. The loss is "
        "-log p_y with p = softmax(z), i.e. logsumexp(z) - z_y (§3.3).",
    ),
    Mistake(
        "sign flipped (log p instead of -log p)",
        lambda logits, targets: -reference_cross_entropy(_float(logits), targets),
        "log p is ≤ 0, so a loss written as log p is negative and rewards being wrong. Surprise is "
        "-log p: 0 when p = 1, growing as p shrinks (§3.1).",
    ),
    Mistake(
        "log base 10 instead of the natural log",
        lambda logits, targets: reference_cross_entropy(_float(logits), targets) / np.log(10),
        "np.log10 measures in decimal digits; the loss is in nats (np.log, base e), as in PyTorch. "
        "Your values are the right ones divided by ln 10 ≈ 2.303 (§3.1).",
    ),
    Mistake(
        "log base 2 instead of the natural log",
        lambda logits, targets: reference_cross_entropy(_float(logits), targets) / np.log(2),
        "np.log2 measures in bits; the loss is in nats (np.log, base e), as in PyTorch. Your values "
        "are the right ones divided by ln 2 ≈ 0.693 (§3.1).",
    ),
    Mistake(
        "scored the model's favourite token, not the target",
        _favourite,
        "The loss asks how much probability the model gave to the token that actually came next, "
        "-log p[y] with y from `targets`, not to the token it liked best (§3.2).",
    ),
    Mistake(
        "-log p summed over every class",
        _every_class,
        "With a one-hot target, only the target's term survives in -sum_c y_c log p_c: the loss is "
        "-log p[y] for the target class alone (§3.2).",
    ),
    Mistake(
        "summed over the batch instead of averaged (forgot the 1/N)",
        lambda logits, targets: reference_cross_entropy(_float(logits), targets, reduction="sum"),
        "The batch loss is the MEAN of the per-row losses: divide the sum by the number of rows B, "
        "so the loss keeps its scale whatever the batch size (§3.5).",
    ),
    Mistake(
        "averaged over every entry instead of every row",
        lambda logits, targets: reference_cross_entropy(_float(logits), targets) / np.shape(logits)[-1],
        "np.mean over a (B, V) array of one-hot × -log p divides by B·V; the V - 1 zeros of each row "
        "are not examples. Sum each row first, then average over the B rows (§3.5).",
    ),
    Mistake(
        "per-row losses not averaged",
        _per_row,
        "These are the B losses of the rows; the function returns one number, their mean over the "
        "batch (§3.5).",
    ),
    Mistake(
        "a (B, B) matrix from logits[:, targets]",
        _square,
        "Indexing with [:, targets] pairs EVERY row with EVERY target. Pick one entry per row with "
        "logits[np.arange(B), targets] (or np.take_along_axis) (§3.7).",
    ),
    Mistake(
        "the mean of a (B, B) matrix from logits[:, targets]",
        lambda logits, targets: np.mean(_square(logits, targets)),
        "Indexing with [:, targets] pairs EVERY row with EVERY target, and the mean then averages "
        "B·B mismatched pairs. Pick one entry per row with logits[np.arange(B), targets] "
        "(or np.take_along_axis) (§3.7).",
    ),
    Mistake(
        "np.take without an axis reads the first row",
        _take_flat,
        "np.take(x, targets) indexes the FLATTENED array, so every target is read from row 0. Pick "
        "one entry per row with x[np.arange(B), targets] or np.take_along_axis (§3.7).",
    ),
    Mistake(
        "an extra batch axis",
        lambda logits, targets: np.atleast_1d(reference_cross_entropy(_float(logits), targets)),
        "The loss is one number, shape (); return the mean itself (e.g. `losses.mean()`), not an "
        "array of shape (1,) (§3.7).",
    ),
)


# -- cross_entropy: cases ---------------------------------------------------------------------------


def _random_row(rng: np.random.Generator, size: int, scale: float = 3.0, shift: float = 0.0, dtype=np.float64):
    logits = (rng.normal(0, scale, size=size) + shift).astype(dtype)
    target = int(rng.integers(0, size))
    return logits, target


def _ordinary(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([2.0, 1.0, 0.5, -1.0]), 0), "the cat example, target 'mat'"),
        Case((np.array([3.0, 1.0, 0.0]), 1), "refund/reship/escalate, target reship"),
        Case((np.array([1.0, 0.0, -2.0]), 0), "[1, 0, -2], target refund"),
        Case((np.array([0.5, 0.5]), 1), "two equal logits"),
        Case(_random_row(rng, int(rng.integers(5, 40))), "random row"),
        Case(_random_row(rng, 7, dtype=np.float32), "random float32 row"),
    ]


def _huge(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([1000.0, 998.0, 997.0]), 1), "[1000, 998, 997], target 1"),
        Case((np.array([0.0, 800.0]), 0), "target 800 below the favourite"),
        Case((np.array([-1000.0, -1002.0, -1003.0]), 2), "all logits near -1000"),
        Case((np.array([100.0, 90.0, 80.0], dtype=np.float32), 2), "float32 logits above 88.7"),
        Case(_random_row(rng, 12, scale=300.0, shift=2000.0), "random row around 2000, spread 300"),
        Case(_random_row(rng, 9, shift=-5000.0), "random row around -5000"),
    ]


def _random_batch(rng: np.random.Generator, batch: int, classes: int, scale: float = 2.0, dtype=np.float64):
    logits = rng.normal(0, scale, size=(batch, classes)).astype(dtype)
    targets = rng.integers(0, classes, size=batch)
    return logits, targets


def _batch(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]]), np.array([1, 0, 0])),
            "a batch of 3 rows",
        ),
        Case(_random_batch(rng, int(rng.integers(4, 9)), int(rng.integers(3, 12))), "random batch"),
        Case(_random_batch(rng, 5, 5), "square (5, 5) batch"),
        Case(_random_batch(rng, 6, 8, dtype=np.float32), "random (6, 8) float32 batch"),
        Case((rng.normal(0, 2, size=(2, 4)), np.array([3, 3], dtype=np.int32)), "int32 targets, both 3"),
    ]


cross_entropy = Exercise(
    "cross_entropy",
    reference_cross_entropy,
    {"ordinary logits": _ordinary, "huge logits": _huge, "batch mean": _batch},
    MISTAKES,
)


# -- label_smoothed_targets -------------------------------------------------------------------------


def _onehot(targets, num_classes) -> np.ndarray:
    return np.eye(num_classes)[np.asarray(targets)]


SMOOTHING_MISTAKES = (
    Mistake(
        "eps/(V-1) on the other classes instead of eps/V",
        lambda t, v, eps: (1 - eps) * _onehot(t, v) + (1 - _onehot(t, v)) * eps / (v - 1),
        "Label smoothing mixes the one-hot target with the UNIFORM distribution: every class, the "
        "target included, gets eps/V, so the target ends at 1 - eps + eps/V (§3.8).",
    ),
    Mistake(
        "eps/V added to the other classes only",
        lambda t, v, eps: (1 - eps) * _onehot(t, v) + (1 - _onehot(t, v)) * eps / v,
        "The uniform part eps/V goes to EVERY class, the target included; without it a row sums to "
        "1 - eps/V instead of 1 (§3.8).",
    ),
    Mistake(
        "forgot the (1 - eps) on the one-hot",
        lambda t, v, eps: _onehot(t, v) + eps / v,
        "Adding eps/V to a full one-hot makes each row sum to 1 + eps. Scale the one-hot by (1 - eps) "
        "so the mixture is still a distribution (§3.8).",
    ),
    Mistake(
        "eps instead of eps/V on every class",
        lambda t, v, eps: (1 - eps) * _onehot(t, v) + eps,
        "The uniform distribution over V classes puts 1/V on each, so the smoothing adds eps/V per "
        "class, not eps; otherwise a row sums to 1 + (V - 1)·eps (§3.8).",
    ),
    Mistake(
        "eps and 1 - eps swapped",
        lambda t, v, eps: eps * _onehot(t, v) + (1 - eps) / v,
        "eps is the SMALL weight of the uniform part: (1 - eps)·onehot + eps/V. With the weights "
        "swapped, eps = 0.1 gives a nearly uniform target (§3.8).",
    ),
    Mistake(
        "eps ignored (a plain one-hot)",
        lambda t, v, eps: _onehot(t, v),
        "This is the unsmoothed one-hot target; mix in eps of the uniform distribution: "
        "(1 - eps)·onehot + eps/V (§3.8).",
    ),
    Mistake(
        "shape (V, B) instead of (B, V)",
        lambda t, v, eps: reference_label_smoothed_targets(t, v, eps).T,
        "Each ROW is one example's soft target over the V classes, shape (B, V), like the logits "
        "(§3.8).",
    ),
)


def _smoothing_01(rng: np.random.Generator) -> list[Case]:
    batch, classes = int(rng.integers(3, 9)), int(rng.integers(3, 12))
    return [
        Case((np.array([0, 2, 1]), 4, 0.1), "targets [0, 2, 1], V = 4"),
        Case((rng.integers(0, classes, size=batch), classes, 0.1), "random targets"),
        Case((np.array([1, 0, 1, 1], dtype=np.int32), 2, 0.1), "int32 targets, V = 2"),
    ]


def _smoothing_any(rng: np.random.Generator) -> list[Case]:
    classes = int(rng.integers(3, 10))
    return [
        Case((np.array([2, 0]), 3, 0.0), "eps = 0 (the one-hot target)"),
        Case((np.array([2, 0, 1]), 5, 1.0), "eps = 1 (the uniform target)"),
        Case((np.array([3]), 10, 0.25), "one row, eps = 0.25"),
        Case((rng.integers(0, classes, size=6), classes, float(rng.uniform(0.02, 0.5))), "random eps"),
    ]


label_smoothed_targets = Exercise(
    "label_smoothed_targets",
    reference_label_smoothed_targets,
    {"eps = 0.1": _smoothing_01, "any eps": _smoothing_any},
    SMOOTHING_MISTAKES,
)


# -- mastery check ----------------------------------------------------------------------------------

quiz = Quiz(
    "03-cross-entropy",
    [
        Question(
            "q1",
            "The model gives the correct token probability p = 0.5. What is its loss, in nats?",
            [
                Option("a", "0.5", "That is p itself. The loss is the surprise -log p."),
                Option("b", "about 0.69", "Right: -ln 0.5 = ln 2 ≈ 0.693 nats."),
                Option("c", "1", "That is -log₂ 0.5, one bit. The loss is measured in nats (natural log), as in PyTorch."),
            ],
            "b",
        ),
        Question(
            "q2",
            "As the probability of the correct token goes to 0, the loss…",
            [
                Option("a", "approaches 1", "-log p is not bounded by 1: already at p = 0.01 it is 4.6."),
                Option("b", "grows without bound", "Right: -log p → ∞ as p → 0, so a confident miss is very expensive."),
                Option("c", "approaches 0", "That is what happens as p → 1. A small p is a big surprise."),
            ],
            "b",
        ),
        Question(
            "q3",
            "You pass softmax outputs (probabilities) to torch.nn.functional.cross_entropy. What happens?",
            [
                Option(
                    "a", "It raises an error about the input",
                    "Probabilities have exactly the shape and dtype of logits, so nothing warns you.",
                ),
                Option(
                    "b", "A silently wrong loss, pulled towards log V, with tiny gradients",
                    "Right: the function applies softmax again; probabilities lie in [0, 1], so the second softmax "
                    "is nearly uniform. [3, 1, 0] with label reship gives 1.387 instead of 2.170.",
                ),
                Option(
                    "c", "The same loss: softmax of probabilities changes nothing",
                    "Softmax is not idempotent: gaps of at most 1 become ratios of at most e, so the row is flattened.",
                ),
            ],
            "b",
        ),
        Question(
            "q4",
            "Why does a training loop average the per-example losses instead of summing them?",
            [
                Option(
                    "a", "Summing changes which model is best",
                    "The sum is N × the mean, so both have the same minimiser; only the scale differs.",
                ),
                Option(
                    "b", "So the loss and its gradients keep their scale whatever the batch size",
                    "Right: with a sum, doubling the batch doubles the gradient, and the learning rate would have to change with it.",
                ),
                Option("c", "The mean is more stable numerically", "Both are sums of finite numbers; the point is the scale, not rounding."),
            ],
            "b",
        ),
        Question(
            "q5",
            "Label smoothing with ε = 0.1 over V = 4 classes: what is the soft target of the correct class?",
            [
                Option("a", "0.9", "That forgets that the correct class also gets its share ε/V = 0.025 of the uniform part."),
                Option("b", "0.925", "Right: (1 - ε) + ε/V = 0.9 + 0.025; each other class gets 0.025."),
                Option("c", "1.0", "That is the plain one-hot target, before smoothing."),
            ],
            "b",
        ),
        Question(
            "q6",
            "H(p, q) = H(p) + KL(p‖q). Why does minimising the cross-entropy over the model q minimise the KL divergence?",
            [
                Option("a", "H(p) belongs to the data and does not depend on the model", "Right: the model can only change the KL term."),
                Option("b", "H(p) is always 0", "Only a one-hot p has H(p) = 0; a real next-token distribution has positive entropy."),
                Option("c", "KL is always smaller than H(p)", "There is no such bound: KL can be any value ≥ 0, even infinite."),
            ],
            "a",
        ),
        Question(
            "q7",
            "A model gives probability 1e-9 to a token that the data uses 10% of the time. Under cross-entropy this…",
            [
                Option(
                    "a", "costs little, because the token is rare",
                    "Each occurrence costs -ln(1e-9) ≈ 20.7 nats; 10% of the time that is about 2 nats per token on average.",
                ),
                Option(
                    "b", "is punished hard, so training spreads mass over everything the data does (mode-covering)",
                    "Right: forward KL is infinite where q = 0 < p, so cross-entropy makes a model cover every mode, "
                    "at the price of some mass on implausible continuations.",
                ),
                Option(
                    "c", "does not matter, since only the most likely token is ever chosen",
                    "The loss scores the probability of what actually came next, whatever the model would have picked.",
                ),
            ],
            "b",
        ),
    ],
)
