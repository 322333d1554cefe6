"""Temperature and sampling: choosing the next token."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.temperature import TemperatureExplorer
from ..mistakes import EXTRA_BATCH_AXIS
from ..normalisation import softmax
from ..quiz import Question, Quiz
from ..sampling import softmax_with_temperature, top_k_filter, top_p_filter

SUPPORT = np.array([3.0, 1.0, 0.0])  # refund, reship, escalate: the support example of chapters 3 and 4


def _temperature(rng):
    """A temperature clearly away from 1: sharpening (0.3-0.7) or flattening (1.5-3)."""
    return float(rng.uniform(0.3, 0.7) if rng.random() < 0.5 else rng.uniform(1.5, 3.0))


# -- softmax_with_temperature -------------------------------------------------------------------


def _tempered_row(rng):
    return [
        Case((SUPPORT, 0.5), "refund, reship, escalate at T = 0.5"),
        Case((SUPPORT, 2.0), "refund, reship, escalate at T = 2"),
        Case((rng.normal(0, 2, size=int(rng.integers(2, 30))), _temperature(rng)), "random row"),
        Case((rng.normal(0, 2, size=7).astype(np.float32), _temperature(rng)), "random float32 row"),
    ]


def _tempered_batch(rng):
    return [
        Case((rng.normal(0, 2, size=(4, 6)), _temperature(rng)), "random (4, 6) batch"),
        Case((rng.normal(0, 2, size=(2, 3, 5)).astype(np.float32), _temperature(rng)), "a (B, T, V) float32 batch"),
    ]


def _extreme_temperatures(rng):
    logits = rng.normal(0, 3, size=8)
    logits[rng.integers(8)] = rng.uniform(10, 20)  # with T <= 0.01 the top logit / T is beyond exp's range
    return [
        Case((logits, float(rng.uniform(0.005, 0.01))), "T near 0: almost the argmax"),
        Case((rng.normal(0, 3, size=6), 1e4), "T = 10,000: almost uniform"),
    ]


SOFTMAX_WITH_TEMPERATURE = Exercise(
    "softmax_with_temperature(logits, temperature)",
    softmax_with_temperature,
    {
        "1-D": Part("softmax_with_temperature of one row matches softmax(logits / T).", _tempered_row, points=2),
        "batched": Part("softmax_with_temperature normalises every row of a batch separately.", _tempered_batch),
        "extremes": Part("softmax_with_temperature stays finite for T near 0 and tends to uniform for huge T.",
                         _extreme_temperatures),
    },
    [
        Mistake("multiplied by T instead of dividing",
                "z = logits * temperature\ne = np.exp(z - z.max(axis=-1, keepdims=True))\n"
                "return e / e.sum(axis=-1, keepdims=True)",
                "Temperature divides the logits: softmax(z / T). Multiplying swaps the two regimes, so T = 2 "
                "sharpens where it should flatten (§5.1)."),
        Mistake("forgot the temperature",
                "e = np.exp(logits - logits.max(axis=-1, keepdims=True))\nreturn e / e.sum(axis=-1, keepdims=True)",
                "This is the plain softmax: divide the logits by `temperature` before exponentiating (§5.1)."),
        Mistake("p ** (1 / T) not renormalised",
                "e = np.exp(logits - logits.max(axis=-1, keepdims=True))\n"
                "return (e / e.sum(axis=-1, keepdims=True)) ** (1 / temperature)",
                "Raising the probabilities to the power 1/T has the right shape but no longer sums to 1: divide "
                "by the sum, which gives exactly softmax(z / T) (§5.1)."),
        Mistake("exp overflowed at small T (no max shift)",
                "e = np.exp(logits / temperature)\nreturn e / e.sum(axis=-1, keepdims=True)",
                "A small T makes z / T huge, and exp overflows to inf (inf / inf = nan): subtract the row max "
                "of z / T before np.exp, as in chapter 2 (§5.1).", ("extremes",)),
    ],
    shared=[EXTRA_BATCH_AXIS.on("1-D", "extremes")],
)


# -- top_k_filter -------------------------------------------------------------------------------


class Filtered(np.ndarray):
    """A reference filter's answer, already in the form that ``removed_as_nan`` gives a learner's."""


def removed_as_nan(filtered, case):
    """``observe`` for the filters: a removed token (-inf) is compared as nan, a nan as +inf.

    ``checker.close`` accepts any finite number where the answer is -inf (tol * (1 + inf) is inf), so
    a filter that writes 0 for a removed token would pass; nan only ever agrees with nan.
    """
    out = np.asarray(filtered)
    if isinstance(filtered, Filtered) or out.dtype.kind != "f":
        return filtered  # the reference's answer, or a type the checker explains itself
    return np.where(np.isneginf(out), np.nan, np.where(np.isnan(out), np.inf, out))


def _compared(filter_fn):
    """The reference ``filter_fn`` with its answer as ``removed_as_nan`` shows it."""
    def reference(logits, threshold):
        return removed_as_nan(filter_fn(logits, threshold), None).view(Filtered)
    reference.__name__ = reference.__qualname__ = filter_fn.__name__
    return reference



def _distinct(rng, shape, dtype=np.float64, scale=2.0):
    """Logits without ties along the last axis, so "the k largest" is unambiguous."""
    return (np.sort(rng.normal(0, scale, size=shape), axis=-1) + np.arange(shape[-1]) * 0.05)[
        ..., rng.permutation(shape[-1])].astype(dtype)


def _top_k_row(rng):
    vocab = int(rng.integers(3, 20))
    return [
        Case((SUPPORT, 2), "refund, reship, escalate with k = 2"),
        Case((np.array([2.0, 1.0, 0.5, -1.0]), 1), "the cat example with k = 1"),
        Case((_distinct(rng, (vocab,)), int(rng.integers(1, vocab))), "random row"),
        Case((_distinct(rng, (9,), np.float32), int(rng.integers(2, 9))), "random float32 row"),
    ]


def _top_k_batch(rng):
    return [
        Case((_distinct(rng, (4, 7)), int(rng.integers(1, 7))), "random (4, 7) batch"),
        Case((_distinct(rng, (2, 3, 6), np.float32), int(rng.integers(1, 6))), "a (B, T, V) float32 batch"),
    ]


ZEROED = Mistake(
    "removed tokens set to 0 instead of -inf",
    """
    def {name}(*args, **kwargs):
        out = _right(*args, **kwargs)
        return np.where(np.isfinite(out), out, 0.0)
    """,
    "A logit of 0 still gets weight e^0 = 1 in softmax, so a 'removed' token can be drawn: set removed "
    "logits to -np.inf, whose weight e^-inf is exactly 0 (§5.3).",
)

TOP_K_FILTER = Exercise(
    "top_k_filter(logits, k)",
    _compared(top_k_filter),
    {
        "1-D": Part("top_k_filter keeps the k largest logits of a row and sets the rest to -inf.", _top_k_row, points=2),
        "batched": Part("top_k_filter keeps the k largest logits of every row of a batch.", _top_k_batch),
    },
    [
        Mistake("kept k - 1 tokens (> instead of >=)",
                "kth = np.sort(logits, axis=-1)[..., -k, None]\nreturn np.where(logits > kth, logits, -np.inf)",
                "The k-th largest logit belongs to the top k: compare with >= so it stays (§5.3)."),
        Mistake("kept the k smallest (sorted the wrong way)",
                "kth = np.sort(logits, axis=-1)[..., k - 1, None]\nreturn np.where(logits <= kth, logits, -np.inf)",
                "np.sort is ascending, so index k - 1 is the k-th smallest: take index -k and keep the logits "
                ">= it (§5.3)."),
        Mistake("returned only the k largest values",
                "return np.sort(logits, axis=-1)[..., -k:]",
                "The filter returns logits of the same shape (..., V), with -inf where a token is removed, so "
                "each kept logit stays at its token's position (§5.3)."),
        Mistake("one threshold for the whole batch",
                "kth = np.sort(logits, axis=None)[-k]\nreturn np.where(logits >= kth, logits, -np.inf)",
                "Each row is its own distribution: find the k-th largest per row with `axis=-1` (§5.3).",
                ("batched",)),
        ZEROED,
    ],
    shared=[EXTRA_BATCH_AXIS.on("1-D")],
    observe=removed_as_nan,
)


# -- top_p_filter -------------------------------------------------------------------------------


def learner_top_p(sort="-np.sort(-probs, axis=-1)", mass="np.cumsum(sorted_probs, axis=-1) - sorted_probs"):
    """A learner's ``top_p_filter`` (the notebook's solution); a mistake changes its ``sort`` or ``mass`` line."""
    return f"""
