"""Checks for chapter 4 (``04-gradient``): ``cross_entropy_grad``, ``numerical_gradient`` and the quiz.

The mistake functions below compute what a known wrong answer returns, so a learner's output
can be fingerprinted. They run on the checker's side and may use the reference library freely.
The test functions ``f`` handed to ``numerical_gradient`` are small named callables, so a failure
message shows which function was being differentiated.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..checker import Case, Exercise, Mistake
from ..cross_entropy import cross_entropy as reference_cross_entropy
from ..cross_entropy import cross_entropy_grad as reference_cross_entropy_grad
from ..gradcheck import numerical_gradient as reference_numerical_gradient
from ..quiz import Option, Question, Quiz
from ..softmax import naive_softmax, softmax

# -- cross_entropy_grad: what each mistake returns -------------------------------------------------


def _float(logits) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64)


def _onehot(logits, targets) -> np.ndarray:
    """One-hot targets shaped like the logits: (V,) for an int target, (B, V) for (B,) targets."""
    return np.eye(np.shape(logits)[-1])[np.asarray(targets)]


def _rows(logits) -> int:
    """B for a (B, V) batch, 1 for a single row (the mean over one row divides by 1)."""
    return int(np.prod(np.shape(logits)[:-1], dtype=int))


def _unshifted(logits, targets):
    return (naive_softmax(_float(logits)) - _onehot(logits, targets)) / _rows(logits)


def _global_max(logits, targets):
    z = _float(logits)
    e = np.exp(z - z.max())  # one max for the whole batch: rows far below it underflow to 0/0
    return (e / e.sum(axis=-1, keepdims=True) - _onehot(logits, targets)) / _rows(logits)


def _onehot_transposed(logits, targets):
    z = _float(logits)
    if z.ndim != 2 or z.shape[0] != z.shape[1]:
        raise ValueError("only a square batch broadcasts a transposed one-hot")
    return (softmax(z) - _onehot(z, targets).T) / len(z)


def _softmax_axis0(logits, targets):
    z = _float(logits)
    if z.ndim < 2:
        raise ValueError("a single row has only the class axis")
    return (softmax(z, axis=0) - _onehot(z, targets)) / _rows(z)


def _extra_axis(logits, targets):
    if np.ndim(logits) != 1:
        raise ValueError("only a single row can gain a batch axis")
    return reference_cross_entropy_grad(np.atleast_2d(_float(logits)), np.atleast_1d(targets))


MISTAKES = (
    Mistake(
        "softmax without the max shift",
        _unshifted,
        "exp of a logit above about 709 (88.7 in float32) is inf, and inf / inf = nan. Subtract each "
        "row's max before np.exp: softmax does not change, and the largest exponent is e^0 = 1 (§4.5).",
    ),
    Mistake(
        "one global max for the whole batch",
        _global_max,
        "z - z.max() shifts every row by the largest logit of the BATCH; a row far below it has every "
        "exp underflow to 0, and 0 / 0 = nan. Shift each row by its own max: "
        "z.max(axis=-1, keepdims=True) (§4.5).",
    ),
    Mistake(
        "sign flipped (y - p instead of p - y)",
        lambda logits, targets: -reference_cross_entropy_grad(_float(logits), targets),
        "The gradient of the loss is p - y: positive for the wrong classes, negative (p_y - 1) for the "
        "label. y - p points downhill; gradient descent subtracts the gradient itself (§4.2).",
    ),
    Mistake(
        "logits used in place of probabilities (z - y)",
        lambda logits, targets: (_float(logits) - _onehot(logits, targets)) / _rows(logits),
        "The derivative of logsumexp(z) is softmax(z), so the gradient is softmax(z) - y: turn the "
        "logits into probabilities before subtracting the one-hot target (§4.1).",
    ),
    Mistake(
        "the one-hot target was never subtracted",
        lambda logits, targets: softmax(_float(logits)) / _rows(logits),
        "softmax(z) alone is the gradient of logsumexp(z); the loss is logsumexp(z) - z_y, and the "
        "-z_y term subtracts 1 at the label: p - y (§4.1).",
    ),
    Mistake(
        "forgot the 1/B of the batch mean",
        lambda logits, targets: reference_cross_entropy_grad(_float(logits), targets, reduction="sum"),
        "The batch loss is the MEAN of B row losses, so each row's gradient is (p - y) / B. Without "
        "the 1/B you have the gradient of the sum, B times too large (§4.4).",
    ),
    Mistake(
        "divided by the number of classes V",
        lambda logits, targets: (softmax(_float(logits)) - _onehot(logits, targets)) / np.shape(logits)[-1],
        "The mean runs over the B rows (examples), not over the V classes: divide by B = "
        "logits.shape[0] for a batch, and not at all for a single row (a mean over one row) (§4.4).",
    ),
    Mistake(
        "divided by B·V instead of B",
        lambda logits, targets: reference_cross_entropy_grad(_float(logits), targets) / np.shape(logits)[-1],
        "np.mean over a (B, V) array divides by every entry, B·V; the loss is a mean over the B rows "
        "only, so divide the (B, V) gradient p - y by B (§4.4).",
    ),
    Mistake(
        "one-hot on the wrong axis",
        _onehot_transposed,
        "Your one-hot target is transposed: row i must have its 1 in column targets[i], shape (B, V) "
        "like the logits. Build it with np.eye(V)[targets] or onehot[np.arange(B), targets] = 1 (§4.4).",
    ),
    Mistake(
        "softmax over the batch axis",
        _softmax_axis0,
        "Each row of a (B, V) batch is one distribution over the V classes: normalise along the last "
        "axis with keepdims=True, not over the batch (axis 0) (§4.4).",
    ),
    Mistake(
        "an extra batch axis",
        _extra_axis,
        "A single row of shape (V,) with an int target has a gradient of shape (V,), like its logits; "
        "do not return a (1, V) array (§4.5).",
    ),
)


# -- cross_entropy_grad: cases ----------------------------------------------------------------------


def _random_row(rng: np.random.Generator, size: int, scale: float = 3.0, shift: float = 0.0, dtype=np.float64):
    logits = (rng.normal(0, scale, size=size) + shift).astype(dtype)
    return logits, int(rng.integers(0, size))


def _random_batch(rng: np.random.Generator, batch: int, classes: int, scale: float = 2.0, dtype=np.float64):
    logits = rng.normal(0, scale, size=(batch, classes)).astype(dtype)
    return logits, rng.integers(0, classes, size=batch)


def _single_row(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([3.0, 1.0, 0.0]), 1), "refund/reship/escalate, label reship"),
        Case((np.array([8.0, 0.0, 0.0]), 1), "confidently wrong, label reship"),
        Case((np.array([2.0, 1.0, 0.5, -1.0]), 0), "the cat example, target 'mat'"),
        Case(_random_row(rng, int(rng.integers(5, 40))), "random row"),
        Case(_random_row(rng, 7, dtype=np.float32), "random float32 row"),
    ]


def _batch(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            (np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]]), np.array([1, 0, 0])),
            "a batch of 3 rows",
        ),
        Case(_random_batch(rng, int(rng.integers(4, 8)), int(rng.integers(9, 15))), "random batch, B < V"),
        Case(_random_batch(rng, 6, 4), "random (6, 4) batch, B > V"),
        Case(_random_batch(rng, 5, 7, dtype=np.float32), "random (5, 7) float32 batch"),
        Case((rng.normal(0, 2, size=(2, 5)), np.array([4, 4], dtype=np.int32)), "int32 targets, both 4"),
    ]


def _huge(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([1000.0, 998.0, 997.0]), 1), "[1000, 998, 997], label 1"),
        Case(
            (np.array([[1000.0, 998.0, 997.0], [3.0, 1.0, 0.0]]), np.array([1, 1])),
            "two rows about 1000 apart",
        ),
        Case((np.array([[-1000.0, -1002.0, -1003.0], [0.0, 800.0, 0.0]]), np.array([2, 0])), "rows near -1000 and 800"),
        Case((np.array([100.0, 90.0, 80.0], dtype=np.float32), 2), "float32 logits above 88.7"),
        Case(_random_row(rng, 12, scale=300.0, shift=2000.0), "random row around 2000, spread 300"),
    ]


cross_entropy_grad = Exercise(
    "cross_entropy_grad",
    reference_cross_entropy_grad,
    {"single row": _single_row, "batch mean": _batch, "huge logits": _huge},
    MISTAKES,
)


# -- numerical_gradient ----------------------------------------------------------------------------


class Fn:
    """A test function ``f(x) -> float`` that prints as its formula in failure messages."""

    def __init__(self, formula: str, fn: Callable[[np.ndarray], float]) -> None:
        self.formula, self.fn = formula, fn

    def __call__(self, x: np.ndarray) -> float:
        return float(self.fn(np.asarray(x, dtype=np.float64)))

    def __repr__(self) -> str:
        return f"f = {self.formula}"


def _bumped(x, index, step) -> np.ndarray:
    out = np.array(x, dtype=np.float64)
    out[index] += step
    return out


def _differences(f, x, eps, forward: float, backward: float, divide: float) -> np.ndarray:
    """(f(x + forward·eps e_i) - f(x - backward·eps e_i)) / (divide·eps) for every entry i."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        grad[i] = (f(_bumped(x, i, forward * eps)) - f(_bumped(x, i, -backward * eps))) / (divide * eps)
    return grad


