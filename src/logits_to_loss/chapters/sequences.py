"""Sequences: one pass scores every position."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..explorers.sequences import CausalAttentionExplorer
from ..quiz import Question, Quiz
from ..sequences import causal_mask, masked_attention_weights, next_token_pairs, sequence_cross_entropy

# -- next_token_pairs --------------------------------------------------------------------------------


def _pair(output, case):
    """The learner's ``(inputs, targets)`` as one array ``(2, ..., T-1)``.

    A pair of unequal shapes is laid end to end instead, so it is shown and diagnosed rather than
    crashing the checker (which cannot print a ragged tuple).
    """
    inputs, targets = (np.asarray(x) for x in output)
    if inputs.shape == targets.shape:
        return np.stack([inputs, targets])
    return np.concatenate([inputs.ravel(), targets.ravel()])


def _one_sequence(rng):
    return [
        Case((np.array([5, 8, 2]),), "three ids"),  # short, so the feedback keeps a mistake's name on one line
        Case((np.array([7, 3, 9, 4, 1]),), "five ids"),
        Case((np.array([5, 8]),), "two tokens: one pair"),
        Case((rng.integers(0, 50, size=int(rng.integers(3, 30))),), "random ids"),
    ]


def _token_batch(rng):
    return [
        Case((np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]),), "a (3, 4) batch"),
        Case((rng.integers(0, 50, size=(int(rng.integers(2, 6)), int(rng.integers(3, 12)))),), "random (B, T) batch"),
    ]


NEXT_TOKEN_PAIRS = Exercise(
    "next_token_pairs(tokens)",
    next_token_pairs,
    {
        "1-D": Part("next_token_pairs pairs every token of one sequence with the token after it.", _one_sequence),
        "batched": Part("next_token_pairs shifts every sequence of a batch along the time axis.", _token_batch),
    },
    [
        Mistake("targets not shifted (off by one)", "return tokens[..., :-1], tokens[..., :-1]",
                "Each position would 'predict' the token it already reads. The target of position t is "
                "token t+1: `tokens[..., 1:]` (§7.2)."),
        Mistake("inputs and targets swapped", "return tokens[..., 1:], tokens[..., :-1]",
                "That asks every position to predict the token before it. Inputs are `tokens[..., :-1]`, "
                "targets `tokens[..., 1:]` (§7.2)."),
        Mistake("the last token kept as an input", "return tokens, tokens[..., 1:]",
                "The last token has no next token to predict, so T tokens give T-1 pairs: drop it from the "
                "inputs with `tokens[..., :-1]` (§7.2)."),
        Mistake("shifted along the batch axis", "return tokens[:-1], tokens[1:]",
                "`tokens[1:]` slices the first axis, which is the batch for (B, T) ids; slice the time axis, "
                "the last one, with `tokens[..., 1:]` (§7.2).", ("batched",)),
    ],
    observe=_pair,
)

# -- causal_mask -------------------------------------------------------------------------------------


def _boolean(output, case):
    """A mask must be booleans: a 0/1 number mask is *added* to the scores by PyTorch and blocks nothing."""
    mask = np.asarray(output)
    if mask.dtype != bool:
        raise TypeError(f"return booleans (True = may attend), got dtype {mask.dtype}; "
                        "e.g. `np.tril(np.ones((T, T), dtype=bool))` (§7.5)")
    return mask


def _lengths(rng):
    return [Case((4,), "T = 4"), Case((1,), "T = 1"), Case((int(rng.integers(2, 16)),), "random T")]


CAUSAL_MASK = Exercise(
    "causal_mask(T)",
    causal_mask,
    {"lengths": Part("causal_mask(T) lets each query attend to itself and the keys before it.", _lengths, points=2)},
    [
        Mistake("transposed: each query sees the future", "return np.triu(np.ones((T, T), dtype=bool))",
                "Row t is query t: it may read keys 0..t, which lie on and below the diagonal, so use "
                "`np.tril`, not `np.triu` (§7.4)."),
        Mistake("True marks the blocked keys", "return np.triu(np.ones((T, T), dtype=bool), k=1)",
                "This mask is True where attention is forbidden. Here True means 'may attend', as in "
                "PyTorch's scaled_dot_product_attention: the lower triangle with the diagonal (§7.4)."),
        Mistake("the diagonal left out", "return np.tril(np.ones((T, T), dtype=bool), k=-1)",
                "A query may attend to its own position; without the diagonal the first row has no key at all "
                "and its softmax is 0/0 (§7.4)."),
        Mistake("every key allowed", "return np.ones((T, T), dtype=bool)",
                "With no False entries every position reads the tokens it must predict: block the keys after "
                "the query (§7.4)."),
    ],
    observe=_boolean,
)

# -- masked_attention_weights ------------------------------------------------------------------------


def _causal_scores(rng):
    T = int(rng.integers(2, 9))
    return [
        Case((np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0], [2.0, 1.0, 0.0]]), causal_mask(3)), "3 x 3 causal"),
        Case((rng.normal(0, 2, size=(T, T)), causal_mask(T)), "random causal"),
        Case((rng.normal(0, 2, size=(T, T)).astype(np.float32), causal_mask(T)), "random float32 causal"),
    ]


def _padded_scores(rng):
    B, H, T = 2, 3, int(rng.integers(3, 8))
    valid = np.arange(T) < np.array([[T], [int(rng.integers(1, T))]])  # (B, T) the second sequence is padded
    mask = causal_mask(T) & valid[:, None, None, :]  # (B, 1, T, T): causal and no padding key
    return [
        Case((rng.normal(0, 2, size=(B, H, T, T)), causal_mask(T)), "(B, H, T, T) scores, one (T, T) mask"),
        Case((rng.normal(0, 2, size=(B, H, T, T)).astype(np.float32), mask), "causal and padding mask"),
    ]


SOFTMAX_KEYS = "e = np.exp(s - s.max(axis=-1, keepdims=True))\nreturn e / e.sum(axis=-1, keepdims=True)"
MASKED_ATTENTION_WEIGHTS = Exercise(
    "masked_attention_weights(scores, mask)",
    masked_attention_weights,
    {
        "causal": Part("masked_attention_weights applies a causal mask to one head's scores.", _causal_scores),
        "batched": Part("masked_attention_weights broadcasts the mask over batches, heads and padding.",
                        _padded_scores),
    },
    [
        Mistake("masked with 0 instead of -inf", "s = np.where(mask, scores, 0.0)\n" + SOFTMAX_KEYS,
                "A score of 0 still gets weight e^0 = 1, so every future key leaks into the average; "
                "e^-inf = 0 is what removes it: `np.where(mask, scores, -np.inf)` (§7.4)."),
        Mistake("softmax over the queries", "s = np.where(mask, scores, -np.inf)\n"
                "e = np.exp(s - s.max(axis=-2, keepdims=True))\nreturn e / e.sum(axis=-2, keepdims=True)",
                "Each query's weights over the keys must sum to 1: normalise along the last axis (keys), "
                "not axis -2 (queries) (§7.4)."),
        Mistake("the mask added to the scores", "s = scores + mask\n" + SOFTMAX_KEYS,
                "Adding a boolean mask adds 1 to the allowed scores and 0 to the blocked ones, which blocks "
                "nothing; replace blocked scores with -inf (§7.4)."),
        Mistake("masked after the softmax", "s = scores\n" + SOFTMAX_KEYS.replace("return ", "return mask * "),
                "Zeroing weights after the softmax leaves rows that sum to less than 1; mask the scores "
                "before the softmax so it renormalises over the allowed keys (§7.4)."),
    ],
)

# -- sequence_cross_entropy --------------------------------------------------------------------------

PER_POSITION = """
z = logits - logits.max(axis=-1, keepdims=True)
log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
losses = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
if mask is None:
    mask = np.ones(targets.shape, dtype=bool)
