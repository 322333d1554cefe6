"""The gradient: p - y."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.gradient import GradientExplorer
from ..gradcheck import numerical_gradient
from ..losses import cross_entropy_grad
from ..quiz import Question, Quiz

# -- cross_entropy_grad -----------------------------------------------------------------------------


def _row(rng, size, scale=3.0, shift=0.0, dtype=np.float64):
    """A (V,) row of logits around ``shift`` and a random int target."""
    return (rng.normal(shift, scale, size=size).astype(dtype), int(rng.integers(0, size)))


def _batch(rng, rows, classes, dtype=np.float64):
    """A (B, V) batch of logits and its (B,) targets."""
    return rng.normal(0, 2, size=(rows, classes)).astype(dtype), rng.integers(0, classes, size=rows)


def _single_row(rng):
    return [
        Case((np.array([3.0, 1.0, 0.0]), 1), "refund/reship/escalate, label reship"),
        Case((np.array([8.0, 0.0, 0.0]), 1), "confidently wrong, label reship"),
        Case((np.array([2.0, 1.0, 0.5, -1.0]), 0), "the cat example, target 'mat'"),
        Case((np.zeros(2), 1), "two equal logits"),
        Case((np.linspace(-3.0, 3.0, 25), 24), "25 evenly spaced logits, label the largest"),
        Case(_row(rng, int(rng.integers(5, 40))), "random row"),
        Case(_row(rng, 7, dtype=np.float32), "random float32 row"),
    ]


def _batch_mean(rng):
    # the square batch comes first: only there does a transposed one-hot broadcast without an error
    return [
        Case((np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]]), np.array([1, 0, 0])), "a batch of 3 rows"),
        Case(_batch(rng, int(rng.integers(4, 8)), int(rng.integers(9, 15))), "random batch, B < V"),
        Case(_batch(rng, 6, 4), "random (6, 4) batch, B > V"),
        Case(_batch(rng, 5, 7, np.float32), "random (5, 7) float32 batch"),
        Case((rng.normal(0, 2, size=(2, 5)), np.array([4, 4], dtype=np.int32)), "int32 targets, both 4"),
        Case((np.zeros((7, 2)), np.array([0, 1, 1, 0, 1, 0, 0])), "seven rows of equal logits"),
        Case((5.0 * np.eye(4), np.array([3, 2, 1, 0])), "a (4, 4) batch, each label off its row's favourite"),
    ]


def _huge(rng):
    # beyond exp's range (709 in float64, 88.7 in float32), or rows so far apart that one max for the
    # whole batch underflows a row: only a max shift per row stays finite
    return [
        Case((np.array([1000.0, 998.0, 997.0]), 1), "[1000, 998, 997], label 1"),
        Case((np.array([[1000.0, 998.0, 997.0], [3.0, 1.0, 0.0]]), np.array([1, 1])), "two rows about 1000 apart"),
        Case((np.array([[-1000.0, -1002.0, -1003.0], [0.0, 800.0, 0.0]]), np.array([2, 0])), "rows near -1000 and 800"),
        Case((np.array([100.0, 90.0, 80.0], dtype=np.float32), 2), "float32 logits above 88.7"),
        Case((np.array([[710.0, 0.0], [-710.0, 0.0]]), np.array([1, 0])), "rows of ±710, just past exp's range"),
        Case(_row(rng, 12, scale=300.0, shift=2000.0), "random row around 2000, spread 300"),
    ]


ROWS, BATCHES = ("single row", "huge logits"), ("batch mean", "huge logits")
# p = softmax(logits) of every row, shifted by the row's own max, as most wrong answers below start
PROBS = "e = np.exp(logits - logits.max(axis=-1, keepdims=True))\nprobs = e / e.sum(axis=-1, keepdims=True)\n"
ONEHOT = "onehot = np.eye(logits.shape[-1])[targets]\n"
ROWS_COUNT = "rows = 1 if logits.ndim == 1 else len(logits)\n"

GRAD = Exercise(
    "cross_entropy_grad(logits, targets)",
    cross_entropy_grad,
    {
        "single row": Part("cross_entropy_grad of a single row is p - y.", _single_row, points=2),
        "batch mean": Part("cross_entropy_grad of a batch divides p - y by the batch size.", _batch_mean, points=2),
        "huge logits": Part("cross_entropy_grad stays finite and exact for huge logits.", _huge),
    },
    [
        Mistake("softmax without the max shift",
                "e = np.exp(logits)\nprobs = e / e.sum(axis=-1, keepdims=True)\n" + ONEHOT + ROWS_COUNT
                + "return (probs - onehot) / rows",
                "exp of a logit above about 709 (88.7 in float32) is inf, and inf / inf = nan. Subtract each "
                "row's max before np.exp: softmax does not change, and the largest exponent is e^0 = 1 (§4.5).",
                ("huge logits",)),
        Mistake("one global max for the whole batch",
                "e = np.exp(logits - logits.max())\nprobs = e / e.sum(axis=-1, keepdims=True)\n" + ONEHOT
                + ROWS_COUNT + "return (probs - onehot) / rows",
                "logits - logits.max() shifts every row by the largest logit of the BATCH; a row far below it has "
                "every exp underflow to 0, and 0 / 0 = nan. Shift each row by its own max: "
                "logits.max(axis=-1, keepdims=True) (§4.5).",
                ("huge logits",)),
        Mistake("sign flipped (y - p instead of p - y)", PROBS + ONEHOT + ROWS_COUNT + "return (onehot - probs) / rows",
                "The gradient of the loss is p - y: positive for the wrong classes, negative (p_y - 1) for the "
                "label. y - p points downhill; gradient descent subtracts the gradient itself (§4.2)."),
        Mistake("logits used in place of probabilities (z - y)", ONEHOT + ROWS_COUNT + "return (logits - onehot) / rows",
                "The derivative of logsumexp(z) is softmax(z), so the gradient is softmax(z) - y: turn the "
                "logits into probabilities before subtracting the one-hot target (§4.1)."),
        Mistake("the one-hot target was never subtracted", PROBS + ROWS_COUNT + "return probs / rows",
                "softmax(z) alone is the gradient of logsumexp(z); the loss is logsumexp(z) - z_y, and the "
                "-z_y term subtracts 1 at the label: p - y (§4.1)."),
        Mistake("forgot the 1/B of the batch mean", PROBS + ONEHOT + "return probs - onehot",
                "The batch loss is the MEAN of B row losses, so each row's gradient is (p - y) / B. Without "
                "the 1/B you have the gradient of the sum, B times too large (§4.4).",
                BATCHES),
        # on a single row B·V is V, so this explanation also names the next mistake
        Mistake("divided by the number of classes V", PROBS + ONEHOT + "return (probs - onehot) / logits.shape[-1]",
                "The mean runs over the B rows (examples), not over the V classes, nor over all B·V entries "
                "(divided by B·V instead of B): divide by B = logits.shape[0] for a batch, and not at all for "
                "a single row, a mean over one row (§4.4)."),
        Mistake("divided by B·V instead of B", PROBS + ONEHOT + "return (probs - onehot) / probs.size",
                "np.mean over a (B, V) array divides by every entry, B·V; the loss is a mean over the B rows "
                "only, so divide the (B, V) gradient p - y by B (§4.4)."),
        Mistake("one-hot on the wrong axis",
                PROBS + "if logits.ndim == 1:\n    return probs - np.eye(len(logits))[targets]\n"
                "onehot = np.zeros_like(probs)\n"
                "onehot[targets, np.arange(len(targets))] = 1.0  # (class, row): transposed\n"
                "return (probs - onehot) / len(logits)",
                "Your one-hot target is transposed: row i must have its 1 in column targets[i], shape (B, V) "
                "like the logits. Build it with np.eye(V)[targets] or onehot[np.arange(B), targets] = 1 (§4.4).",
                BATCHES),
        Mistake("softmax over the batch axis",
                "e = np.exp(logits - logits.max(axis=0, keepdims=True))\nprobs = e / e.sum(axis=0, keepdims=True)\n"
                + ONEHOT + ROWS_COUNT + "return (probs - onehot) / rows",
                "Each row of a (B, V) batch is one distribution over the V classes: normalise along the last "
                "axis with keepdims=True, not over the batch (axis 0) (§4.4).",
                BATCHES),
        Mistake("an extra batch axis",
                "logits = np.atleast_2d(logits)  # (1, V) for a single row\n" + PROBS + ONEHOT
                + "return (probs - onehot) / len(logits)",
                "A single row of shape (V,) with an int target has a gradient of shape (V,), like its logits; "
                "do not return a (1, V) array (§4.5).",
                ROWS),
    ],
)

# -- numerical_gradient -----------------------------------------------------------------------------


class Formula:
    """A test function ``f(x) -> float`` that prints as its formula, so a message says what was differentiated."""

    def __init__(self, text, fn):
        self.text, self.fn = text, fn

    def __call__(self, x):
        return float(self.fn(np.asarray(x, dtype=np.float64)))

    def __repr__(self):
        return f"f = {self.text}"


def _mean_cross_entropy(targets):
    """Mean over rows of logsumexp(z) - z_y, in plain NumPy (cheap enough to call thousands of times)."""
    targets = np.asarray(targets)
    labels = (*np.indices(targets.shape), targets)  # the index of each row's label logit

    def loss(z):  # z: (..., V)
        m = z.max(axis=-1, keepdims=True)
        return (np.log(np.exp(z - m).sum(axis=-1)) + m[..., 0] - z[labels]).mean()

    return Formula(f"cross_entropy(z, targets={targets.tolist()})", loss)


def _quadratic(rng, size):
    a, b = rng.uniform(1.0, 4.0, size=size), rng.normal(0, 1, size=size)
    return Formula("sum(a*x**2)/2 + b·x", lambda x: 0.5 * (a * x * x).sum() + b @ x), rng.normal(0, 2, size=size)


def _tanh_weighted(rng, shape):
    w = rng.normal(0, 1, size=shape)
    return Formula("sum(w*tanh(x)) + sum(x**2)", lambda x: (w * np.tanh(x)).sum() + (x * x).sum()), rng.normal(0, 1, size=shape)


WAVY = Formula("sum(sin(3x)) + sum(x**3)", lambda x: np.sin(3 * x).sum() + (x * x * x).sum())
RESHIP = _mean_cross_entropy(1)
TICKETS = np.array([3.0, 1.0, 0.0])


def _one_d(rng):
    return [
        Case(_quadratic(rng, 4), "a quadratic in 4 variables"),
        Case((RESHIP, TICKETS), "refund/reship/escalate"),
        Case((WAVY, rng.uniform(-1.5, 1.5, size=5)), "a wiggly function"),
        Case(_quadratic(rng, int(rng.integers(5, 9))), "a random quadratic"),
    ]


def _any_shape(rng):
    rows, classes = int(rng.integers(2, 4)), int(rng.integers(3, 5))
    # the tanh case comes first: a row of cross-entropy logits can be shifted without changing the loss,
    # so bumping a whole row (or every entry) gives zeros there and those two mistakes look alike
    return [
        Case(_tanh_weighted(rng, (3, 4)), "x of shape (3, 4)"),
        Case((_mean_cross_entropy(np.array([1, 0, 0])), np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]])),
             "a (3, 3) batch of logits"),
        Case((_mean_cross_entropy(rng.integers(0, classes, size=rows)), rng.normal(0, 2, size=(rows, classes))),
             f"a random ({rows}, {classes}) batch"),
        Case(_tanh_weighted(rng, (2, 3, 2)), "x of shape (2, 3, 2)"),
    ]


def _eps_argument(rng):
    return [
        Case((WAVY, rng.uniform(-1.5, 1.5, size=4)), "eps = 1e-3", {"eps": 1e-3}),
        Case((WAVY, rng.uniform(-1.5, 1.5, size=3)), "eps = 0.1", {"eps": 0.1}),
        Case((RESHIP, TICKETS), "eps = 0.5", {"eps": 0.5}),
        Case(_tanh_weighted(rng, (3, 2)), "eps = 1e-4, x of shape (3, 2)", {"eps": 1e-4}),
    ]


def _rounding(case):
    """How far two correct central differences with the same eps may differ: rounding over eps.

    Every correct answer uses the caller's eps, so the truncation error eps²·f'''/6 is the reference's
    too and cancels in the comparison. What may differ is rounding: f(x ± eps·e_i) carries an error of
    a few ulps of |f|, and a bumped entry that lands one ulp of |x| elsewhere moves f by about
    |df/dx|·ulp(x), which the check's factor (1 + |expected|) covers. Dividing the difference of the
    two evaluations by 2·eps magnifies both, hence u·(1 + |f(x)| + max|x|) / eps, with u the unit
    roundoff of x's dtype and a safety factor of 16.
    """
    f, x = case.args
    u = np.finfo(x.dtype).eps
    return float(16 * u * (1.0 + abs(f(x)) + np.abs(x).max()) / case.kwargs.get("eps", 1e-5))


CENTRAL = "(f(x + eps) - f(x - eps)) / (2·eps)"


def _loop(*body, over="np.ndindex(x.shape)"):
    """A learner's loop over the entries of x; ``body`` is the lines that set grad[i]."""
    return "\n".join(["grad = np.zeros_like(x)", f"for i in {over}:", *("    " + line for line in body), "return grad"])


