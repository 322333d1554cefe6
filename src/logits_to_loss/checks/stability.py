"""Checks for chapter 2 (``02-stability``): ``stable_softmax``, ``logsumexp``, ``log_softmax`` and the quiz.

Each exercise has three parts, one per skill, so a learner gets partial credit:

* ``ordinary logits`` — small values, single rows and small batches: the formula itself;
* ``large logits`` — single rows where ``exp`` overflows or underflows: the max shift;
* ``batched rows far apart`` — rows (and an ``axis=0`` column layout) hundreds of units apart,
  all within ``exp``'s range, so a recipe without any shift still passes but ONE global max for
  the whole batch makes the lower rows underflow to 0/0: one max per row.

The mistake functions below compute what a known wrong answer returns, so a learner's output can be
fingerprinted. They run on the checker's side and may use the reference library freely. Order
matters where two mistakes give the same output on a case (e.g. all NaN): the first one is named.
"""

from __future__ import annotations

import numpy as np

from ..checker import Case, Exercise, Mistake
from ..quiz import Option, Question, Quiz
from ..softmax import log_softmax as reference_log_softmax
from ..softmax import logsumexp as reference_logsumexp
from ..softmax import naive_softmax
from ..softmax import softmax as reference_softmax


def _float(logits) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64)


def _other_axis(logits, axis: int) -> int:
    """The axis a learner reduces over when they ignore ``axis``: 0 for the default, -1 otherwise."""
    return 0 if axis in (-1, np.ndim(logits) - 1) else -1


# -- what each mistake returns: stable_softmax --------------------------------------------------------