def top_p_filter(logits, p):
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    sorted_probs = {sort}
    mass_before = {mass}
    smallest = np.where(mass_before < p, sorted_probs, np.inf).min(axis=-1, keepdims=True)
    return np.where(probs >= smallest, logits, -np.inf)
"""


def _nucleus_p(rng, logits, first=0):
    """A p inside the share of a crossing token (from the ``first``-th most likely on), far from any boundary.

    The crossing token holds at least 0.1% of the mass and is never the last one, so a token is always removed.
    """
    sorted_probs = np.sort(softmax(logits.astype(np.float64)))[::-1]
    before = np.cumsum(sorted_probs) - sorted_probs
    candidates = np.flatnonzero(sorted_probs[:-1] > 1e-3)
    c = int(rng.choice(candidates[candidates >= first]))
    return float(before[c] + rng.uniform(0.2, 0.8) * sorted_probs[c])


UNSORTED = [0.15, 0.5, 0.25, 0.1]  # the top token second, the least likely last: vocabulary order misleads


def _top_p_row(rng):
    vocab = int(rng.integers(4, 12))
    last = _distinct(rng, (vocab,), scale=1.0)
    last[[last.argmax(), -1]] = last[[-1, last.argmax()]]  # the most likely token last: vocabulary order is wrong
    row32 = _distinct(rng, (8,), np.float32)
    return [
        Case((np.log(np.array([0.5, 0.3, 0.2])), 0.6), "probabilities 0.5, 0.3, 0.2 with p = 0.6"),
        Case((SUPPORT, 0.9), "refund, reship, escalate with p = 0.9"),
        Case((np.log(UNSORTED), 0.6), "probabilities 0.15, 0.5, 0.25, 0.1 with p = 0.6"),
        Case((last, _nucleus_p(rng, last, first=1)), "random row, top token last"),
        Case((row32, _nucleus_p(rng, row32)), "random float32 row"),
    ]


def _batch_with_margin(rng, shape, p):
    """Rows whose cumulative masses all stay at least 0.01 away from ``p``."""
    rows = []
    while len(rows) < shape[0]:
        row = _distinct(rng, shape[1:])
        sorted_probs = np.sort(softmax(row))[::-1]
        if np.abs(np.cumsum(sorted_probs) - p).min() > 0.01 and sorted_probs[0] < p:
            rows.append(row)
    return np.stack(rows)


def _top_p_batch(rng):
    p = float(rng.uniform(0.5, 0.9))
    return [
        Case((np.log(np.array([UNSORTED, [0.1, 0.2, 0.3, 0.4]])), 0.6), "two rows of probabilities with p = 0.6"),
        Case((_batch_with_margin(rng, (4, 7), p), p), "random (4, 7) batch"),
    ]


TOP_P_FILTER = Exercise(
    "top_p_filter(logits, p)",
    _compared(top_p_filter),
    {
        "1-D": Part("top_p_filter keeps the smallest set of most likely tokens whose mass reaches p.", _top_p_row,
                    points=2),
        "batched": Part("top_p_filter finds the nucleus of every row of a batch.", _top_p_batch),
    },
    [
        Mistake("dropped the token that crosses p", learner_top_p(mass="np.cumsum(sorted_probs, axis=-1)"),
                "The nucleus is the smallest set whose mass reaches p, so the token that crosses p is in it: "
                "compare the mass *before* each token (cumsum minus the token's own share) with p (§5.5)."),
        Mistake("sorted the wrong way (least likely first)", learner_top_p(sort="np.sort(probs, axis=-1)"),
                "The nucleus collects the most likely tokens first: sort the probabilities in decreasing order "
                "(§5.5)."),
        Mistake("cumulative mass in vocabulary order (not sorted)", learner_top_p(sort="probs"),
                "The mass must be accumulated from the most likely token down, not in the vocabulary's order: "
                "sort first (§5.5)."),
        ZEROED,
    ],
    shared=[EXTRA_BATCH_AXIS.on("1-D")],
    observe=removed_as_nan,
)


# -- sample_next --------------------------------------------------------------------------------

ROWS = 5_000  # draws per fixed case: the bound below is 0.049
FEW_ROWS = 1_000  # draws per random case (only correct samplers need to pass it): the bound is 0.11
FIXED = np.random.default_rng(2020)  # the fixed cases' draws; every call gets a fresh copy of it
LADDER = np.array([1.0, 0.5, 0.0, -0.5, -1.0, -1.5])  # six tokens half a logit apart


class Expected(np.ndarray):
    """The reference's answer, passed through ``observe`` unchanged (the fair test runs the reference as a learner)."""


