"""Perplexity: reading a loss as a number of choices."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part, tolerance
from ..explorers.perplexity import PerplexityExplorer
from ..information import bits_per_character, entropy, kl_divergence, perplexity
from ..mistakes import EXTRA_BATCH_AXIS, WRONG_AXIS
from ..quiz import Question, Quiz


def _varied_losses(rng, shape):
    """Per-token losses in nats, exponentially spread; the rows of a batch have means from 0.5 to 3 nats."""
    scale = np.linspace(0.5, 3.0, shape[0])[:, None] if len(shape) == 2 else rng.uniform(0.5, 3.0)
    return rng.exponential(scale, size=shape)


def _losses_1d(rng):
    return [
        Case((np.full(6, np.log(10.0)),), "loss ln 10 at every position (uniform over 10 tokens)"),
        Case((np.array([0.105, 0.69, 4.6, 0.105]),), "p = 0.9, 0.5, 0.01, 0.9 on the targets"),
        Case((_varied_losses(rng, (int(rng.integers(5, 60)),)),), "random per-token losses"),
        Case((_varied_losses(rng, (8,)).astype(np.float32),), "random float32 losses"),
    ]


def _losses_batched(rng):
    return [
        Case((np.array([[0.1, 0.2, 0.3], [2.0, 2.5, 3.0]]),), "two sequences of 3 tokens"),
        Case((_varied_losses(rng, (4, int(rng.integers(5, 60)))),), "random (B, T) losses"),
        Case((_varied_losses(rng, (3, 6)).astype(np.float32),), "random (3, 6) float32 losses"),
    ]


PERPLEXITY = Exercise(
    "perplexity(losses)",
    perplexity,
    {
        "1-D": Part("perplexity of one sequence of per-token losses matches exp(mean loss).", _losses_1d, points=2),
        "batched": Part("perplexity of a (B, T) batch averages over every token.", _losses_batched),
    },
    [
        Mistake("mean of exp instead of exp of mean", "return np.exp(losses).mean()",
                "Average the losses first, then exponentiate: the mean of e^loss is dominated by the worst "
                "tokens and is always at least e^(mean loss) (§6.1)."),
        Mistake("sum instead of mean", "return np.exp(losses.sum())",
                "Perplexity is e^(mean loss): summing grows with the length of the text (§6.1)."),
        Mistake("base 2 instead of e", "return 2.0 ** losses.mean()",
                "The losses are in nats (natural log), so the inverse is e^x (`np.exp`); 2^x undoes log2 (§6.1)."),
        Mistake("the mean loss without exp", "return losses.mean()",
                "That is the loss itself in nats; perplexity is its exponential, a number of choices (§6.1)."),
        Mistake("mean of per-sequence perplexities",
                "return np.exp(losses.mean(axis=-1)).mean()",
                "Pool every token of the batch into one mean loss, then exponentiate: averaging the "
                "sequences' perplexities weighs the worst sequence more (§6.1).", ("batched",)),
    ],
    in_place_hint="compute from the losses without changing them",
)


def _worked_totals(rng):
    return [
        Case((1000 * np.log(2.0), 1000), "ln 2 nats per character over 1000 characters"),
        Case((250 * 2.94, 1000), "250 tokens at 2.94 nats, 1000 characters"),
        Case((11.0, 4), "11 nats over 4 characters"),
    ]


def _random_totals(rng):
    chars = int(rng.integers(1, 1_000_000))
    return [
        Case((float(rng.uniform(0.2, 3.0) * chars), chars), "a random text"),
        Case((float(rng.uniform(1.0, 5.0) * 7), 7), "a random 7-character text"),
    ]


BITS_PER_CHARACTER = Exercise(
    "bits_per_character(total_loss_nats, num_chars)",
    bits_per_character,
    {
        "worked": Part("bits_per_character converts the worked totals to bits per character.", _worked_totals),
        "random": Part("bits_per_character matches total / (chars ln 2) on random texts.", _random_totals),
    },
    [
        Mistake("forgot to divide by ln 2", "return total_loss_nats / num_chars",
                "That is nats per character; one bit is ln 2 ≈ 0.693 nats, so divide by ln 2 as well (§6.4)."),
        Mistake("multiplied by ln 2 instead of dividing", "return total_loss_nats * np.log(2) / num_chars",
                "A bit is worth ln 2 nats, so a number of nats is (nats / ln 2) bits: divide (§6.4)."),
        Mistake("a per-character perplexity, not bits", "return np.exp(total_loss_nats / num_chars)",
                "Bits per character stays on the log scale: total nats / (characters · ln 2), no exp (§6.4)."),
    ],
    in_place_hint="compute a new number",
)


def _with_zeros(rng, shape):
    """Distributions along the last axis, each with at least one exact zero and two non-zero entries."""
    probs = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])  # (..., V)
    zeros = rng.random(shape) < 0.3
    zeros[..., 0], zeros[..., 1], zeros[..., -1] = False, False, True
    probs = np.where(zeros, 0.0, probs)
    return probs / probs.sum(axis=-1, keepdims=True)


def _one_distribution(rng):
    return [
        Case((np.array([0.5, 0.25, 0.25, 0.0]),), "[0.5, 0.25, 0.25, 0]"),
        Case((np.array([0.0, 1.0, 0.0, 0.0]),), "one-hot"),
        Case((_with_zeros(rng, (int(rng.integers(3, 30)),)),), "random distribution with zeros"),
        Case((_with_zeros(rng, (12,)).astype(np.float32),), "random float32 distribution with zeros"),
    ]


def _distributions(rng):
    return [
        Case((np.array([[0.25, 0.25, 0.25, 0.25, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0], [0.7, 0.1, 0.1, 0.1, 0.0]]),),
             "a batch of 3 rows"),
        Case((_with_zeros(rng, (4, 7)),), "random (4, 7) batch"),
        Case((_with_zeros(rng, (2, 3, 9)).astype(np.float32),), "random (B, T, V) float32 batch"),
    ]


def _columns(rng):
    probs = _with_zeros(rng, (3, 6))
    return [Case((probs.T.copy(),), "axis=0 on a (6, 3) array", {"axis": 0}), Case((probs,), "axis=1", {"axis": 1})]


def _entropy_tolerance(case):
    """The dtype's tolerance, and at least 1e-6: a guard such as log(p + 1e-12) is accepted."""
    return max(tolerance(case), 1e-6)