def _central(step="eps", width="(2 * eps)"):
    """The lines of central differences with a step ``step``, divided by ``width``."""
    return ("up, down = x.copy(), x.copy()", f"up[i] += {step}", f"down[i] -= {step}",
            f"grad[i] = (f(up) - f(down)) / {width}")


def _huge_eps(step):
    return Mistake(
        f"a huge eps of {step:g}",
        f"h = {step!r}  # a 'safe' step, not the one we were given\n" + _loop(*_central("h", "(2 * h)")),
        f"Your differences match a step of {step:g}, not the eps you were given. The error of central "
        "differences grows like eps², so a big step blurs the curvature of f into the gradient; use the "
        "eps argument (1e-5 by default) (§4.6).",
    )


SHAPED = ("any shape", "eps argument")
NOT_RESTORED = "x not restored after bumping"

NUMERICAL = Exercise(
    "numerical_gradient(f, x, eps=1e-5)",
    numerical_gradient,
    {
        "1-D x": Part("numerical_gradient of a function of a vector matches central differences.", _one_d, points=2),
        "any shape": Part("numerical_gradient differentiates every entry of a matrix or a 3-D array.", _any_shape, points=2),
        "eps argument": Part("numerical_gradient uses the eps it is given.", _eps_argument),
    },
    [
        Mistake("forward differences instead of central", _loop("up = x.copy()", "up[i] += eps", "grad[i] = (f(up) - f(x)) / eps"),
                "(f(x + eps) - f(x)) / eps is one-sided: its error shrinks only like eps (here about "
                f"eps·f''/2). Step both ways and divide by the full width: {CENTRAL}, whose error shrinks "
                "like eps² (§4.6)."),
        Mistake("backward differences instead of central", _loop("down = x.copy()", "down[i] -= eps", "grad[i] = (f(x) - f(down)) / eps"),
                f"(f(x) - f(x - eps)) / eps is one-sided: its error shrinks only like eps. Use central "
                f"differences, {CENTRAL} (§4.6)."),
        Mistake("forgot the factor 2 in central differences", _loop(*_central(width="eps")),
                f"x + eps and x - eps are 2·eps apart, so divide by 2·eps: {CENTRAL}. Dividing by eps "
                "doubles every entry (§4.6)."),
        Mistake("ignored the eps argument", _loop(*_central("1e-5", "(2 * 1e-5)")),
                "The caller asked for a different step, but your differences use 1e-5 whatever eps is: use the "
                "eps parameter inside the function (§4.6).",
                ("eps argument",)),
        _huge_eps(0.1),
        _huge_eps(0.01),
        _huge_eps(0.001),
        Mistake("bumped every entry at once", "return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))",
                "f(x + eps) with a scalar eps moves EVERY entry, which measures the slope along the all-ones "
                "direction. Bump one entry at a time: copy x, add eps to entry i only, and loop over every "
                "index (np.ndindex(x.shape)) (§4.6)."),
        Mistake("bumped a whole row at a time", _loop(*_central(), over="range(len(x))"),
                "For a 2-D x, range(len(x)) loops over ROWS, and x[i] += eps moves a whole row. Loop over "
                "every entry with np.ndindex(x.shape) (or x.flat) so each entry gets its own partial "
                "derivative (§4.6).",
                SHAPED),
        Mistake("returned a flat array, not x's shape",
                """
                grad = []  # one entry per index, in order
                for i in np.ndindex(x.shape):
                    up, down = x.copy(), x.copy()
                    up[i] += eps
                    down[i] -= eps
                    grad.append((f(up) - f(down)) / (2 * eps))
                return np.array(grad)
                """,
                "The gradient has one entry per entry of x, in the same shape: start from np.zeros_like(x) "
                "(or reshape the result to x.shape) (§4.6).",
                SHAPED),
        Mistake(NOT_RESTORED,
                """
                grad = np.zeros_like(x)
                for i in np.ndindex(x.shape):
                    x[i] += eps
                    up = f(x)
                    x[i] -= 2 * eps
                    down = f(x)
                    grad[i] = (up - down) / (2 * eps)
                return grad
                """,
                "x is the caller's array: put every bumped entry back (§4.6)."),
    ],
    tolerance=_rounding,
    in_place_hint=(
        f"{NOT_RESTORED} in place. Bumping x[i] in place is fine only if you put the exact old value back: "
        "save old = x[i], set x[i] = old + eps, then x[i] = old - eps, and finally x[i] = old (adding "
        "and subtracting eps again can leave rounding behind). Simpler: bump a copy, x.copy() (§4.6)."
    ),
)