def expected_frequencies(logits, rng, temperature=1.0, top_p=None):
    """What ``sample_next`` should draw from, rows of ``logits`` being copies of one row: softmax(top-p(z / T))."""
    z = logits[..., 0, :] / temperature  # (V,) one row stands for all
    return softmax(z if top_p is None else top_p_filter(z, top_p)).view(Expected)


def frequencies(draws, case):
    """``observe``: the share of each token among the draws."""
    if isinstance(draws, Expected):
        return draws
    ids, logits = np.asarray(draws), case.args[0]
    if ids.shape != logits.shape[:-1]:
        raise ValueError(f"expected one token id per row, shape {logits.shape[:-1]}, got shape {ids.shape}")
    if ids.dtype.kind not in "iu":
        raise ValueError(f"token ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= logits.shape[-1]):
        raise ValueError(f"token ids must lie in [0, {logits.shape[-1]}), got {ids.min()} to {ids.max()}")
    return np.bincount(ids.ravel(), minlength=logits.shape[-1]) / ids.size


def sampling_bound(case):
    """Seven standard deviations of a frequency at its worst (p = 1/2): 7 * sqrt(1/4 / N) = 3.5 / sqrt(N).

    Hoeffding's inequality bounds a correct sampler's chance of a larger error by 2 exp(-24.5) < 1e-10
    per token, whatever its method; on a fixed case every catalogued mistake is off by more than 0.1.
    """
    return 3.5 / np.sqrt(case.args[0][..., 0].size)


def _rows(logits, n=ROWS, dtype=np.float64):
    return np.tile(np.asarray(logits, dtype=dtype), (n, 1))  # (n, V) one draw per row


def _plain(rng):
    return [
        Case((_rows(SUPPORT), FIXED), f"{ROWS:,} rows of refund, reship, escalate"),
        Case((_rows(LADDER, dtype=np.float32), FIXED), f"{ROWS:,} rows of [1, 0.5, ..., -1.5] in float32"),
    ]


def _tempered(rng):
    return [
        Case((_rows(SUPPORT), FIXED, 0.5), f"{ROWS:,} rows of refund, reship, escalate at T = 0.5"),
        Case((_rows(SUPPORT), FIXED, 2.0), f"{ROWS:,} rows of refund, reship, escalate at T = 2"),
        Case((_rows(LADDER, dtype=np.float32), FIXED, 3.0), f"{ROWS:,} rows of [1, 0.5, ..., -1.5] in float32, T = 3"),
    ]


def _nucleus(rng):
    logits, temperature = rng.uniform(-1, 1, size=int(rng.integers(5, 9))), _temperature(rng)
    return [
        Case((_rows(LADDER), FIXED, 0.4, 0.6), f"{ROWS:,} rows of [1, 0.5, ..., -1.5], T = 0.4, top_p = 0.6"),
        Case((_rows(SUPPORT), FIXED, 2.0, 0.8), f"{ROWS:,} rows of refund, reship, escalate, T = 2, top_p = 0.8"),
        Case((_rows(logits, FEW_ROWS), np.random.default_rng(rng.integers(2**63)), temperature,
              _nucleus_p(rng, logits / temperature)), f"{FEW_ROWS:,} rows of random logits"),
    ]


TEMPERED = ("temperature", "nucleus")  # the parts with T != 1
SAMPLE_NEXT = Exercise(
    "sample_next(logits, rng, temperature=1.0, top_p=None)",
    expected_frequencies,
    {
        "plain": Part("sample_next draws each token about as often as softmax(logits) says.", _plain),
        "temperature": Part("sample_next draws from softmax(logits / T).", _tempered),
        "nucleus": Part("sample_next applies the temperature, then the nucleus, then renormalises.", _nucleus,
                        points=2),
    },
    [
        Mistake("greedy: always the argmax", "return logits.argmax(axis=-1)",
                "Taking the most likely token every time is T -> 0, not sampling: draw each token with its "
                "probability, e.g. with one uniform number per row and the cumulative sum (§5.8)."),
        Mistake("multiplied by T instead of dividing", "return _right(logits * temperature, rng, 1.0, top_p)",
                "The frequencies of your draws follow softmax(z * T): divide the logits by T instead (§5.1).", TEMPERED),
        Mistake("forgot the temperature", "return _right(logits, rng, 1.0, top_p)",
                "The frequencies of your draws follow softmax(z), whatever T is: divide the logits by T first "
                "(§5.1).", TEMPERED),
        Mistake("temperature applied after top-p", learner_top_p() + """
def sample_next(logits, rng, temperature=1.0, top_p=None):
    if top_p is not None:
        logits = top_p_filter(logits, top_p)  # the nucleus of the untempered distribution
    return _right(logits, rng, temperature)
""",
                "The nucleus depends on the temperature: apply T first, then choose the tokens whose mass "
                "reaches top_p, then renormalise (§5.7).", ("nucleus",)),
        Mistake("nucleus not renormalised", learner_top_p() + """
def sample_next(logits, rng, temperature=1.0, top_p=None):
    z = logits / temperature
    probs = np.exp(z - z.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if top_p is not None:
        probs = np.where(np.isfinite(top_p_filter(z, top_p)), probs, 0.0)
    u = rng.random(probs.shape[:-1] + (1,))
    return np.minimum((np.cumsum(probs, axis=-1) <= u).sum(axis=-1), probs.shape[-1] - 1)
""",
                "After the nucleus the kept probabilities sum to less than 1, and the missing mass went to the "
                "last token: divide by their sum (or scale the uniform number by it) before drawing (§5.7).",
                ("nucleus",)),
    ],
    observe=frequencies,
    tolerance=sampling_bound,
    in_place_hint="work on new arrays (`z = logits / temperature`) so the caller's logits stay intact",
)


QUIZ = Quiz([
    Question("Logits [3, 1, 0] at temperature T = 2: which logits go into the softmax?",
             ("[1.5, 0.5, 0]", "Temperature divides the logits: z / T."),
             [("[6, 2, 0]", "That multiplies by T, which sharpens instead of flattening."),
              ("[1, -1, -2]", "That subtracts T; a constant shift leaves softmax unchanged.")]),
    Question("The model puts 0.844 on 'refund', but 'reship' is right. Which temperature makes 'reship' the "
             "most likely token?",
             ("None: temperature never changes the ranking", "z / T keeps the order of the logits for every T > 0; "
              "a lower T even makes the wrong favourite more certain (§5.1)."),
             [("A low one, e.g. T = 0.5", "T = 0.5 gives refund 0.980 and reship 0.018: the favourite only grows."),
              ("A high one, e.g. T = 5", "A high T moves every probability towards 1/3, but refund stays on top.")]),
    Question("Top-k with k = 2 on logits [2.0, 1.0, 0.5, -1.0]: which logits come out?",
             ("[2.0, 1.0, -inf, -inf]", "The two largest stay where they are; the others get -inf, weight 0."),
             [("[2.0, 1.0, 0, 0]", "A logit of 0 keeps weight e^0 = 1: removed tokens need -inf."),
              ("[2.0, 1.0]", "The filter keeps the shape (V,) so each logit stays at its token.")]),
    Question("Top-p with p = 0.9 picks 2 tokens after one context and 40 after another. What does that say?",
             ("The model is sure after the first and unsure after the second",
              "The nucleus is small when a few tokens hold most of the mass and large when it is spread out."),
             [("p was set wrongly for the second context", "p is the same; the distributions differ (§5.5)."),
              ("The second context has a larger vocabulary", "The vocabulary is the same for every context.")],
             level="intermediate"),
    Question("Which truncation adapts to how sure the model is?",
             ("top-p (and min-p)", "Both keep few tokens when one dominates and many when the mass is spread (§5.5)."),
             [("top-k", "Top-k keeps k tokens whether the model is sure or not."),
              ("none of them", "The nucleus grows and shrinks with the distribution.")],
             level="intermediate"),
    Question("Why apply the temperature before top-p, not after?",
             ("The nucleus depends on the shape the temperature gives",
              "A higher T spreads the mass, so more tokens are needed to reach p; after truncation T could only "
              "reweigh a set chosen for another distribution (§5.7)."),
             [("It makes no difference", "On [3, 1, 0] with T = 2 and p = 0.8 the two orders give different "
               "tokens (§5.7)."),
              ("Temperature is slower on fewer tokens", "Cost is not the point: the kept set changes.")],
             level="intermediate"),
    Question("10,000 draws over 6 tokens give a chi-square statistic of 4.7 against the intended distribution. "
             "What do you conclude?",
             ("Consistent with the distribution", "With 5 degrees of freedom the statistic averages 5; a sampler "
              "drawing from the wrong distribution gives hundreds or thousands (§5.9)."),
             [("The sampler is biased", "A statistic near its degrees of freedom is what a correct sampler gives."),
              ("The draws are too regular", "Only a statistic far below the degrees of freedom would hint at "
               "that; 4.7 is typical for 5.")],
             level="advanced"),
    Question("A greedy decoder (T -> 0) keeps writing 'the the the'. Which change addresses the cause?",
             ("Sample instead, e.g. T near 1 with top-p or min-p",
              "Greedy decoding follows the loop deterministically; sampling can leave it at every step. A "
              "repetition penalty helps too, though on characters it soon touches every letter (§5.10)."),
             [("Lower the temperature further", "T -> 0 is already greedy: the loop stays."),
              ("Use top-k with k = 1", "k = 1 is greedy decoding again.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "05-temperature", "Temperature and sampling: choosing the next token",
    [SOFTMAX_WITH_TEMPERATURE, TOP_K_FILTER, TOP_P_FILTER, SAMPLE_NEXT], QUIZ, TemperatureExplorer,
    objectives=("compute softmax(z / T) and explain why temperature cannot fix a wrong favourite",
                "write top-k and top-p filters and apply them in the right order",
                "write a sampler and check it against its distribution with a chi-square statistic"),
    minutes=60,
)