BATCHES = ("batched", "axis")
ENTROPY = Exercise(
    "entropy(probs, axis=-1)",
    entropy,
    {
        "1-D": Part("entropy of one distribution, zeros included, matches the reference in nats.",
                    _one_distribution, points=2),
        "batched": Part("entropy gives one value per row of a batch.", _distributions),
        "axis": Part("entropy honours the axis argument.", _columns),
    },
    [
        Mistake("0 · log 0 taken as NaN", "return -(probs * np.log(probs)).sum(axis=axis)",
                "np.log(0) is -inf and 0 · -inf is NaN; the limit of p log p as p → 0 is 0, so skip the zeros "
                "with `np.where(probs > 0, ...)` (§6.7)."),
        Mistake("bits (log2) instead of nats",
                "return -np.where(probs > 0, probs * np.log2(probs), 0.0).sum(axis=axis)",
                "The course measures in nats with the natural log `np.log`; log2 gives bits, 1/ln 2 ≈ 1.44 "
                "times more (§6.7)."),
        Mistake("forgot the minus sign",
                "return np.where(probs > 0, probs * np.log(probs), 0.0).sum(axis=axis)",
                "log p ≤ 0, so Σ p log p is negative: entropy is -Σ p log p (§6.7)."),
        Mistake("mean over the tokens instead of the sum",
                "return -np.where(probs > 0, probs * np.log(probs), 0.0).mean(axis=axis)",
                "Entropy is a sum over the vocabulary, weighted by p; the mean divides it by V (§6.7)."),
        Mistake("dropped the zeros by boolean indexing",
                "p = probs[probs > 0]\nreturn -(p * np.log(p)).sum()",
                "`probs[probs > 0]` flattens the array, so every row's terms end up in one sum; keep the shape "
                "with `np.where` and sum along `axis` (§6.7).", BATCHES),
    ],
    shared=[WRONG_AXIS.on(*BATCHES), EXTRA_BATCH_AXIS.on("1-D")],
    tolerance=_entropy_tolerance,
)