"""


SHIFTED_AGAIN = """
z = logits[..., :-1, :] - logits[..., :-1, :].max(axis=-1, keepdims=True)
log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
losses = -np.take_along_axis(log_probs, targets[..., 1:, None], axis=-1)[..., 0]
keep = np.ones(targets.shape, dtype=bool) if mask is None else mask
return losses[keep[..., 1:]].mean()
"""


def _wrong_loss(*lines: str) -> str:
    """A body that computes the per-position losses right, then reduces them with ``lines``."""
    return PER_POSITION + "\n".join(lines)


def _batch_of(rng, B, T, V, dtype=np.float64):
    return rng.normal(0, 2, size=(B, T, V)).astype(dtype), rng.integers(0, V, size=(B, T))


def _unmasked(rng):
    logits, targets = _batch_of(rng, int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(3, 12)))
    reship_today = np.array([[[3.0, 1.0, 0.0], [2.0, 0.5, 0.0]]])  # (1, 2, 3): "reship", then "today"
    return [
        Case((reship_today, np.array([[1, 0]])), "reship today"),
        Case((logits, targets), "random (B, T, V), no mask"),
        Case(_batch_of(rng, 2, 5, 7, np.float32), "random float32, no mask"),
    ]


def _padding_mask(rng, B, T):
    """``(B, T)`` True on each sequence's tokens, False on its padding; the lengths differ."""
    lengths = np.array([T, *rng.integers(1, T, size=B - 1)])
    return np.arange(T) < lengths[:, None]