# -- mastery check ----------------------------------------------------------------------------------

QUIZ = Quiz([
    Question("Logits [3, 1, 0] (refund, reship, escalate), label reship, p ≈ [0.844, 0.114, 0.042]. "
             "What is ∂L/∂z for the reship logit?",
             ("-0.886", "p_reship - 1 = 0.114 - 1 = -0.886."),
             [("0.114", "That is p_reship alone; the label's entry of p - y also subtracts 1."),
              ("-1", "That would be the gradient if the model gave reship probability 0.")]),
    Question("One step of gradient descent, z ← z - lr·(p - y). What happens to the logits?",
             ("The label's logit goes up; every other logit goes down in proportion to its probability",
              "-(p - y) is +(1 - p_y) at the label and -p_k elsewhere, so the favourite wrong class is pushed "
              "down hardest."),
             [("Every logit goes up",
               "Only the label's entry of p - y is negative; every other logit has a positive gradient and goes down."),
              ("Only the label's logit changes",
               "Every class with p_k > 0 gets a gradient p_k, so every wrong logit is pushed down a little.")]),
    Question("What do the V entries of p - y for one row add up to?",
             ("0", "Σp = 1 and Σy = 1: the push up at the label exactly balances the pushes down."),
             [("1", "p sums to 1 and so does the one-hot y, so their difference sums to 0."),
              ("It depends on the logits", "Whatever the logits, Σp = 1 = Σy, so the sum is always 0.")]),
    Question("The loss is the mean over a batch of B = 32 rows. What is the gradient for row i?",
             ("(p_i - y_i) / 32", "Each row contributes 1/B of the mean, so its gradient is divided by B."),
             [("p_i - y_i", "That is the gradient of the SUM of the losses, 32 times too large."),
              ("(p_i - y_i) / V", "The mean runs over the B rows, not over the V classes.")],
             level="intermediate"),
    Question("Why check a gradient with central differences (f(x+ε) - f(x-ε)) / 2ε rather than forward ones?",
             ("Their error shrinks like ε² instead of ε",
              "The ε·f''/2 terms cancel between the two sides, so each factor 10 in ε buys two digits instead of one."),
             [("Central differences are faster", "They cost two evaluations of f per entry, forward ones only one (plus f(x))."),
              ("Forward differences have the wrong sign", "They have the right sign; they are only less accurate.")],
             level="intermediate"),
    Question("Why not make ε as small as possible, say 1e-15?",
             ("f(x+ε) and f(x-ε) become nearly equal and their rounding errors dominate",
              "float64 carries about 16 digits, so the difference of two nearly equal losses is mostly rounding "
              "error, then divided by a tiny 2ε."),
             [("It would be slower", "The cost does not depend on ε; the accuracy does."),
              ("Nothing goes wrong: smaller is always more accurate",
               "Only until rounding takes over: for a loss near 2 in float64, below about ε = 1e-7.")],
             level="advanced"),
    Question("A model puts p ≈ 0.9993 on a wrong class. Why does cross-entropy still learn fast, where squared "
             "error on probabilities stalls?",
             ("Cross-entropy's gradient p - y stays near ±1, while squared error is multiplied by the flat softmax slope",
              "With logits [8, 0, 0] the cross-entropy gradient on the label is -0.9997; squared error gives only -0.0007."),
             [("Squared error has the wrong sign there", "Its sign is right; its size is the problem: the softmax is saturated."),
              ("Cross-entropy uses a larger learning rate",
               "The learning rate is the same; the gradients differ by a factor of about 1,500."),
              ("Squared error's gradient is exactly 0 there",
               "It is tiny, about -0.0007 on the label, but not 0: the softmax slope p(1 - p) is small and positive.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "04-gradient", "The gradient: p - y", [GRAD, NUMERICAL], QUIZ, GradientExplorer,
    objectives=("derive p - y", "write the batch-mean gradient of cross-entropy",
                "check a gradient with central differences"),
    minutes=50,
)
