"""Cross-entropy: scoring a prediction."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.cross_entropy import CrossEntropyExplorer
from ..losses import cross_entropy, label_smoothed_targets
from ..quiz import Question, Quiz

# -- cross_entropy ----------------------------------------------------------------------------------


def _row(rng, size, scale=3.0, shift=0.0, dtype=np.float64):
    """A (V,) row of logits around ``shift`` and a random int target."""
    return (rng.normal(shift, scale, size=size).astype(dtype), int(rng.integers(0, size)))


def _ordinary(rng):
    return [
        Case((np.array([2.0, 1.0, 0.5, -1.0]), 0), "the cat example, target 'mat'"),
        Case((np.array([3.0, 1.0, 0.0]), 1), "refund/reship/escalate, target reship"),
        Case((np.array([1.0, 0.0, -2.0]), 0), "[1, 0, -2], target refund"),
        Case((np.array([0.5, 0.5]), 1), "two equal logits"),
        Case(_row(rng, int(rng.integers(5, 40))), "random row"),
        Case(_row(rng, 7, dtype=np.float32), "random float32 row"),
    ]


def _huge(rng):
    # beyond exp's range (709 in float64, 88.7 in float32): only a max-shifted log-sum-exp stays finite
    return [
        Case((np.array([1000.0, 998.0, 997.0]), 1), "[1000, 998, 997], target 1"),
        Case((np.array([1.0, 800.0]), 0), "p(target) < 1e-308"),
        Case((np.array([-1000.0, -1002.0, -1003.0]), 2), "all logits near -1000"),
        Case((np.array([100.0, 90.0, 80.0], dtype=np.float32), 2), "float32 logits above 88.7"),
        Case(_row(rng, 12, scale=300.0, shift=2000.0), "random row around 2000, spread 300"),
        Case(_row(rng, 9, shift=-5000.0), "random row around -5000"),
        Case(_row(rng, 6, scale=20.0, shift=150.0, dtype=np.float32), "random float32 row around 150"),
    ]


def _batch(rng):
    def random_batch(rows, classes, dtype=np.float64):
        return rng.normal(0, 2, size=(rows, classes)).astype(dtype), rng.integers(0, classes, size=rows)

    return [
        Case((np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0], [3.0, 1.0, 0.0]]), np.array([1, 0, 0])), "a batch of 3 rows"),
        Case(random_batch(int(rng.integers(4, 9)), int(rng.integers(3, 12))), "random batch"),
        Case(random_batch(5, 5), "square (5, 5) batch"),
        Case(random_batch(6, 8, np.float32), "random (6, 8) float32 batch"),
        Case((rng.normal(0, 2, size=(2, 4)), np.array([3, 3], dtype=np.int32)), "int32 targets, both 3"),
    ]


HUGE, BATCH = ("huge logits",), ("batch mean",)
# The log-probabilities of every row, written stably, as most of the wrong answers below start.
LOG_PROBS = """
m = logits.max(axis=-1, keepdims=True)
log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
"""

CROSS_ENTROPY = Exercise(
    "cross_entropy(logits, targets)",
    cross_entropy,
    {
        "ordinary logits": Part("cross_entropy of a single row with ordinary logits matches the reference.",
                                _ordinary, points=2),
        "huge logits": Part("cross_entropy stays finite and exact for huge logits.", _huge, points=2),
        "batch mean": Part("cross_entropy of a batch is the mean of its row losses.", _batch, points=2),
    },
    [
        # The unstable recipes agree with the right answer on ordinary logits. `checker.close` counts any number
        # as close to an infinite output, so a mistake that gives inf on a case claims every wrong answer there.
        # The underflow gives inf only on the [1, 800] row, which every other mistake already failed on the
        # [1000, 998, 997] row before, so it comes first; the two without a shift are inf on [1000, ...]: last.
        # (Its short case label keeps the name on the first line of the wrapped message the round trip reads.)
        Mistake("log of a softmax that underflowed", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            probs = e / e.sum(axis=-1, keepdims=True)
            return np.mean(-np.log(probs[np.arange(len(z)), t]))
            """,
                "The max shift keeps softmax finite, but a probability below about 1e-308 still rounds to 0 and "
                "-log(0) = inf, although the loss is finite. Never form p: compute the loss from the logits as "
                "logsumexp(z) - z_y, with logsumexp = m + log(sum(exp(z - m))) and m the row max (§3.3).", HUGE),
        Mistake("probabilities passed where logits are expected", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            probs = e / e.sum(axis=-1, keepdims=True)             # softmax first ...
            m = probs.max(axis=-1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(probs - m).sum(axis=-1))
            return (lse - probs[np.arange(len(probs)), t]).mean()  # ... and the loss applies it again
            """,
                "Your function treats softmax outputs as if they were logits: softmax gets applied twice, which "
                "squashes every row towards uniform and pulls the loss towards log V. The input is raw logits; "
                "compute logsumexp(logits) - logits[y] and do not apply softmax first (§3.6)."),
        Mistake("-log taken of the logits, not of probabilities", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            return np.mean(-np.log(z[np.arange(len(z)), t]))
            """,
                "Logits are not probabilities: they can be negative (log gives nan) or above 1. The loss is "
                "-log p_y with p = softmax(z), i.e. logsumexp(z) - z_y (§3.3)."),
        Mistake("sign flipped (log p instead of -log p)", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            m = z.max(axis=-1, keepdims=True)
            log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
            return np.mean(log_probs[np.arange(len(z)), t])
            """,
                "log p is ≤ 0, so a loss written as log p is negative and rewards being wrong. Surprise is "
                "-log p: 0 when p = 1, growing as p shrinks (§3.1)."),
        Mistake("log base 10 instead of the natural log", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            probs = e / e.sum(axis=-1, keepdims=True)
            return np.mean(-np.log10(probs[np.arange(len(z)), t]))
            """,
                "np.log10 measures in decimal digits; the loss is in nats (np.log, base e), as in PyTorch. "
                "Your values are the right ones divided by ln 10 ≈ 2.303 (§3.1)."),
        Mistake("log base 2 instead of the natural log", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            probs = e / e.sum(axis=-1, keepdims=True)
            return np.mean(-np.log2(probs[np.arange(len(z)), t]))
            """,
                "np.log2 measures in bits; the loss is in nats (np.log, base e), as in PyTorch. Your values "
                "are the right ones divided by ln 2 ≈ 0.693 (§3.1)."),
        Mistake("scored the model's favourite token, not the target", LOG_PROBS + "return np.mean(-log_probs.max(axis=-1))",
                "The loss asks how much probability the model gave to the token that actually came next, "
                "-log p[y] with y from `targets`, not to the token it liked best (§3.2)."),
        Mistake("-log p summed over every class", LOG_PROBS + "return np.mean(-log_probs.sum(axis=-1))",
                "With a one-hot target, only the target's term survives in -sum_c y_c log p_c: the loss is "
                "-log p[y] for the target class alone (§3.2)."),
        Mistake("summed over the batch instead of averaged (forgot the 1/N)", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            m = z.max(axis=-1, keepdims=True)
            lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
            return np.sum(lse - z[np.arange(len(z)), t])
            """,
                "The batch loss is the MEAN of the per-row losses: divide the sum by the number of rows B, "
                "so the loss keeps its scale whatever the batch size (§3.5).", BATCH),
        Mistake("averaged over every entry instead of every row", """
            z = np.atleast_2d(logits)
            onehot = np.eye(z.shape[-1])[np.atleast_1d(targets)]   # (B, V)
            m = z.max(axis=-1, keepdims=True)
            log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
            return np.mean(-onehot * log_probs)
            """,
                "np.mean over a (B, V) array of one-hot × -log p divides by B·V; the V - 1 zeros of each row "
                "are not examples. Sum each row first, then average over the B rows (§3.5)."),
        Mistake("per-row losses not averaged",
                LOG_PROBS + "return -np.take_along_axis(log_probs, np.expand_dims(targets, -1), axis=-1)[..., 0]",
                "These are the B losses of the rows; the function returns one number, their mean over the "
                "batch (§3.5).", BATCH),
        Mistake("a (B, B) matrix from logits[:, targets]", LOG_PROBS + "return -log_probs[..., targets]",
                "Indexing with [:, targets] pairs EVERY row with EVERY target. Pick one entry per row with "
                "logits[np.arange(B), targets] (or np.take_along_axis) (§3.7).", BATCH),
        Mistake("the mean of a (B, B) matrix from logits[:, targets]", LOG_PROBS + "return -np.mean(log_probs[..., targets])",
                "Indexing with [:, targets] pairs EVERY row with EVERY target, and the mean then averages "
                "B·B mismatched pairs. Pick one entry per row with logits[np.arange(B), targets] "
                "(or np.take_along_axis) (§3.7).", BATCH),
        Mistake("np.take without an axis reads the first row", LOG_PROBS + "return -np.mean(np.take(log_probs, targets))",
                "np.take(x, targets) indexes the FLATTENED array, so every target is read from row 0. Pick "
                "one entry per row with x[np.arange(B), targets] or np.take_along_axis (§3.7).", BATCH),
        # the loss is a scalar, so the shared EXTRA_BATCH_AXIS (a batch axis on the input) does not apply here
        Mistake("an extra batch axis", """
            z = np.atleast_2d(logits)                                    # (B, V)
            m = z.max(axis=-1, keepdims=True)                            # (B, 1)
            lse = m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))  # (B, 1)
            z_y = np.take_along_axis(z, np.atleast_1d(targets)[:, None], axis=-1)  # (B, 1)
            return (lse - z_y).mean(axis=0)                              # (1,): the kept axis survives
            """,
                "The loss is one number, shape (); return the mean itself (e.g. `losses.mean()`), not an "
                "array of shape (1,) (§3.7)."),
        Mistake("log-sum-exp without the max shift", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            lse = np.log(np.exp(z).sum(axis=-1))
            return np.mean(lse - z[np.arange(len(z)), t])
            """,
                "exp(z) overflows to inf above about 709 (88.7 in float32) and underflows to 0 far below, so "
                "log(sum(exp(z))) becomes inf or -inf. Subtract the row max m first and add it back: "
                "logsumexp(z) = m + log(sum(exp(z - m))) (§3.3).", HUGE),
        Mistake("log of a softmax without the max shift", """
            z = np.atleast_2d(logits)
            t = np.atleast_1d(targets)
            e = np.exp(z)
            probs = e / e.sum(axis=-1, keepdims=True)
            return np.mean(-np.log(probs[np.arange(len(z)), t]))
            """,
                "exp of huge logits is inf (or 0 for very negative ones), and inf / inf = nan. Work with "
                "logsumexp(z) - z_y, shifting by the row max inside the log-sum-exp (§3.3).", HUGE),
        Mistake("hard-codes the worked examples' losses", """
            return {3: 2.170, 4: 0.495}.get(np.shape(logits)[-1], 0.896)
            """,
                "Hidden and random cases catch answers copied from the text.", cheat=True),
    ],
)

# -- label_smoothed_targets -------------------------------------------------------------------------


def _eps_01(rng):
    batch, classes = int(rng.integers(3, 9)), int(rng.integers(3, 12))
    return [
        Case((np.array([1]), 2, 0.1), "V = 2"),
        Case((np.array([0, 2, 1]), 4, 0.1), "targets [0, 2, 1], V = 4"),
        Case((rng.integers(0, classes, size=batch), classes, 0.1), "random targets"),
        Case((np.array([1, 0, 1, 1], dtype=np.int32), 2, 0.1), "int32 targets, V = 2"),
    ]


def _any_eps(rng):
    classes = int(rng.integers(3, 10))
    return [
        Case((np.array([2, 0]), 3, 0.0), "eps = 0 (the one-hot target)"),
        Case((np.array([2, 0, 1]), 5, 1.0), "eps = 1 (the uniform target)"),
        Case((np.array([3]), 10, 0.25), "one row, eps = 0.25"),
        Case((rng.integers(0, classes, size=6), classes, float(rng.uniform(0.02, 0.5))), "random eps"),
    ]


def _float32_result(case: Case) -> float:
    """No input is a float array, so the precision is the learner's choice: accept targets built in float32."""
    return 8 * float(np.finfo(np.float32).eps)


ONEHOT = "onehot = np.eye(num_classes)[targets]  # (B, V)\n"
SMOOTHED_TARGETS = Exercise(
    "label_smoothed_targets(targets, num_classes, eps)",
    label_smoothed_targets,
    {
        "eps = 0.1": Part("label_smoothed_targets with eps = 0.1 matches the reference.", _eps_01, points=2),
        "any eps": Part("label_smoothed_targets handles every eps from 0 (one-hot) to 1 (uniform).", _any_eps),
    },
    [
        # First: before the swap (at eps = 1 both give the one-hot), and the round trip grades the first mistake,
        # whose name must fit the first line of the wrapped message on the V = 2 case (see CheckFailure).
        Mistake("eps ignored (a plain one-hot)", "return np.eye(num_classes)[targets]",
                "This is the unsmoothed one-hot target; mix in eps of the uniform distribution: "
                "(1 - eps)·onehot + eps/V (§3.8)."),
        Mistake("eps/(V-1) on the other classes instead of eps/V",
                ONEHOT + "return onehot * (1 - eps) + (1 - onehot) * eps / (num_classes - 1)",
                "Label smoothing mixes the one-hot target with the UNIFORM distribution: every class, the "
                "target included, gets eps/V, so the target ends at 1 - eps + eps/V (§3.8)."),
        Mistake("eps/V added to the other classes only",
                ONEHOT + "return np.where(onehot == 1, 1 - eps, eps / num_classes)",
                "The uniform part eps/V goes to EVERY class, the target included; without it a row sums to "
                "1 - eps/V instead of 1 (§3.8)."),
        Mistake("forgot the (1 - eps) on the one-hot", "return np.eye(num_classes)[targets] + eps / num_classes",
                "Adding eps/V to a full one-hot makes each row sum to 1 + eps. Scale the one-hot by (1 - eps) "
                "so the mixture is still a distribution (§3.8)."),
        Mistake("eps instead of eps/V on every class", ONEHOT + "return (1 - eps) * onehot + eps",
                "The uniform distribution over V classes puts 1/V on each, so the smoothing adds eps/V per "
                "class, not eps; otherwise a row sums to 1 + (V - 1)·eps (§3.8)."),
        Mistake("eps and 1 - eps swapped", ONEHOT + "return eps * onehot + (1 - eps) / num_classes",
                "eps is the SMALL weight of the uniform part: (1 - eps)·onehot + eps/V. With the weights "
                "swapped, eps = 0.1 gives a nearly uniform target (§3.8)."),
        Mistake("shape (V, B) instead of (B, V)", "return ((1 - eps) * np.eye(num_classes)[:, targets] + eps / num_classes)",
                "Each ROW is one example's soft target over the V classes, shape (B, V), like the logits "
                "(§3.8)."),
    ],
    tolerance=_float32_result,
)

# -- mastery check ----------------------------------------------------------------------------------

QUIZ = Quiz([
    Question("The model gives the correct token probability p = 0.5. What is its loss, in nats?",
             ("about 0.69", "-ln 0.5 = ln 2 ≈ 0.693 nats."),
             [("0.5", "That is p itself. The loss is the surprise -log p."),
              ("1", "That is -log₂ 0.5, one bit. The loss is measured in nats (natural log), as in PyTorch.")]),
    Question("As the probability of the correct token goes to 0, the loss…",
             ("grows without bound", "-log p → ∞ as p → 0, so a confident miss is very expensive."),
             [("approaches 1", "-log p is not bounded by 1: already at p = 0.01 it is 4.6."),
              ("approaches 0", "That is what happens as p → 1. A small p is a big surprise.")]),
    Question("Label smoothing with ε = 0.1 over V = 4 classes: what is the soft target of the correct class?",
             ("0.925", "(1 - ε) + ε/V = 0.9 + 0.025; each other class gets 0.025."),
             [("0.9", "That forgets that the correct class also gets its share ε/V = 0.025 of the uniform part."),
              ("1.0", "That is the plain one-hot target, before smoothing.")]),
    Question("You pass softmax outputs (probabilities) to torch.nn.functional.cross_entropy. What happens?",
             ("A silently wrong loss, pulled towards log V, with tiny gradients",
              "The function applies softmax again; probabilities lie in [0, 1], so the second softmax is nearly "
              "uniform. [3, 1, 0] with label reship gives 1.387 instead of 2.170."),
             [("It raises an error about the input",
               "Probabilities have exactly the shape and dtype of logits, so nothing warns you."),
              ("The same loss: softmax of probabilities changes nothing",
               "Softmax is not idempotent: gaps of at most 1 become ratios of at most e, so the row is flattened.")],
             level="intermediate"),
    Question("Why does a training loop average the per-example losses instead of summing them?",
             ("So the loss and its gradients keep their scale whatever the batch size",
              "With a sum, doubling the batch doubles the gradient, and the learning rate would have to change "
              "with it."),
             [("Summing changes which model is best",
               "The sum is N × the mean, so both have the same minimiser; only the scale differs."),
              ("The mean is more stable numerically",
               "Both are sums of finite numbers; the point is the scale, not rounding.")],
             level="intermediate"),
    Question("Label smoothing with weight ε gives the loss (1 - ε)·CE(y, p) + ε·CE(u, p), u uniform. What does "
             "the second term do?",
             ("It pulls p towards uniform: a penalty on over-confidence",
              "CE(u, p) = -mean_c log p_c is smallest when p is uniform, so it grows as the model piles all its "
              "mass on one token (§3.8)."),
             [("It rewards the model for being sure of the target",
               "That is the first term, CE(y, p). The uniform term pays for every class the model neglects."),
              ("Nothing: it is a constant the model cannot change",
               "It depends on p through every log p_c; only H(u) = log V would be constant.")],
             level="intermediate"),
    Question("H(p, q) = H(p) + KL(p‖q). Why does minimising the cross-entropy over the model q minimise the KL "
             "divergence?",
             ("H(p) belongs to the data and does not depend on the model", "The model can only change the KL term."),
             [("H(p) is always 0", "Only a one-hot p has H(p) = 0; a real next-token distribution has positive "
                                   "entropy."),
              ("KL is always smaller than H(p)", "There is no such bound: KL can be any value ≥ 0, even infinite.")],
             level="advanced"),
    Question("A model gives probability 1e-9 to a token that the data uses 10% of the time. Under cross-entropy "
             "this…",
             ("is punished hard, so training spreads mass over everything the data does (mode-covering)",
              "Forward KL is infinite where q = 0 < p, so cross-entropy makes a model cover every mode, at the "
              "price of some mass on implausible continuations."),
             [("costs little, because the token is rare",
               "Each occurrence costs -ln(1e-9) ≈ 20.7 nats; 10% of the time that is about 2 nats per token on "
               "average."),
              ("does not matter, since only the most likely token is ever chosen",
               "The loss scores the probability of what actually came next, whatever the model would have "
               "picked.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "03-cross-entropy", "Cross-entropy: scoring a prediction", [CROSS_ENTROPY, SMOOTHED_TARGETS], QUIZ,
    CrossEntropyExplorer,
    objectives=("compute the loss -log p of the target by hand", "write a stable, batched cross-entropy from logits",
                "build label-smoothed targets", "relate cross-entropy to entropy and KL divergence"),
    minutes=60,
)
