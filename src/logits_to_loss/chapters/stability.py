"""Numerical stability: a softmax that never overflows, log-sum-exp and log-softmax.

Each exercise has three parts, one per skill:

* ``ordinary logits``: small values, rows and small batches: the formula itself;
* ``large logits``: single rows where exp overflows or underflows unless the shift is the row max
  (rows far above 709.8, far below -745, 720 and 810 wide, or with one logit 1000 above the rest,
  so that a shift by the sum, the mean or the min overflows too);
* ``batched rows far apart``: rows from -1000 to 1000 (no shift overflows, ONE global max for the
  batch underflows the lower rows) and rows 800 and 1000 wide (a per-row mean or min shift overflows).

A learner's result is named after the first catalogued mistake whose output it matches, and an inf in
a mistake's output matches any number there. So the formula mistakes (finite outputs) come first and
the shifts after them, mean first; the large part opens with rows that only one shift breaks:
[360, -360] (min), [400, 398, 397] (sum), [1000, 998, 997] (none), and the batched part with rows
around +400 and -400 that break one global max and the sum but not an unshifted exp.
"""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.stability import StabilityExplorer
from ..mistakes import EXTRA_BATCH_AXIS, WRONG_AXIS
from ..normalisation import log_softmax, logsumexp, softmax
from ..quiz import Question, Quiz

ORDINARY, LARGE, BATCHED = "ordinary logits", "large logits", "batched rows far apart"
UNSTABLE = (LARGE, BATCHED)  # what a recipe that is right on paper but overflows fails
ROWS = (ORDINARY, BATCHED)  # the parts with batches, where an axis mistake shows
ONE_D = (ORDINARY, LARGE)  # the parts with single rows


# -- cases ------------------------------------------------------------------------------------------


def _one_far_above(rng, size, gap, dtype=np.float64):
    """A row of ``size`` logits near -gap/2, one of them ``gap`` higher: max - mean is gap·(size-1)/size."""
    row = rng.normal(-gap / 2, 2.0, size=size)
    row[rng.integers(size)] += gap
    return row.astype(dtype)


def _split(rng, size, gap):
    """A row whose halves lie near +gap/2 and -gap/2: max - min is about gap, max - mean about gap/2."""
    return rng.permutation(rng.normal(0.0, 2.0, size=size) + np.resize([gap / 2, -gap / 2], size))


def _far_apart(rng, rows, classes, spread, dtype=np.float64):
    """``rows`` rows of ordinary logits, their offsets spread evenly over [-spread, spread], shuffled."""
    offsets = rng.permutation(np.linspace(-spread, spread, rows))
    return (rng.normal(0.0, 2.0, size=(rows, classes)) + offsets[:, None]).astype(dtype)


def _ordinary(rng):
    """Small logits, where every recipe that is right on paper is right in floating point too."""
    return [
        Case((np.array([3.0, 1.0, 0.0]),), "refund/reship/escalate [3, 1, 0]"),
        Case((np.array([2.0, 1.0, 0.5, -1.0]),), "the cat example"),
        Case((np.zeros(4),), "four equal logits"),
        Case((rng.normal(0.0, 3.0, size=int(rng.integers(2, 40))),), "random row"),
        Case((rng.normal(0.0, 3.0, size=7).astype(np.float32),), "random float32 row"),
        Case((np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [0.5, 0.5, 0.5]]),), "a batch of 3 ordinary rows"),
        Case((rng.normal(0.0, 2.0, size=(4, 6)),), "random (4, 6) batch"),
    ]


def _large(rng):
    """Single rows where exp(z - c) overflows or underflows unless c is the row max."""
    return [
        Case((np.array([360.0, -360.0]),), "[360, -360]: the max is 720 above the min, 360 above the mean"),
        Case((np.array([400.0, 398.0, 397.0]),), "[400, 398, 397]: the max is 795 below their sum"),
        Case((np.array([1000.0, 998.0, 997.0]),), "[3, 1, 0] shifted to [1000, 998, 997]"),
        Case((np.array([10.0, -800.0]),), "[10, -800]: a row 810 wide, e^-810 underflows to 0"),
        Case((_one_far_above(rng, 8, 1000.0),), "random row of 8, one logit 1000 above the rest"),
        Case((_one_far_above(rng, 6, 200.0, np.float32),), "random float32 row of 6, one logit 200 above the rest"),
        Case((np.array([-1000.0, -1002.0, -1003.0]),), "all logits near -1000"),
        Case((np.array([100.0, 90.0, -30.0], dtype=np.float32),), "float32 logits above 88.7"),
        Case((rng.normal(2000.0, 300.0, size=12),), "random row around 2000, spread 300"),
        Case((rng.normal(-5000.0, 3.0, size=9),), "random row around -5000"),
    ]