def _every_entry_at_once(f, x, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    return np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps))


def _whole_rows(f, x, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError("a row of a 1-D x is a single entry")
    grad = np.zeros_like(x)
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _huge_eps(value: float) -> Mistake:
    return Mistake(
        "a huge eps",
        lambda f, x, eps=1e-5: reference_numerical_gradient(f, x, eps=value),
        f"Your differences match a step of {value:g}, not the eps you were given. The error of central "
        "differences grows like eps², so a big step blurs the curvature of f into the gradient; use the "
        "eps argument (1e-5 by default) (§4.6).",
    )


GRADCHECK_MISTAKES = (
    Mistake(
        "forward differences instead of central",
        lambda f, x, eps=1e-5: _differences(f, x, eps, 1.0, 0.0, 1.0),
        "(f(x + eps) - f(x)) / eps is one-sided: its error shrinks only like eps (here about "
        "eps·f''/2). Step both ways and divide by the full width: "
        "(f(x + eps) - f(x - eps)) / (2·eps), whose error shrinks like eps² (§4.6).",
    ),
    Mistake(
        "backward differences instead of central",
        lambda f, x, eps=1e-5: _differences(f, x, eps, 0.0, 1.0, 1.0),
        "(f(x) - f(x - eps)) / eps is one-sided: its error shrinks only like eps. Use central "
        "differences, (f(x + eps) - f(x - eps)) / (2·eps) (§4.6).",
    ),
    Mistake(
        "forgot the factor 2 in central differences",
        lambda f, x, eps=1e-5: _differences(f, x, eps, 1.0, 1.0, 1.0),
        "x + eps and x - eps are 2·eps apart, so divide by 2·eps: "
        "(f(x + eps) - f(x - eps)) / (2·eps). Dividing by eps doubles every entry (§4.6).",
    ),
    Mistake(
        "ignored the eps argument",
        lambda f, x, eps=1e-5: reference_numerical_gradient(f, x),
        "The caller asked for a different step, but your differences use 1e-5 whatever eps is: use the "
        "eps parameter inside the function (§4.6).",
    ),
    _huge_eps(1e-1),
    _huge_eps(1e-2),
    _huge_eps(1e-3),
    Mistake(
        "bumped every entry at once",
        _every_entry_at_once,
        "f(x + eps) with a scalar eps moves EVERY entry, which measures the slope along the all-ones "
        "direction. Bump one entry at a time: copy x, add eps to entry i only, and loop over every "
        "index (np.ndindex(x.shape)) (§4.6).",
    ),
    Mistake(
        "bumped a whole row at a time",
        _whole_rows,
        "For a 2-D x, range(len(x)) loops over ROWS, and x[i] += eps moves a whole row. Loop over "
        "every entry with np.ndindex(x.shape) (or x.flat) so each entry gets its own partial "
        "derivative (§4.6).",
    ),
    Mistake(
        "returned a flat array, not x's shape",
        lambda f, x, eps=1e-5: reference_numerical_gradient(f, x, eps=eps).ravel(),
        "The gradient has one entry per entry of x, in the same shape: start from np.zeros_like(x) "
        "(or reshape the result to x.shape) (§4.6).",
    ),
)


def _quadratic(rng: np.random.Generator, n: int) -> tuple[Fn, np.ndarray]:
    a, b = rng.uniform(1.0, 4.0, size=n), rng.normal(0, 1, size=n)
    return Fn("sum(a*x**2)/2 + b·x", lambda x: 0.5 * np.sum(a * x**2) + b @ x), rng.normal(0, 2, size=n)


_WAVY = Fn("sum(sin(3x)) + sum(x**3)", lambda x: np.sum(np.sin(3 * x)) + np.sum(x**3))
_CE_RESHIP = Fn("cross_entropy(z, label reship)", lambda z: reference_cross_entropy(z, 1))


def _ce_batch(targets: np.ndarray) -> Fn:
    return Fn(f"cross_entropy(z, targets={targets.tolist()})", lambda z: reference_cross_entropy(z, targets))


def _tanh_weighted(rng: np.random.Generator, shape: tuple[int, ...]) -> Fn:
    w = rng.normal(0, 1, size=shape)
    return Fn("sum(w * tanh(x)) + sum(x**2)", lambda x: np.sum(w * np.tanh(x)) + np.sum(x**2))


def _one_d(rng: np.random.Generator) -> list[Case]:
    return [
        Case((*_quadratic(rng, 4),), "a quadratic in 4 variables"),
        Case((_CE_RESHIP, np.array([3.0, 1.0, 0.0])), "refund/reship/escalate"),
        Case((_WAVY, rng.uniform(-1.5, 1.5, size=5)), "a wiggly function"),
        Case((*_quadratic(rng, int(rng.integers(6, 12))),), "a random quadratic"),
    ]


def _any_shape(rng: np.random.Generator) -> list[Case]:
    batch, classes = int(rng.integers(2, 5)), int(rng.integers(3, 6))
    targets = rng.integers(0, classes, size=batch)
    # the tanh case comes first: a row of cross-entropy logits can be shifted without changing the loss,
    # so bumping a whole row (or every entry) gives zeros there and the two mistakes look alike
    return [
        Case((_tanh_weighted(rng, (3, 4)), rng.normal(0, 1, size=(3, 4))), "x of shape (3, 4)"),
        Case(
            (_ce_batch(np.array([1, 0, 0])), np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]])),
            "a (3, 3) batch of logits",
        ),
        Case((_ce_batch(targets), rng.normal(0, 2, size=(batch, classes))), f"a random ({batch}, {classes}) batch"),
        Case((_tanh_weighted(rng, (2, 3, 2)), rng.normal(0, 1, size=(2, 3, 2))), "x of shape (2, 3, 2)"),
    ]