def _padded(rng):
    B, T, V = int(rng.integers(2, 5)), int(rng.integers(3, 9)), int(rng.integers(3, 12))
    return [
        Case((*_batch_of(rng, 2, 3, 4), np.array([[True, True, True], [True, False, False]])),
             "one padded sequence"),
        Case((*_batch_of(rng, B, T, V), _padding_mask(rng, B, T)), "random padding"),
        Case((*_batch_of(rng, B, T, V, np.float32), _padding_mask(rng, B, T)), "random float32 padding"),
    ]


def _sft(rng):
    B, T, V = int(rng.integers(2, 5)), int(rng.integers(5, 12)), int(rng.integers(3, 12))
    starts = rng.integers(1, 4, size=(B, 1))  # (B, 1) prompt lengths
    ends = rng.integers(starts + 1, T + 1)  # (B, 1) sequence lengths: at least one response token each
    response = (np.arange(T) >= starts) & (np.arange(T) < ends)  # (B, T)
    return [
        Case((*_batch_of(rng, 2, 4, 5), np.array([[False, False, True, True], [False, True, False, False]])),
             "prompt and padding masked"),
        Case((*_batch_of(rng, B, T, V), response), "random prompts and padding"),
    ]


MASKED = ("padding", "sft")
SEQUENCE_CROSS_ENTROPY = Exercise(
    "sequence_cross_entropy(logits, targets, mask=None)",
    sequence_cross_entropy,
    {
        "unmasked": Part("sequence_cross_entropy with no mask is the mean loss over every position.", _unmasked),
        "padding": Part("sequence_cross_entropy leaves padding out of the sum and the count.", _padded, points=2),
        "sft": Part("sequence_cross_entropy counts only the response tokens of a fine-tuning batch.", _sft),
    },
    [
        Mistake("padding counted in the mean", _wrong_loss("return (losses * mask).sum() / mask.size"),
                "Zeroing the masked losses is half the job: divide by the number of positions that count, "
                "`mask.sum()`, not by every position (§7.7).", MASKED),
        Mistake("mask ignored", _wrong_loss("return losses.mean()"),
                "The mean must leave out the positions where the mask is False, padding and prompt alike: "
                "`losses[mask].mean()` (§7.7).", MASKED),
        Mistake("sum instead of mean", _wrong_loss("return losses[mask].sum()"),
                "The sum grows with the number of tokens, so batches of different lengths are not comparable; "
                "divide by the number of counted positions (§7.10)."),
        Mistake("averaged per sequence first", _wrong_loss("return ((losses * mask).sum(-1) / mask.sum(-1)).mean()"),
                "A mean of per-sequence means weighs a short response's tokens more than a long one's; "
                "average over every counted token of the batch at once (§7.7).", MASKED),
        Mistake("logits used as log-probabilities",
                "losses = -np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]\n"
                "return losses.mean() if mask is None else losses[mask].mean()",
                "-z_y is not a loss: take the log-softmax first, -log p_y = logsumexp(z) - z_y (§7.12)."),
        Mistake("targets shifted again", SHIFTED_AGAIN,
                "The targets passed in are already the next tokens, aligned with the logits; shifting them "
                "once more pairs each position with the token two steps ahead (§7.2)."),
    ],
)

# -- the chapter -------------------------------------------------------------------------------------