def _batched(rng):
    """Rows far apart (one max per row, not one per batch) and rows far wider than exp's range."""
    btv = _far_apart(rng, 6, 5, 1000.0).reshape(2, 3, 5)
    wide = np.stack([rng.normal(0.0, 2.0, size=8), _split(rng, 8, 800.0), _one_far_above(rng, 8, 1000.0)])
    return [
        Case((np.array([[400.0, 398.0, 397.0], [3.0, 1.0, 0.0], [-400.0, -402.0, -403.0]]),),
             "rows around +400, 0 and -400"),
        Case((np.array([[1000.0, 998.0, 997.0], [3.0, 1.0, 0.0], [-1000.0, -1002.0, -1003.0]]),),
             "rows around +1000, 0 and -1000"),
        Case((_far_apart(rng, 3, 3, 1000.0),), "square (3, 3) batch, rows around 1000, 0, -1000"),
        Case((_far_apart(rng, 5, int(rng.integers(4, 12)), 1000.0),), "random batch, rows from -1000 to 1000"),
        Case((_far_apart(rng, 4, 6, 60.0, np.float32),), "float32 batch, rows from -60 to 60"),
        Case((btv,), "a (B, T, V) batch, positions from -1000 to 1000"),
        Case((_far_apart(rng, 4, 5, 1000.0).T.copy(),), "axis=0 on a (V, B) array, columns from -1000 to 1000",
             {"axis": 0}),
        Case((np.moveaxis(btv, -1, 1).copy(),), "axis=1 on a (B, V, T) array", {"axis": 1}),
        Case((wide,), "rows 800 wide and with one logit 1000 above the rest"),
    ]


PARTS = {
    ORDINARY: ("matches the reference on ordinary logits.", _ordinary),
    LARGE: ("stays finite and exact for logits where exp overflows or underflows.", _large),
    BATCHED: ("shifts every row of a batch by its own max.", _batched),
}


def _parts(name):
    return {part: Part(f"{name} {text}", cases) for part, (text, cases) in PARTS.items()}


# -- stable_softmax ---------------------------------------------------------------------------------