def _eps_argument(rng: np.random.Generator) -> list[Case]:
    return [
        Case((_WAVY, rng.uniform(-1.5, 1.5, size=4)), "eps = 1e-3", {"eps": 1e-3}),
        Case((_WAVY, rng.uniform(-1.5, 1.5, size=3)), "eps = 0.1", {"eps": 0.1}),
        Case((_CE_RESHIP, np.array([3.0, 1.0, 0.0])), "eps = 0.5", {"eps": 0.5}),
        Case((_tanh_weighted(rng, (3, 2)), rng.normal(0, 1, size=(3, 2))), "eps = 1e-4, x of shape (3, 2)", {"eps": 1e-4}),
    ]


numerical_gradient = Exercise(
    "numerical_gradient",
    reference_numerical_gradient,
    {"1-D x": _one_d, "any shape": _any_shape, "eps argument": _eps_argument},
    GRADCHECK_MISTAKES,
    rtol=1e-7,
    atol=1e-10,
    in_place_hint=(
        "x changed in place. Bumping x[i] in place is fine only if you put the exact old value back: "
        "save old = x[i], set x[i] = old + eps, then x[i] = old - eps, and finally x[i] = old (adding "
        "and subtracting eps again can leave rounding behind). Simpler: bump a copy, x.copy() (§4.6)."
    ),
)