QUIZ = Quiz([
    Question("A training text has 2,048 tokens. How many forward passes does teacher forcing need to score "
             "every position?",
             ("one", "The inputs are the true tokens, known in advance, so every position is computed in parallel; "
                     "the causal mask keeps each from reading ahead (§7.1)."),
             [("2,048, one per position", "That is generation, where each token must be drawn before the next "
                                         "can be scored."),
              ("2,047, one per pair", "The 2,047 (input, target) pairs all come out of the same single pass.")]),
    Question("Scores [1, 2, 5] for keys 0, 1, 2; query 1 may only see keys 0 and 1. Masking key 2 with 0 instead "
             "of -inf gives it which weight?",
             ("1 / (e + e^2 + 1), about 0.09", "The masked score 0 still counts as e^0 = 1 in the sum (§7.4)."),
             [("0", "That is what -inf gives: e^-inf = 0. A 0 score gives e^0 = 1."),
              ("e^5 / (e + e^2 + e^5), about 0.94", "That is no mask at all: the score 5 is replaced by 0.")]),
    Question("For tokens [the, cat, sat], which (input, target) pairs does the shift by one give?",
             ("(the, cat) and (cat, sat)", "Position t reads token t and predicts token t+1 (§7.2)."),
             [("(the, the), (cat, cat) and (sat, sat)", "Predicting the token already read teaches nothing."),
              ("(cat, the) and (sat, cat)", "That predicts the past: inputs and targets are swapped.")]),
    Question("Which target value does PyTorch's cross_entropy skip by default, as padding?",
             ("-100", "ignore_index=-100: those positions leave both the sum and the count (§7.7)."),
             [("0", "0 is a real token id; skipping it would drop genuine targets."),
              ("-1", "-1 is not the default; it would be treated as an invalid class index.")]),
    Question("A fine-tuning batch is 80% prompt tokens. Why is the loss taken on the response tokens only?",
             ("The model should learn to answer, not to reproduce prompts",
              "The prompt is given at inference; its tokens would dominate the mean and the gradient (§7.8)."),
             [("The prompt tokens have no logits", "Every position has logits; they are just left out of the mean."),
              ("It makes the loss smaller", "Leaving tokens out can raise or lower the mean; that is not the reason.")],
             level="intermediate"),
    Question("Per-position losses 2.17 and 0.31 average to 1.24, a reasonable-looking number. What should you do?",
             ("Print the per-position losses", "The mean hides that one token got probability 0.11: that miss is "
                                              "88% of the total (§7.10)."),
             [("Nothing: 1.24 nats is fine", "A fine mean can hide one confident miss."),
              ("Switch to the sum", "The sum hides the same miss and also grows with the length.")],
             level="intermediate"),
    Question("Your loss is the same whether you mask padding or not. Which check comes first?",
             ("Whether the mask reaches the reduction: mean over mask.sum(), not over every position",
              "A mask that is built but never used, or a mean over mask.size, is the usual culprit (§7.12)."),
             [("Whether the logits overflow", "Overflow gives inf or NaN, not a loss that ignores the mask."),
              ("Whether the learning rate is too high", "The learning rate does not decide which positions count.")],
             level="advanced"),
    Question("In DPO, the policy raises log π(chosen) by 2 nats and log π(rejected) by 1 nat relative to the "
             "reference. With β = 0.1, what is the loss of this pair?",
             ("log(1 + e^-0.1), about 0.644", "The margin is (2 - 1) = 1 nat, times β = 0.1; the loss is "
                                              "-log σ(0.1) (§7.13)."),
             [("log 2, about 0.693", "That is the loss at margin 0, before the policy moved away from the reference."),
              ("-log σ(3 · 0.1)", "The two changes are subtracted, not added: chosen up minus rejected up.")],
             level="advanced"),
])

CHAPTER = Chapter(
    "07-sequences", "Sequences: one pass scores every position",
    [NEXT_TOKEN_PAIRS, CAUSAL_MASK, MASKED_ATTENTION_WEIGHTS, SEQUENCE_CROSS_ENTROPY], QUIZ, CausalAttentionExplorer,
    objectives=("pair inputs with targets by the shift", "mask attention with -inf and explain why not 0",
                "average a loss over the tokens that count", "read per-position losses to debug a loss"),
    minutes=60,
)