STABLE_SOFTMAX = Exercise(
    "stable_softmax(logits, axis=-1)",
    softmax,
    _parts("stable_softmax"),
    [
        Mistake(
            "row maxima broadcast along the wrong axis",
            """
            e = np.exp(logits - logits.max(axis=axis))
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "`logits.max(axis=-1)` drops the axis, so a (B, V) array minus the (B,) maxima subtracts row "
            "j's max from column j, which is not one constant per row and changes the distribution. Keep "
            "the axis: `logits.max(axis=axis, keepdims=True)` (§2.6).",
            ROWS,
        ),
        Mistake(
            "row sums broadcast along the wrong axis",
            """
            e = np.exp(logits - logits.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis)
            """,
            "`e.sum(axis=axis)` drops the axis, so dividing a (B, V) array by the (B,) sums lines them up "
            "with the columns; keep it with `keepdims=True` (§2.6).",
            ROWS,
        ),
        Mistake(
            "normalised over the whole batch",
            """
            e = np.exp(logits - logits.max(axis=axis, keepdims=True))
            return e / e.sum()
            """,
            "`e.sum()` adds up every entry of the batch, so the whole array sums to 1 instead of each row; "
            "use `e.sum(axis=axis, keepdims=True)` (§2.6).",
            ROWS,
        ),
        Mistake(
            "not normalised",
            "return np.exp(logits - logits.max(axis=axis, keepdims=True))",
            "These are the shifted exponentials e^(z - m), the largest equal to 1: divide them by their "
            "sum along `axis` (§2.5).",
        ),
        # the shifts, whose inf outputs would match any later mistake (see the module docstring)
        Mistake(
            "shifted by the mean instead of the max",
            """
            e = np.exp(logits - logits.mean(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "Any constant cancels on paper (§2.4), but only the max makes the largest exponent e^0 = 1: "
            "a logit more than 709.8 (88.7 in float32) above the mean overflows to inf, and inf / inf = "
            "nan. Subtract the row max (§2.5).",
            UNSTABLE,
        ),
        Mistake(
            "shifted by the min instead of the max",
            """
            e = np.exp(logits - logits.min(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "After subtracting the min every exponent is at least e^0 = 1, so a row wider than 709.8 "
            "(88.7 in float32) overflows to inf and inf / inf = nan. Subtract the row max, which puts "
            "every exponent in (0, 1] (§2.5).",
            UNSTABLE,
        ),
        Mistake(
            "no max shift",
            """
            e = np.exp(logits)
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "e^z overflows to inf once z passes 709.8 (88.7 in float32), and inf / inf = nan; far below 0 "
            "every e^z underflows to 0 and 0 / 0 = nan. Subtract the row max first, "
            "`np.exp(logits - logits.max(axis=axis, keepdims=True))`, so the largest exponent is e^0 = 1 "
            "(§2.3, §2.5).",
            UNSTABLE,
        ),
        Mistake(
            "one global max for the whole batch",
            """
            e = np.exp(logits - logits.max())
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "`logits.max()` without an axis is ONE number for the whole array: in a row far below the "
            "batch's largest logit every e^(z - m) underflows to 0, and 0 / 0 = nan. Take one max per row, "
            "`logits.max(axis=axis, keepdims=True)` (§2.6).",
            (BATCHED,),
        ),
        Mistake(
            "shifted by the sum instead of the max",
            """
            e = np.exp(logits - logits.sum(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "Any constant cancels on paper (§2.4), but only the max makes the largest exponent e^0 = 1 "
            "and keeps every other one in (0, 1]: z - sum(z) can push all exponents below -745 "
            "(0 / 0 = nan) or one above 709 (inf / inf = nan). Subtract the row max (§2.5).",
            UNSTABLE,
        ),
    ],
    shared=[WRONG_AXIS.on(*ROWS), EXTRA_BATCH_AXIS.on(*ONE_D)],
)

# -- logsumexp --------------------------------------------------------------------------------------

LOGSUMEXP = Exercise(
    "logsumexp(logits, axis=-1)",
    logsumexp,
    _parts("logsumexp"),
    [
        Mistake(
            "the max not added back",
            """
            m = logits.max(axis=axis, keepdims=True)
            return np.log(np.exp(logits - m).sum(axis=axis))
            """,
            "log(sum(exp(z - m))) is logsumexp(z) - m: the shift has to be undone. Return "
            "m + log(sum(exp(z - m))) (§2.8).",
        ),
        Mistake(
            "the max subtracted instead of added back",
            """
            m = logits.max(axis=axis, keepdims=True)
            return np.log(np.exp(logits - m).sum(axis=axis)) - m.squeeze(axis)
            """,
            "From e^z = e^m · e^(z - m): logsumexp(z) = m + log(sum(exp(z - m))), with a PLUS (§2.8).",
        ),
        Mistake(
            "row maxima broadcast along the wrong axis",
            """
            m = logits.max(axis=axis)
            return m + np.log(np.exp(logits - m).sum(axis=axis))
            """,
            "`logits.max(axis=axis)` drops the axis, so `logits - m` subtracts row j's max from column j. "
            "Subtract the maxima with `keepdims=True`, and drop the axis only in the result (§2.8).",
            ROWS,
        ),
        Mistake(
            "the reduced axis kept",
            """
            m = logits.max(axis=axis, keepdims=True)
            return m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))
            """,
            "logsumexp reduces `axis` away, like np.sum: (V,) gives a number, (B, V) gives (B,). Keep the "
            "axis while you compute (`keepdims=True`), then drop it, e.g. with np.squeeze(out, axis=axis) "
            "(§2.8).",
        ),
        Mistake(
            "log base 10 instead of the natural log",
            """
            m = logits.max(axis=axis, keepdims=True)
            return np.squeeze(m + np.log10(np.exp(logits - m).sum(axis=axis, keepdims=True)), axis=axis)
            """,
            "Log-sum-exp undoes e^z, so its log is the natural one, np.log; np.log10 is not the inverse "
            "of np.exp (§2.8).",
        ),
        Mistake(
            "log base 2 instead of the natural log",
            """
            m = logits.max(axis=axis, keepdims=True)
            return m.squeeze(axis) + np.log2(np.exp(logits - m).sum(axis=axis))
            """,
            "Log-sum-exp undoes e^z, so its log is the natural one, np.log; np.log2 is not the inverse "
            "of np.exp (§2.8).",
        ),
        Mistake(
            "averaged the exponentials instead of summing them",
            """
            m = logits.max(axis=axis, keepdims=True)
            return m.squeeze(axis) + np.log(np.mean(np.exp(logits - m), axis=axis))
            """,
            "np.mean divides by the number of logits V, so the result is short by log V: it is log SUM "
            "exp (§2.8).",
        ),
        # the shifts, whose inf outputs would match any later mistake (see the module docstring)
        Mistake(
            "shifted by the mean instead of the max",
            """
            c = logits.mean(axis=axis, keepdims=True)
            return np.squeeze(c + np.log(np.exp(logits - c).sum(axis=axis, keepdims=True)), axis=axis)
            """,
            "c + log(sum(exp(z - c))) is exact for any c on paper, but only c = max z keeps every term "
            "at most e^0 = 1: a logit more than 709.8 (88.7 in float32) above the mean overflows to inf. "
            "Use the row max (§2.8).",
            UNSTABLE,
        ),
        Mistake(
            "shifted by the min instead of the max",
            """
            c = logits.min(axis=axis, keepdims=True)
            return np.squeeze(c + np.log(np.exp(logits - c).sum(axis=axis, keepdims=True)), axis=axis)
            """,
            "With c = min z every term e^(z - c) is at least 1, so a row wider than 709.8 (88.7 in "
            "float32) overflows to inf. Use the row max, which keeps every term in (0, 1] (§2.8).",
            UNSTABLE,
        ),
        Mistake(
            "log-sum-exp without the max shift",
            "return np.log(np.exp(logits).sum(axis=axis))",
            "`np.log(np.exp(z).sum())` overflows to inf once a logit passes 709.8 (88.7 in float32) and "
            "gives log(0) = -inf when every logit is far below 0. Shift by the row max m and add it back: "
            "m + log(sum(exp(z - m))) (§2.8).",
            UNSTABLE,
        ),
        Mistake(
            "one global max for the whole batch",
            """
            m = logits.max()
            return m + np.log(np.exp(logits - m).sum(axis=axis))
            """,
            "`logits.max()` without an axis is ONE number for the whole array: in a row far below it every "
            "e^(z - m) underflows to 0 and log(0) = -inf. Take one max per row, "
            "`logits.max(axis=axis, keepdims=True)` (§2.6, §2.8).",
            (BATCHED,),
        ),
        Mistake(
            "shifted by the sum instead of the max",
            """
            s = logits.sum(axis=axis)
            return s + np.log(np.exp(logits - np.expand_dims(s, axis)).sum(axis=axis))
            """,
            "c + log(sum(exp(z - c))) is exact for any c on paper, but only c = max z keeps the largest "
            "term e^0 = 1: with c = sum(z) every term can underflow (log 0 = -inf) or overflow. Use the "
            "row max (§2.8).",
            UNSTABLE,
        ),
    ],
    shared=[WRONG_AXIS.on(*ROWS)],  # an extra batch axis on a row gives what "the reduced axis kept" gives
)

# -- log_softmax ------------------------------------------------------------------------------------

LOG_SOFTMAX = Exercise(
    "log_softmax(logits, axis=-1)",
    log_softmax,
    _parts("log_softmax"),
    [
        Mistake(
            "the max not added back",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return logits - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "log p = z - logsumexp(z) and logsumexp(z) = m + log(sum(exp(z - m))): you subtracted only the "
            "log(sum) part from z. Subtract it from z - m instead (§2.9).",
        ),
        Mistake(
            "the max subtracted twice",
            """
            m = logits.max(axis=axis, keepdims=True)
            lse = m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))
            return (logits - m) - lse
            """,
            "(z - m) - logsumexp(z) removes m twice: subtract log(sum(exp(z - m))) from z - m, or the full "
            "logsumexp(z) = m + log(sum(exp(z - m))) from z itself (§2.9).",
        ),
        Mistake(
            "row maxima broadcast along the wrong axis",
            """
            shifted = logits - logits.max(axis=axis)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "`logits.max(axis=axis)` drops the axis, so `logits - m` subtracts row j's max from column j; "
            "keep it with `keepdims=True` (§2.6).",
            ROWS,
        ),
        Mistake(
            "row log-sums broadcast along the wrong axis",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=axis))
            """,
            "`np.exp(z).sum(axis=axis)` drops the axis, so its log is subtracted from the columns instead of "
            "the rows; keep it with `keepdims=True` (§2.9).",
            ROWS,
        ),
        Mistake(
            "log base 10 instead of the natural log",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return shifted - np.log10(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "log p = (z - m) - ln(sum(exp(z - m))): the log must undo e^z, so it is np.log, not np.log10 "
            "(§2.9).",
        ),
        Mistake(
            "log base 2 instead of the natural log",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return shifted - np.log2(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "log p = (z - m) - ln(sum(exp(z - m))): the log must undo e^z, so it is np.log, not np.log2 "
            "(§2.9).",
        ),
        Mistake(
            "log10 of the probabilities",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return (shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))) / np.log(10)
            """,
            "log_softmax is the NATURAL log of softmax (in nats, like every loss in this course); "
            "np.log10 gives values ln 10 ≈ 2.303 times too small (§2.9).",
        ),
        Mistake(
            "probabilities instead of log-probabilities",
            """
            e = np.exp(logits - logits.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
            """,
            "These are the probabilities p themselves; log_softmax returns log p, which is ≤ 0 (§2.9).",
        ),
        Mistake(
            "sign flipped (-log p instead of log p)",
            """
            shifted = logits - logits.max(axis=axis, keepdims=True)
            return np.log(np.exp(shifted).sum(axis=axis, keepdims=True)) - shifted
            """,
            "log p is ≤ 0: log_softmax returns z - logsumexp(z), not its negative (that is the surprise "
            "-log p of the loss in the next chapter) (§2.9).",
        ),
        # the shifts, whose inf outputs would match any later mistake (see the module docstring)
        Mistake(
            "shifted by the mean instead of the max",
            """
            shifted = logits - logits.mean(axis=axis, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "Any constant cancels on paper (§2.4), but only the max keeps every e^(z - c) at most 1: a "
            "logit more than 709.8 (88.7 in float32) above the mean overflows to inf and log p becomes "
            "-inf. Shift by the row max (§2.9).",
            UNSTABLE,
        ),
        Mistake(
            "log of a softmax that underflowed",
            """
            e = np.exp(logits - logits.max(axis=axis, keepdims=True))
            return np.log(e / e.sum(axis=axis, keepdims=True))
            """,
            "The max shift keeps softmax finite, but a probability below about 1e-308 (1e-45 in float32) "
            "still rounds to 0 and log(0) = -inf, although log p is a perfectly ordinary number. Never "
            "form p: compute (z - m) - log(sum(exp(z - m))) (§2.9).",
            UNSTABLE,
        ),
        Mistake(
            "shifted by the min instead of the max",
            """
            shifted = logits - logits.min(axis=axis, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "After subtracting the min every e^(z - c) is at least 1, so a row wider than 709.8 (88.7 "
            "in float32) overflows to inf and log p becomes -inf. Shift by the row max (§2.9).",
            UNSTABLE,
        ),
        Mistake(
            "log of a softmax without the max shift",
            """
            e = np.exp(logits)
            return np.log(e / e.sum(axis=axis, keepdims=True))
            """,
            "exp of huge logits is inf and inf / inf = nan, so its log is nan too. Compute log p directly "
            "as (z - m) - log(sum(exp(z - m))) with m the row max (§2.3, §2.9).",
            UNSTABLE,
        ),
        Mistake(
            "log-sum-exp without the max shift",
            "return logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))",
            "z - log(sum(exp(z))) is right on paper, but exp(z) overflows to inf above 709.8 (88.7 in "
            "float32) and underflows to 0 far below 0, giving -inf or +inf. Shift by the row max m first: "
            "(z - m) - log(sum(exp(z - m))) (§2.8, §2.9).",
            UNSTABLE,
        ),
        Mistake(
            "one global max for the whole batch",
            """
            shifted = logits - logits.max()
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "`logits.max()` without an axis is ONE number for the whole array: in a row far below it every "
            "e^(z - m) underflows to 0 and log(0) = -inf. Take one max per row, "
            "`logits.max(axis=axis, keepdims=True)` (§2.6, §2.9).",
            (BATCHED,),
        ),
        Mistake(
            "shifted by the sum instead of the max",
            """
            shifted = logits - logits.sum(axis=axis, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            """,
            "Any constant cancels on paper (§2.4), but only the max keeps the largest e^(z - c) at 1: "
            "with c = sum(z) every term can underflow (log 0 = -inf) or one overflow. Shift by the row "
            "max (§2.9).",
            UNSTABLE,
        ),
    ],
    shared=[WRONG_AXIS.on(*ROWS), EXTRA_BATCH_AXIS.on(*ONE_D)],
)

# -- mastery check ----------------------------------------------------------------------------------

QUIZ = Quiz([
    Question("Above which input does np.exp overflow to inf in float32?",
             ("about 88.7", "ln(3.4e38) ≈ 88.72, the log of float32's largest number (§2.1)."),
             [("about 11.1", "That is float16's limit: ln 65504 ≈ 11.09."),
              ("about 709.8", "That is float64's limit; float32 runs out much earlier.")]),
    Question("exp(z) / exp(z).sum() on the float64 logits [1000, 998, 997] returns…",
             ("[nan, nan, nan]", "Every e^z overflows to inf, and inf / inf = nan (§2.3)."),
             [("[0.844, 0.114, 0.042]", "That is the right distribution, but only the max-shifted recipe finds it."),
              ("[1, 0, 0]", "Nothing is finite to compare: e^1000, e^998 and e^997 are all inf in float64.")]),
    Question("Why may we subtract the max logit before exponentiating?",
             ("softmax(z + c) = softmax(z) for any constant c",
              "e^(z + c) = e^c · e^z, and e^c cancels between each term and the sum (§2.4)."),
             [("It is an approximation that is good enough in float32",
               "It is exact: the e^c factor cancels algebraically, for any c."),
              ("Because the largest logit's probability is 1",
               "The largest EXPONENT becomes e^0 = 1; its probability is 1 / sum, less than 1 whenever V > 1.")]),
    Question("A float64 batch holds the rows [400, 398, 397] and [-400, -402, -403]. You subtract ONE max for "
             "the whole batch (400). The second row's softmax becomes…",
             ("[nan, nan, nan]", "Every e^(z - 400) underflows to 0, and 0 / 0 = nan. Take one max per row (§2.6)."),
             [("[0.844, 0.114, 0.042], as it should", "Its shifted logits are about -800: e^-800 underflows to 0."),
              ("[0, 0, 0]", "Each e^(z - 400) is 0, but 0 / 0 is not 0: it is nan."),
              ("[1, 0, 0]", "The sum is 0, so there is no largest share left: 0 / 0 = nan.")],
             level="intermediate"),
    Question("logsumexp([3, 1, 0]) is…",
             ("about 3.17", "3 + log(1 + e^-2 + e^-3) = 3.170, between the max and max + log V (§2.8)."),
             [("3, the max", "It is a SMOOTH max: always a little above the max, here by log(1 + e^-2 + e^-3) ≈ 0.17."),
              ("4, the sum", "It is log of the sum of the EXPONENTIALS, log(e^3 + e^1 + e^0) ≈ 3.17.")],
             level="intermediate"),
    Question("np.log(softmax(z)) for the float64 logits [10, -800] gives, in its second entry…",
             ("-inf", "p = e^-810 underflows to 0 and log(0) = -inf. Compute log p as z - logsumexp(z) (§2.9)."),
             [("-810", "That is the true log p, which log_softmax returns; softmax first rounds p = e^-810 to 0."),
              ("nan", "The max shift keeps softmax itself finite: p is exactly 0, and log(0) is -inf, not nan.")],
             level="advanced"),
    Question("A model runs in bfloat16. Why compute its loss in float32?",
             ("bf16 keeps only 8 significant bits",
              "Its spacing near 1 is 2^-7 = 0.0078, so a running sum of 1s stalls at 256, and the losses 10.0 and "
              "9.99 round to the same bf16 number (§2.2)."),
             [("exp overflows much earlier in bf16",
               "bf16 keeps float32's 8-bit exponent: its largest number is about 3.4e38, so exp overflows just "
               "above 88.7 in both."),
              ("float32 is faster on GPUs", "Not the reason: bf16 is the faster one. It is about precision.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "02-stability", "Numerical stability: a softmax that never overflows", [STABLE_SOFTMAX, LOGSUMEXP, LOG_SOFTMAX],
    QUIZ, StabilityExplorer,
    objectives=("find where exp overflows in each dtype", "prove and use shift invariance",
                "write a stable softmax, log-sum-exp and log-softmax"),
    minutes=60,
)