# -- mastery check ----------------------------------------------------------------------------------

quiz = Quiz(
    "04-gradient",
    [
        Question(
            "q1",
            "Logits [3, 1, 0] (refund, reship, escalate), label reship, p ≈ [0.844, 0.114, 0.042]. "
            "What is ∂L/∂z for the reship logit?",
            [
                Option("a", "-0.886", "Right: p_reship - 1 = 0.114 - 1 = -0.886."),
                Option("b", "0.114", "That is p_reship alone; the label's entry of p - y also subtracts 1."),
                Option("c", "-1", "That would be the gradient if the model gave reship probability 0."),
            ],
            "a",
        ),
        Question(
            "q2",
            "One step of gradient descent, z ← z - lr·(p - y). What happens to the logits?",
            [
                Option(
                    "a", "Every logit goes up",
                    "Only the label's entry of p - y is negative; every other logit has a positive gradient and goes down.",
                ),
                Option(
                    "b", "The label's logit goes up; every other logit goes down in proportion to its probability",
                    "Right: -(p - y) is +(1 - p_y) at the label and -p_k elsewhere, so the favourite wrong class is pushed down hardest.",
                ),
                Option(
                    "c", "Only the label's logit changes",
                    "Every class with p_k > 0 gets a gradient p_k, so every wrong logit is pushed down a little.",
                ),
            ],
            "b",
        ),
        Question(
            "q3",
            "What do the V entries of p - y for one row add up to?",
            [
                Option("a", "1", "p sums to 1 and so does the one-hot y, so their difference sums to 0."),
                Option("b", "0", "Right: Σp = 1 and Σy = 1. The push up at the label exactly balances the pushes down."),
                Option("c", "It depends on the logits", "Whatever the logits, Σp = 1 = Σy, so the sum is always 0."),
            ],
            "b",
        ),
        Question(
            "q4",
            "The loss is the mean over a batch of B = 32 rows. What is the gradient for row i?",
            [
                Option("a", "p_i - y_i", "That is the gradient of the SUM of the losses, 32 times too large."),
                Option("b", "(p_i - y_i) / 32", "Right: each row contributes 1/B of the mean, so its gradient is divided by B."),
                Option("c", "(p_i - y_i) / V", "The mean runs over the B rows, not over the V classes."),
            ],
            "b",
        ),
        Question(
            "q5",
            "Why check a gradient with central differences (f(x+ε) - f(x-ε)) / 2ε rather than forward ones?",
            [
                Option("a", "Central differences are faster", "They cost two evaluations of f per entry, forward ones only one (plus f(x))."),
                Option(
                    "b", "Their error shrinks like ε² instead of ε",
                    "Right: the ε·f''/2 terms cancel between the two sides, so each factor 10 in ε buys two digits instead of one.",
                ),
                Option("c", "Forward differences have the wrong sign", "They have the right sign; they are only less accurate."),
            ],
            "b",
        ),
        Question(
            "q6",
            "Why not make ε as small as possible, say 1e-15?",
            [
                Option(
                    "a", "f(x+ε) and f(x-ε) become nearly equal and their rounding errors dominate",
                    "Right: float64 carries about 16 digits, so the difference of two nearly equal losses is mostly rounding error, then divided by a tiny 2ε.",
                ),
                Option("b", "It would be slower", "The cost does not depend on ε; the accuracy does."),
                Option("c", "Nothing goes wrong: smaller is always more accurate", "Only until rounding takes over: for a loss near 2 in float64, below about ε = 1e-7."),
            ],
            "a",
        ),
        Question(
            "q7",
            "A model puts p ≈ 0.9993 on a wrong class. Why does cross-entropy still learn fast, where squared error on probabilities stalls?",
            [
                Option(
                    "a", "Cross-entropy's gradient p - y stays near ±1, while squared error is multiplied by the flat softmax slope",
                    "Right: with logits [8, 0, 0] the cross-entropy gradient on the label is -0.9997; squared error gives only -0.0007.",
                ),
                Option("b", "Squared error has the wrong sign there", "Its sign is right; its size is the problem: the softmax is saturated."),
                Option("c", "Cross-entropy uses a larger learning rate", "The learning rate is the same; the gradients differ by a factor of about 1,500."),
            ],
            "a",
        ),
    ],
)