def _softmax_rows(rng, shape):
    logits = rng.normal(0.0, 1.5, size=shape)
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _kl_pairs(rng):
    V = int(rng.integers(3, 30))
    return [
        Case((np.array([0.8, 0.2]), np.array([0.5, 0.5])), "p = [0.8, 0.2], q = [0.5, 0.5]"),
        Case((np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])), "p with a zero"),
        Case((_with_zeros(rng, (V,)), _softmax_rows(rng, (V,))), "random p with zeros, random q"),
        Case((_with_zeros(rng, (10,)).astype(np.float32), _softmax_rows(rng, (10,)).astype(np.float32)),
             "random float32 p and q"),
    ]


def _kl_batches(rng):
    return [
        Case((_with_zeros(rng, (4, 7)), _softmax_rows(rng, (4, 7))), "random (4, 7) batches"),
        Case((_with_zeros(rng, (2, 3, 9)).astype(np.float32), _softmax_rows(rng, (2, 3, 9)).astype(np.float32)),
             "random (B, T, V) float32 batches"),
    ]


def _kl_columns(rng):
    p, q = _with_zeros(rng, (3, 6)), _softmax_rows(rng, (3, 6))
    return [Case((p.T.copy(), q.T.copy()), "axis=0 on (6, 3) arrays", {"axis": 0})]


KL_DIVERGENCE = Exercise(
    "kl_divergence(p, q, axis=-1)",
    kl_divergence,
    {
        "1-D": Part("KL(p || q) of two distributions, zeros in p included, matches the reference.", _kl_pairs, points=2),
        "batched": Part("kl_divergence gives one value per row of a batch.", _kl_batches),
        "axis": Part("kl_divergence honours the axis argument.", _kl_columns),
    },
    [
        Mistake("0 · log 0 taken as NaN", "return (p * np.log(p / q)).sum(axis=axis)",
                "Where p = 0, log(0 / q) is -inf and 0 · -inf is NaN; those terms count 0: use "
                "`np.where(p > 0, ...)` (§6.9)."),
        Mistake("log(q / p) instead of log(p / q)",
                "return np.where(p > 0, p * np.log(q / p), 0.0).sum(axis=axis)",
                "That is -KL(p || q), never positive: the ratio is p / q, the data's probability over the "
                "model's (§6.9)."),
        Mistake("cross-entropy instead of KL", "return -(p * np.log(q)).sum(axis=axis)",
                "-Σ p log q is the cross-entropy H(p, q) = H(p) + KL(p || q); subtract H(p), i.e. use "
                "log(p / q) (§6.9)."),
        Mistake("forgot to weight by p",
                "return np.where(p > 0, np.log(p / q), 0.0).sum(axis=axis)",
                "KL is an expectation under p: multiply each log(p_i / q_i) by p_i before summing (§6.9)."),
        Mistake("bits (log2) instead of nats",
                "return np.where(p > 0, p * np.log2(p / q), 0.0).sum(axis=axis)",
                "The course measures in nats with `np.log`; log2 gives bits, 1.44 times more (§6.9)."),
    ],
    shared=[WRONG_AXIS.on(*BATCHES)],
    tolerance=_entropy_tolerance,
)