def _softmax_global_max(logits, axis=-1):
    e = np.exp(logits - np.max(logits))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_sum_shift(logits, axis=-1):
    e = np.exp(logits - logits.sum(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_max_no_keepdims(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis))  # (B, V) - (B,) lines the maxima up with the columns
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_sum_no_keepdims(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis)


def _softmax_whole_batch(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum()


def _softmax_not_normalised(logits, axis=-1):
    return np.exp(logits - logits.max(axis=axis, keepdims=True))


SOFTMAX_MISTAKES = (
    Mistake(
        "no max shift",
        naive_softmax,
        "e^z overflows to inf once z passes 709.8 (88.7 in float32), and inf / inf = nan; far below 0 "
        "every e^z underflows to 0 and 0 / 0 = nan. Subtract the row max first, "
        "`np.exp(logits - logits.max(axis=axis, keepdims=True))`, so the largest exponent is e^0 = 1 "
        "(§2.3, §2.5).",
    ),
    Mistake(
        "one global max for the whole batch",
        _softmax_global_max,
        "`logits.max()` without an axis is ONE number for the whole array: in a row far below the "
        "batch's largest logit every e^(z - m) underflows to 0, and 0 / 0 = nan. Take one max per row, "
        "`logits.max(axis=axis, keepdims=True)` (§2.6).",
    ),
    Mistake(
        "shifted by the sum instead of the max",
        _softmax_sum_shift,
        "Any constant cancels in exact arithmetic (§2.4), but only the max makes the largest exponent "
        "e^0 = 1 and keeps every other one in (0, 1]: z - sum(z) can push all exponents below -745 "
        "(0 / 0 = nan) or one above 709 (inf / inf = nan). Subtract the row max (§2.5).",
    ),
    Mistake(
        "row maxima broadcast along the wrong axis",
        _softmax_max_no_keepdims,
        "`logits.max(axis=-1)` drops the axis, so a (B, V) array minus the (B,) maxima subtracts row "
        "j's max from column j, which is not one constant per row and changes the distribution. Keep "
        "the axis: `logits.max(axis=axis, keepdims=True)` (§2.6).",
    ),
    Mistake(
        "normalised along the wrong axis",
        lambda logits, axis=-1: reference_softmax(logits, axis=_other_axis(logits, axis)),
        "Each distribution lies along `axis`: take the max and the sum along the `axis` you are given "
        "(the last one by default), not along a fixed one (§2.7).",
    ),
    Mistake(
        "row sums broadcast along the wrong axis",
        _softmax_sum_no_keepdims,
        "`e.sum(axis=axis)` drops the axis, so dividing a (B, V) array by the (B,) sums lines them up "
        "with the columns; keep it with `keepdims=True` (§2.6).",
    ),
    Mistake(
        "normalised over the whole batch",
        _softmax_whole_batch,
        "`e.sum()` adds up every entry of the batch, so the whole array sums to 1 instead of each row; "
        "use `e.sum(axis=axis, keepdims=True)` (§2.6).",
    ),
    Mistake(
        "not normalised",
        _softmax_not_normalised,
        "These are the shifted exponentials e^(z - m), the largest equal to 1: divide them by their "
        "sum along `axis` (§2.5).",
    ),
    Mistake(
        "an extra batch axis",
        lambda logits, axis=-1: reference_softmax(np.atleast_2d(logits), axis=axis),
        "A 1-D input of shape (V,) must give shape (V,), not (1, V): avoid np.atleast_2d / reshape "
        "(§2.7).",
    ),
)


# -- what each mistake returns: logsumexp -------------------------------------------------------------


def _lse_parts(logits, axis):
    """``(m, s)`` with ``m`` the max along ``axis`` (kept) and ``s = sum exp(z - m)`` (kept)."""
    m = logits.max(axis=axis, keepdims=True)
    return m, np.exp(logits - m).sum(axis=axis, keepdims=True)


def _squeeze(x, axis):
    return np.squeeze(x, axis=axis)


def _lse_no_shift(logits, axis=-1):
    return np.log(np.exp(logits).sum(axis=axis))


def _lse_global_max(logits, axis=-1):
    m = np.max(logits)
    return m + np.log(np.exp(logits - m).sum(axis=axis))


def _lse_sum_shift(logits, axis=-1):
    s = logits.sum(axis=axis, keepdims=True)
    return _squeeze(s + np.log(np.exp(logits - s).sum(axis=axis, keepdims=True)), axis)


def _lse_no_add_back(logits, axis=-1):
    _, s = _lse_parts(logits, axis)
    return _squeeze(np.log(s), axis)


def _lse_minus_m(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return _squeeze(np.log(s) - m, axis)


def _lse_max_no_keepdims(logits, axis=-1):
    m = logits.max(axis=axis)
    return m + np.log(np.exp(logits - m).sum(axis=axis))


def _lse_log10(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return _squeeze(m + np.log10(s), axis)


def _lse_log2(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return _squeeze(m + np.log2(s), axis)


def _lse_mean(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return _squeeze(m + np.log(np.exp(logits - m).mean(axis=axis, keepdims=True)), axis)


LOGSUMEXP_MISTAKES = (
    Mistake(
        "log-sum-exp without the max shift",
        _lse_no_shift,
        "`np.log(np.exp(z).sum())` overflows to inf once a logit passes 709.8 (88.7 in float32) and "
        "gives log(0) = -inf when every logit is far below 0. Shift by the row max m and add it back: "
        "m + log(sum(exp(z - m))) (§2.8).",
    ),
    Mistake(
        "one global max for the whole batch",
        _lse_global_max,
        "`logits.max()` without an axis is ONE number for the whole array: in a row far below it every "
        "e^(z - m) underflows to 0 and log(0) = -inf. Take one max per row, "
        "`logits.max(axis=axis, keepdims=True)` (§2.6, §2.8).",
    ),
    Mistake(
        "shifted by the sum instead of the max",
        _lse_sum_shift,
        "c + log(sum(exp(z - c))) is exact for any c on paper, but only c = max z keeps the largest "
        "term e^0 = 1: with c = sum(z) every term can underflow (log 0 = -inf) or overflow. Use the "
        "row max (§2.8).",
    ),
    Mistake(
        "the max not added back",
        _lse_no_add_back,
        "log(sum(exp(z - m))) is logsumexp(z) - m: the shift has to be undone. Return "
        "m + log(sum(exp(z - m))) (§2.8).",
    ),
    Mistake(
        "the max subtracted instead of added back",
        _lse_minus_m,
        "From e^z = e^m · e^(z - m): logsumexp(z) = m + log(sum(exp(z - m))), with a PLUS (§2.8).",
    ),
    Mistake(
        "row maxima broadcast along the wrong axis",
        _lse_max_no_keepdims,
        "`logits.max(axis=axis)` drops the axis, so `logits - m` subtracts row j's max from column j. "
        "Subtract the maxima with `keepdims=True`, and drop the axis only in the result (§2.8).",
    ),
    Mistake(
        "reduced along the wrong axis",
        lambda logits, axis=-1: reference_logsumexp(logits, axis=_other_axis(logits, axis)),
        "Reduce along the `axis` you are given (the last one by default): one log-sum-exp per "
        "distribution (§2.8).",
    ),
    Mistake(
        "the reduced axis kept",
        lambda logits, axis=-1: reference_logsumexp(logits, axis=axis, keepdims=True),
        "logsumexp reduces `axis` away, like np.sum: (V,) gives a number, (B, V) gives (B,). Keep the "
        "axis while you compute (`keepdims=True`), then drop it, e.g. with np.squeeze(out, axis=axis) "
        "(§2.8).",
    ),
    Mistake(
        "log base 10 instead of the natural log",
        _lse_log10,
        "Log-sum-exp undoes e^z, so its log is the natural one, np.log; np.log10 is not the inverse "
        "of np.exp (§2.8).",
    ),
    Mistake(
        "log base 2 instead of the natural log",
        _lse_log2,
        "Log-sum-exp undoes e^z, so its log is the natural one, np.log; np.log2 is not the inverse "
        "of np.exp (§2.8).",
    ),
    Mistake(
        "averaged the exponentials instead of summing them",
        _lse_mean,
        "np.mean divides by the number of logits V, so the result is short by log V: it is log SUM "
        "exp (§2.8).",
    ),
)


# -- what each mistake returns: log_softmax -----------------------------------------------------------


def _log_of_softmax(logits, axis=-1):
    return np.log(reference_softmax(_float(logits), axis=axis))


def _log_of_naive_softmax(logits, axis=-1):
    return np.log(naive_softmax(_float(logits), axis=axis))


def _logsm_lse_no_shift(logits, axis=-1):
    return logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))


def _logsm_global_max(logits, axis=-1):
    z = logits - np.max(logits)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _logsm_no_add_back(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return logits - np.log(s)


def _logsm_twice(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return (logits - m) - (m + np.log(s))


def _logsm_max_no_keepdims(logits, axis=-1):
    z = logits - logits.max(axis=axis)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _logsm_sum_no_keepdims(logits, axis=-1):
    z = logits - logits.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis))


def _logsm_log10(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return (logits - m) - np.log10(s)


def _logsm_log2(logits, axis=-1):
    m, s = _lse_parts(logits, axis)
    return (logits - m) - np.log2(s)


LOG_SOFTMAX_MISTAKES = (
    Mistake(
        "log of a softmax that underflowed",
        _log_of_softmax,
        "The max shift keeps softmax finite, but a probability below about 1e-308 (1e-45 in float32) "
        "still rounds to 0 and log(0) = -inf, although log p is a perfectly ordinary number. Never "
        "form p: compute (z - m) - log(sum(exp(z - m))) (§2.9).",
    ),
    Mistake(
        "log of a softmax without the max shift",
        _log_of_naive_softmax,
        "exp of huge logits is inf and inf / inf = nan, so its log is nan too. Compute log p directly "
        "as (z - m) - log(sum(exp(z - m))) with m the row max (§2.3, §2.9).",
    ),
    Mistake(
        "log-sum-exp without the max shift",
        _logsm_lse_no_shift,
        "z - log(sum(exp(z))) is right on paper, but exp(z) overflows to inf above 709.8 (88.7 in "
        "float32) and underflows to 0 far below 0, giving -inf or +inf. Shift by the row max m first: "
        "(z - m) - log(sum(exp(z - m))) (§2.8, §2.9).",
    ),
    Mistake(
        "one global max for the whole batch",
        _logsm_global_max,
        "`logits.max()` without an axis is ONE number for the whole array: in a row far below it every "
        "e^(z - m) underflows to 0 and log(0) = -inf. Take one max per row, "
        "`logits.max(axis=axis, keepdims=True)` (§2.6, §2.9).",
    ),
    Mistake(
        "the max not added back",
        _logsm_no_add_back,
        "log p = z - logsumexp(z) and logsumexp(z) = m + log(sum(exp(z - m))): you subtracted only the "
        "log(sum) part from z. Subtract it from z - m instead (§2.9).",
    ),
    Mistake(
        "the max subtracted twice",
        _logsm_twice,
        "(z - m) - logsumexp(z) removes m twice: subtract log(sum(exp(z - m))) from z - m, or the full "
        "logsumexp(z) = m + log(sum(exp(z - m))) from z itself (§2.9).",
    ),
    Mistake(
        "row maxima broadcast along the wrong axis",
        _logsm_max_no_keepdims,
        "`logits.max(axis=axis)` drops the axis, so `logits - m` subtracts row j's max from column j; "
        "keep it with `keepdims=True` (§2.6).",
    ),
    Mistake(
        "row log-sums broadcast along the wrong axis",
        _logsm_sum_no_keepdims,
        "`np.exp(z).sum(axis=axis)` drops the axis, so its log is subtracted from the columns instead of "
        "the rows; keep it with `keepdims=True` (§2.9).",
    ),
    Mistake(
        "normalised along the wrong axis",
        lambda logits, axis=-1: reference_log_softmax(logits, axis=_other_axis(logits, axis)),
        "Each distribution lies along `axis`: take the max and the log-sum-exp along the `axis` you are "
        "given (the last one by default) (§2.9).",
    ),
    Mistake(
        "log base 10 instead of the natural log",
        _logsm_log10,
        "log p = (z - m) - ln(sum(exp(z - m))): the log must undo e^z, so it is np.log, not np.log10 "
        "(§2.9).",
    ),
    Mistake(
        "log base 2 instead of the natural log",
        _logsm_log2,
        "log p = (z - m) - ln(sum(exp(z - m))): the log must undo e^z, so it is np.log, not np.log2 "
        "(§2.9).",
    ),
    Mistake(
        "log10 of the probabilities",
        lambda logits, axis=-1: reference_log_softmax(logits, axis=axis) / np.log(10),
        "log_softmax is the NATURAL log of softmax (in nats, like every loss in this course); "
        "np.log10 gives values ln 10 ≈ 2.303 times too small (§2.9).",
    ),
    Mistake(
        "probabilities instead of log-probabilities",
        lambda logits, axis=-1: reference_softmax(logits, axis=axis),
        "These are the probabilities p themselves; log_softmax returns log p, which is ≤ 0 "
        "(§2.9).",
    ),
    Mistake(
        "sign flipped (-log p instead of log p)",
        lambda logits, axis=-1: -reference_log_softmax(logits, axis=axis),
        "log p is ≤ 0: log_softmax returns z - logsumexp(z), not its negative (that is the surprise "
        "-log p of the loss, chapter 3) (§2.9).",
    ),
)


# -- cases --------------------------------------------------------------------------------------------


def _random_row(rng: np.random.Generator, size: int, scale: float = 3.0, shift: float = 0.0, dtype=np.float64):
    return ((rng.normal(0, scale, size=size)) + shift).astype(dtype)


def _ordinary(rng: np.random.Generator) -> list[Case]:
    """Small logits, where every recipe that is right on paper is right in floating point too."""
    return [
        Case((np.array([3.0, 1.0, 0.0]),), "refund/reship/escalate [3, 1, 0]"),
        Case((np.array([2.0, 1.0, 0.5, -1.0]),), "the cat example"),
        Case((np.zeros(4),), "four equal logits"),
        Case((_random_row(rng, int(rng.integers(2, 40))),), "random row"),
        Case((_random_row(rng, 7, dtype=np.float32),), "random float32 row"),
        Case((np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [0.5, 0.5, 0.5]]),), "a batch of 3 ordinary rows"),
        Case((rng.normal(0, 2, size=(4, 6)),), "random (4, 6) batch"),
    ]


_WORKED = Case((np.array([1000.0, 998.0, 997.0]),), "[3, 1, 0] shifted to [1000, 998, 997]")
_SPREAD = Case((np.array([10.0, -800.0]),), "[10, -800]: a row 810 wide, e^-810 underflows to 0")


def _large(rng: np.random.Generator) -> list[Case]:
    """Single rows where exp(z) overflows or underflows (without a shift, or with the wrong one)."""
    return [
        Case((np.array([-1000.0, -1002.0, -1003.0]),), "all logits near -1000"),
        Case((np.array([100.0, 90.0, -30.0], dtype=np.float32),), "float32 logits above 88.7"),
        Case((_random_row(rng, 12, scale=300.0, shift=2000.0),), "random row around 2000, spread 300"),
        Case((_random_row(rng, 9, shift=-5000.0),), "random row around -5000"),
    ]


def _large_spread_first(rng: np.random.Generator) -> list[Case]:
    # naive exp is exact on [10, -800] while a sum shift overflows there, so that case comes first:
    # on the all-nan worked figure the two recipes look alike and the first catalogued one is named
    return [_SPREAD, _WORKED, *_large(rng)]


def _large_worked_first(rng: np.random.Generator) -> list[Case]:
    # log(naive softmax) is nan on the worked figure while log(shifted softmax) is finite there, and
    # both are -inf on [10, -800]: the worked figure first names each of them correctly
    return [_WORKED, _SPREAD, *_large(rng)]


def _far_apart(rng: np.random.Generator, rows: int, classes: int, spread: float, dtype=np.float64) -> np.ndarray:
    """``rows`` rows of ordinary logits, their offsets spread evenly over [-spread, spread], shuffled."""
    offsets = rng.permutation(np.linspace(-spread, spread, rows))
    return (rng.normal(0, 2, size=(rows, classes)) + offsets[:, None]).astype(dtype)


def _batched(rng: np.random.Generator) -> list[Case]:
    """Rows hundreds apart but all inside exp's range: only ONE global max for the batch fails here."""
    square = _far_apart(rng, 3, 3, 400.0)
    columns = _far_apart(rng, 4, 5, 400.0).T.copy()  # (V, B): each COLUMN is a distribution
    btv = _far_apart(rng, 6, 5, 400.0).reshape(2, 3, 5)
    return [
        Case((np.array([[400.0, 398.0, 397.0], [-400.0, -402.0, -403.0]]),), "rows around +400 and -400"),
        Case((square,), "square (3, 3) batch, rows around 400, 0, -400"),
        Case((_far_apart(rng, 5, int(rng.integers(4, 12)), 420.0),), "random batch, rows from -420 to 420"),
        Case((_far_apart(rng, 4, 6, 60.0, np.float32),), "float32 batch, rows from -60 to 60"),
        Case((btv,), "a (B, T, V) batch, positions from -400 to 400"),
        Case((columns,), "axis=0 on a (V, B) array, columns from -400 to 400", {"axis": 0}),
        Case((np.moveaxis(btv, -1, 1).copy(),), "axis=1 on a (B, V, T) array", {"axis": 1}),
    ]


stable_softmax = Exercise(
    "stable_softmax",
    reference_softmax,
    {
        "ordinary logits": _ordinary,
        "large logits": _large_spread_first,
        "batched rows far apart": _batched,
    },
    SOFTMAX_MISTAKES,
)

logsumexp = Exercise(
    "logsumexp",
    reference_logsumexp,
    {
        "ordinary logits": _ordinary,
        "large logits": _large_spread_first,
        "batched rows far apart": _batched,
    },
    LOGSUMEXP_MISTAKES,
    rtol=1e-6,
    atol=1e-6,
)


log_softmax = Exercise(
    "log_softmax",
    reference_log_softmax,
    {
        "ordinary logits": _ordinary,
        "large logits": _large_worked_first,
        "batched rows far apart": _batched,
    },
    LOG_SOFTMAX_MISTAKES,
    atol=1e-5,
)


# -- mastery check ------------------------------------------------------------------------------------

quiz = Quiz(
    "02-stability",
    [
        Question(
            "q1",
            "Above which input does np.exp overflow to inf in float32?",
            [
                Option("a", "about 11.1", "That is float16's limit: ln 65504 ≈ 11.09."),
                Option("b", "about 88.7", "Right: ln(3.4e38) ≈ 88.72, the log of float32's largest number."),
                Option("c", "about 709.8", "That is float64's limit; float32 runs out much earlier."),
            ],
            "b",
        ),
        Question(
            "q2",
            "exp(z) / exp(z).sum() on the float64 logits [1000, 998, 997] returns…",
            [
                Option("a", "[0.844, 0.114, 0.042]", "That is the right distribution, but only the max-shifted recipe finds it."),
                Option("b", "[nan, nan, nan]", "Right: every e^z overflows to inf, and inf / inf = nan."),
                Option("c", "[1, 0, 0]", "Nothing is finite to compare: e^1000, e^998 and e^997 are all inf in float64."),
            ],
            "b",
        ),
        Question(
            "q3",
            "Why may we subtract the max logit before exponentiating?",
            [
                Option(
                    "a", "softmax(z + c) = softmax(z) for any constant c",
                    "Right: e^(z + c) = e^c · e^z, and e^c cancels between each term and the sum.",
                ),
                Option(
                    "b", "It is an approximation that is good enough in float32",
                    "It is exact: the e^c factor cancels algebraically, for any c.",
                ),
                Option(
                    "c", "Because the largest logit's probability is 1",
                    "The largest EXPONENT becomes e^0 = 1; its probability is 1 / sum, less than 1 whenever V > 1.",
                ),
            ],
            "a",
        ),
        Question(
            "q4",
            "A float64 batch holds the rows [400, 398, 397] and [-400, -402, -403]. You subtract ONE max for the "
            "whole batch (400). The second row's softmax becomes…",
            [
                Option("a", "[0.844, 0.114, 0.042], as it should", "Its shifted logits are about -800: e^-800 underflows to 0."),
                Option(
                    "b", "[nan, nan, nan]",
                    "Right: every e^(z - 400) underflows to 0, and 0 / 0 = nan. Take one max per row.",
                ),
                Option("c", "[1, 0, 0]", "The sum is 0, so there is no largest share left: 0 / 0 = nan."),
            ],
            "b",
        ),
        Question(
            "q5",
            "np.log(softmax(z)) for the float64 logits [10, -800] gives, in its second entry…",
            [
                Option("a", "-810", "That is the true log p, which log_softmax returns; softmax first rounds p = e^-810 to 0."),
                Option("b", "-inf", "Right: p = e^-810 underflows to 0 and log(0) = -inf. Compute log p as z - logsumexp(z)."),
                Option("c", "nan", "The max shift keeps softmax itself finite: p is exactly 0, and log(0) is -inf, not nan."),
            ],
            "b",
        ),
        Question(
            "q6",
            "logsumexp([3, 1, 0]) is…",
            [
                Option("a", "3, the max", "It is a SMOOTH max: always a little above the max, here by log(1 + e^-2 + e^-3) ≈ 0.17."),
                Option("b", "about 3.17", "Right: 3 + log(1 + e^-2 + e^-3) = 3.170, between the max and max + log V."),
                Option("c", "4, the sum", "It is log of the sum of the EXPONENTIALS, log(e^3 + e^1 + e^0) ≈ 3.17."),
            ],
            "b",
        ),
        Question(
            "q7",
            "A model runs in bfloat16. Why compute its loss in float32?",
            [
                Option(
                    "a", "exp overflows much earlier in bf16",
                    "bf16 keeps float32's 8-bit exponent: its largest number is about 3.4e38, so exp overflows just "
                    "above 88.7 in both.",
                ),
                Option(
                    "b", "bf16 keeps only 8 significant bits",
                    "Right: its spacing near 1 is 2^-7 = 0.0078, so a running sum of 1s stalls at 256, and the losses "
                    "10.0 and 9.99 round to the same bf16 number.",
                ),
                Option("c", "float32 is faster on GPUs", "Not the reason: bf16 is the faster one. It is about precision."),
            ],
            "b",
        ),
    ],
)
