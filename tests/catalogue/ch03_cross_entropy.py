"""Chapter 3 mistakes: the usual ways a first cross-entropy and label smoothing go wrong, and ways to cheat."""

from . import Submission

CHAPTER = "03-cross-entropy"

_PROBS_AS_LOGITS = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)            # softmax first ...
    m = probs.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(probs - m).sum(axis=-1))
    return (lse - probs[np.arange(len(probs)), t]).mean()  # ... and the loss applies it again
'''

_LOG10 = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    return np.mean(-np.log10(probs[np.arange(len(z)), t]))
'''

_SIGN_FLIPPED = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    m = z.max(axis=-1, keepdims=True)
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return np.mean(log_probs[np.arange(len(z)), t])
'''

_SUMMED = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return np.sum(lse - z[np.arange(len(z)), t])
'''

_NO_SHIFT = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    lse = np.log(np.exp(z).sum(axis=-1))
    return np.mean(lse - z[np.arange(len(z)), t])
'''

_LOG_OF_SOFTMAX = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    return np.mean(-np.log(probs[np.arange(len(z)), t]))
'''

_SQUARE_GATHER = '''
def cross_entropy(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    return -np.mean(log_probs[..., targets])
'''

_TAKE_FLAT = '''
def cross_entropy(logits, targets):
    m = logits.max(axis=-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    return -np.mean(np.take(log_probs, targets))
'''

_PER_ROW = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return lse - z[np.arange(len(z)), t]
'''

_CALLS_REFERENCE = '''
def cross_entropy(logits, targets):
    return ltl.cross_entropy(logits, targets)
'''

_CALLS_TORCH = '''
import torch

def cross_entropy(logits, targets):
    loss = torch.nn.functional.cross_entropy(torch.as_tensor(logits), torch.as_tensor(targets))
    return loss.item()
'''

_HARD_CODED = '''
def cross_entropy(logits, targets):
    return {3: 2.170, 4: 0.495}.get(np.shape(logits)[-1], 0.896)
'''

_EPS_OVER_V_MINUS_1 = '''
def label_smoothed_targets(targets, num_classes, eps):
    onehot = np.eye(num_classes)[targets]
    return onehot * (1 - eps) + (1 - onehot) * eps / (num_classes - 1)
'''

_NO_ONE_MINUS_EPS = '''
def label_smoothed_targets(targets, num_classes, eps):
    return np.eye(num_classes)[targets] + eps / num_classes
'''

_SMOOTHING_REFERENCE = '''
def label_smoothed_targets(targets, num_classes, eps):
    return ltl.label_smoothed_targets(targets, num_classes, eps)
'''

_CE_ALL = ("test-cross-entropy-ordinary", "test-cross-entropy-huge", "test-cross-entropy-batch")
_SMOOTHING_ALL = ("test-smoothing-eps-01", "test-smoothing-any-eps")

SUBMISSIONS = {
    "probs-as-logits": Submission(
        {"cross_entropy": _PROBS_AS_LOGITS}, _CE_ALL, ("probabilities passed where logits are expected",)
    ),
    "log10": Submission({"cross_entropy": _LOG10}, _CE_ALL, ("log base 10 instead of the natural log",)),
    "sign-flipped": Submission({"cross_entropy": _SIGN_FLIPPED}, _CE_ALL, ("sign flipped",)),
    "summed": Submission(
        {"cross_entropy": _SUMMED}, ("test-cross-entropy-batch",), ("summed over the batch instead of averaged",)
    ),
    "no-max-shift": Submission(
        {"cross_entropy": _NO_SHIFT}, ("test-cross-entropy-huge",), ("log-sum-exp without the max shift",)
    ),
    "log-of-softmax": Submission(
        {"cross_entropy": _LOG_OF_SOFTMAX}, ("test-cross-entropy-huge",), ("log of a softmax that underflowed",)
    ),
    "square-gather": Submission(
        {"cross_entropy": _SQUARE_GATHER}, ("test-cross-entropy-batch",), ("the mean of a (B, B) matrix",)
    ),
    "take-flat": Submission(
        {"cross_entropy": _TAKE_FLAT}, ("test-cross-entropy-batch",), ("np.take without an axis",)
    ),
    "per-row": Submission({"cross_entropy": _PER_ROW}, _CE_ALL, ("per-row losses not averaged", "an extra batch axis")),
    "smoothing-eps-over-v-minus-1": Submission(
        {"label_smoothed_targets": _EPS_OVER_V_MINUS_1}, _SMOOTHING_ALL, ("eps/(V-1) on the other classes",)
    ),
    "smoothing-no-one-minus-eps": Submission(
        {"label_smoothed_targets": _NO_ONE_MINUS_EPS}, _SMOOTHING_ALL, ("forgot the (1 - eps)",)
    ),
    "wrong-quiz": Submission(
        {"answers": 'answers = {"q1": "c", "q2": "b", "q3": "b", "q4": "b", "q5": "a", "q6": "a", "q7": "b"}'},
        ("test-quiz-q1", "test-quiz-q5"),
        ("one bit", "forgets that the correct class also gets its share"),
    ),
    "calls-reference": Submission({"cross_entropy": _CALLS_REFERENCE}, _CE_ALL, ("write it from scratch",), cheat=True),
    "calls-torch": Submission({"cross_entropy": _CALLS_TORCH}, _CE_ALL, ("from torch",), cheat=True),
    "hard-coded": Submission({"cross_entropy": _HARD_CODED}, _CE_ALL, cheat=True),
    "smoothing-calls-reference": Submission(
        {"label_smoothed_targets": _SMOOTHING_REFERENCE}, _SMOOTHING_ALL, ("write it from scratch",), cheat=True
    ),
}