QUIZ = Quiz([
    Question("A model's mean loss on a text is ln 50 ≈ 3.91 nats per token. Its perplexity is…",
             ("50", "e^(ln 50) = 50: as unsure as a uniform choice among 50 tokens."),
             [("3.91", "That is the loss; perplexity is e^(loss)."),
              ("about 15", "That would be 2^3.91, treating nats as bits.")]),
    Question("Per-token losses 0.1 and 4.1 nats. The perplexity of the two tokens is…",
             ("e^2.1 ≈ 8.2", "Average first (2.1 nats), then exponentiate."),
             [("(e^0.1 + e^4.1) / 2 ≈ 30.7", "That is the mean of exp, inflated by the worst token."),
              ("e^4.2 ≈ 66.7", "That exponentiates the sum, which grows with the text's length.")]),
    Question("A 1,000-character text costs 700 nats in total under a model. Its bits per character are…",
             ("about 1.01", "700 / (1000 · ln 2) ≈ 1.01 bits per character."),
             [("0.70", "That is nats per character; divide by ln 2 too."),
              ("about 0.49", "That multiplies by ln 2 instead of dividing.")]),
    Question("Model A reports perplexity 12 per token, model B 30 per token, with different tokenizers. Which is "
             "better on the text?",
             ("Cannot tell without converting to bits per character",
              "A coarser tokenizer makes each token harder to guess; only total nats over the same characters compare."),
             [("A", "A's tokens may be shorter, so each is easier: per-token figures of different tokenizers do not "
                    "compare (§6.6)."),
              ("B", "A larger perplexity is not better; and with different tokenizers it does not compare either.")],
             level="intermediate"),
    Question("Your entropy function returns NaN for [0.5, 0.5, 0.0]. The likely cause is…",
             ("0 · log 0 computed as 0 · -inf", "The limit of p log p at 0 is 0: skip zero entries (§6.7)."),
             [("log of a negative number", "Probabilities are never negative here."),
              ("an overflow in exp", "Entropy takes no exponential; the NaN comes from log(0).")],
             level="intermediate"),
    Question("Training loss keeps falling while held-out loss has been rising for a while. What is happening?",
             ("Over-fitting: the model learns accidents of the training text",
              "The rising held-out curve is the signal; stop earlier, or get more data (§6.13)."),
             [("A plateau: the learning rate is too small", "In a plateau both curves flatten together."),
              ("The held-out text is harder, nothing more", "A harder text gives a higher held-out curve, not one that turns up.")],
             level="intermediate"),
    Question("No model of the synthetic word source has a held-out loss below its entropy rate (beyond sampling "
             "noise). Why?",
             ("Cross-entropy = entropy of the data + KL(data || model), and KL ≥ 0",
              "The floor is met only when the model's predictions equal the source's (§6.11)."),
             [("The model has too few parameters", "Even a perfect model pays the entropy: the text itself is random."),
              ("Add-k smoothing adds loss", "Without smoothing the floor still holds; it is a property of the data.")],
             level="advanced"),
    Question("Label smoothing ε = 0.2 lowered the ECE of the small-data model. What does it do to the predictions?",
             ("It pulls them toward uniform, curbing over-confidence",
              "The target (1 - ε) one-hot + ε/V never asks for probability 1 (§6.14)."),
             [("It makes the model more confident", "It does the opposite: no target is one-hot any more."),
              ("It lowers the training loss", "It trains toward a flatter target; the training cross-entropy rises.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "06-perplexity", "Perplexity: reading a loss as a number of choices",
    [PERPLEXITY, BITS_PER_CHARACTER, ENTROPY, KL_DIVERGENCE], QUIZ, PerplexityExplorer,
    objectives=("turn a mean loss into a perplexity and back", "compare models across tokenizers in bits per character",
                "compute entropy and KL divergence with 0 log 0 = 0", "read the data's entropy as the floor of the loss",
                "read loss curves and calibration"),
    minutes=60,
)
