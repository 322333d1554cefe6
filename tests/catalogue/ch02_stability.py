"""Chapter 2 mistakes: the usual ways a stable softmax, log-sum-exp and log-softmax go wrong, and ways to cheat."""

from . import Submission

CHAPTER = "02-stability"

# -- stable_softmax --------------------------------------------------------------------------------

_SOFTMAX_NO_SHIFT = '''
def stable_softmax(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)
'''

_SOFTMAX_GLOBAL_MAX = '''
def stable_softmax(logits, axis=-1):
    e = np.exp(logits - logits.max())
    return e / e.sum(axis=axis, keepdims=True)
'''

_SOFTMAX_SUM_SHIFT = '''
def stable_softmax(logits, axis=-1):
    e = np.exp(logits - logits.sum(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
'''

_SOFTMAX_AXIS_IGNORED = '''
def stable_softmax(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''

_SOFTMAX_IN_PLACE = '''
def stable_softmax(logits, axis=-1):
    logits -= logits.max(axis=axis, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)
'''

_SOFTMAX_CALLS_REFERENCE = '''
def stable_softmax(logits, axis=-1):
    return ltl.softmax(logits, axis=axis)
'''

_SOFTMAX_CALLS_TORCH = '''
import torch

def stable_softmax(logits, axis=-1):
    return torch.softmax(torch.as_tensor(logits), dim=axis).numpy()
'''

_SOFTMAX_HARD_CODED = '''
def stable_softmax(logits, axis=-1):
    return np.array([0.844, 0.114, 0.042])
'''

# -- logsumexp -------------------------------------------------------------------------------------

_LSE_NO_SHIFT = '''
def logsumexp(logits, axis=-1):
    return np.log(np.exp(logits).sum(axis=axis))
'''

_LSE_NO_ADD_BACK = '''
def logsumexp(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return np.log(np.exp(logits - m).sum(axis=axis))
'''

_LSE_GLOBAL_MAX = '''
def logsumexp(logits, axis=-1):
    m = logits.max()
    return m + np.log(np.exp(logits - m).sum(axis=axis))
'''

_LSE_LOG10 = '''
def logsumexp(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return np.squeeze(m + np.log10(np.exp(logits - m).sum(axis=axis, keepdims=True)), axis=axis)
'''

_LSE_KEEPDIMS = '''
def logsumexp(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))
'''

_LSE_CALLS_TORCH = '''
import torch

def logsumexp(logits, axis=-1):
    return torch.logsumexp(torch.as_tensor(logits), dim=axis).numpy()
'''

_LSE_CALLS_SCIPY = '''
from scipy.special import logsumexp as scipy_logsumexp

def logsumexp(logits, axis=-1):
    return scipy_logsumexp(logits, axis=axis)
'''

# -- log_softmax -----------------------------------------------------------------------------------

_LOGSM_LOG_OF_SOFTMAX = '''
def log_softmax(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return np.log(e / e.sum(axis=axis, keepdims=True))
'''

_LOGSM_NO_SHIFT = '''
def log_softmax(logits, axis=-1):
    return logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))
'''

_LOGSM_GLOBAL_MAX = '''
def log_softmax(logits, axis=-1):
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
'''

_LOGSM_LOG2 = '''
def log_softmax(logits, axis=-1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log2(np.exp(shifted).sum(axis=axis, keepdims=True))
'''

_LOGSM_NO_ADD_BACK = '''
def log_softmax(logits, axis=-1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return logits - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
'''

_LOGSM_CALLS_REFERENCE = '''
def log_softmax(logits, axis=-1):
    return ltl.log_softmax(logits, axis=axis)
'''

_SOFTMAX_ALL = ("test-stable-softmax-ordinary", "test-stable-softmax-large", "test-stable-softmax-batched")
_LSE_ALL = ("test-logsumexp-ordinary", "test-logsumexp-large", "test-logsumexp-batched")
_LOGSM_ALL = ("test-log-softmax-ordinary", "test-log-softmax-large", "test-log-softmax-batched")

SUBMISSIONS = {
    # stable_softmax
    "softmax-no-shift": Submission(
        {"stable_softmax": _SOFTMAX_NO_SHIFT}, ("test-stable-softmax-large",), ("no max shift",)
    ),
    "softmax-global-max": Submission(
        {"stable_softmax": _SOFTMAX_GLOBAL_MAX}, ("test-stable-softmax-batched",), ("one global max for the whole batch",)
    ),
    "softmax-sum-shift": Submission(
        {"stable_softmax": _SOFTMAX_SUM_SHIFT},
        ("test-stable-softmax-large", "test-stable-softmax-batched"),
        ("shifted by the sum instead of the max",),
    ),
    "softmax-axis-ignored": Submission(
        {"stable_softmax": _SOFTMAX_AXIS_IGNORED}, ("test-stable-softmax-batched",), ("normalised along the wrong axis",)
    ),
    "softmax-in-place": Submission({"stable_softmax": _SOFTMAX_IN_PLACE}, _SOFTMAX_ALL, ("changed its input in place",)),
    # logsumexp
    "logsumexp-no-shift": Submission(
        {"logsumexp": _LSE_NO_SHIFT}, ("test-logsumexp-large",), ("log-sum-exp without the max shift",)
    ),
    "logsumexp-no-add-back": Submission({"logsumexp": _LSE_NO_ADD_BACK}, _LSE_ALL, ("the max not added back",)),
    "logsumexp-global-max": Submission(
        {"logsumexp": _LSE_GLOBAL_MAX}, ("test-logsumexp-batched",), ("one global max for the whole batch",)
    ),
    "logsumexp-log10": Submission({"logsumexp": _LSE_LOG10}, _LSE_ALL, ("log base 10 instead of the natural log",)),
    "logsumexp-keepdims": Submission({"logsumexp": _LSE_KEEPDIMS}, _LSE_ALL, ("the reduced axis kept",)),
    # log_softmax
    "log-softmax-log-of-softmax": Submission(
        {"log_softmax": _LOGSM_LOG_OF_SOFTMAX}, ("test-log-softmax-large",), ("log of a softmax that underflowed",)
    ),
    "log-softmax-no-shift": Submission(
        {"log_softmax": _LOGSM_NO_SHIFT}, ("test-log-softmax-large",), ("log-sum-exp without the max shift",)
    ),
    "log-softmax-global-max": Submission(
        {"log_softmax": _LOGSM_GLOBAL_MAX}, ("test-log-softmax-batched",), ("one global max for the whole batch",)
    ),
    "log-softmax-log2": Submission({"log_softmax": _LOGSM_LOG2}, _LOGSM_ALL, ("log base 2 instead of the natural log",)),
    "log-softmax-no-add-back": Submission({"log_softmax": _LOGSM_NO_ADD_BACK}, _LOGSM_ALL, ("the max not added back",)),
    # quiz
    "wrong-quiz": Submission(
        {"answers": 'answers = {"q1": "a", "q2": "b", "q3": "a", "q4": "b", "q5": "a", "q6": "b", "q7": "a"}'},
        ("test-quiz-q1", "test-quiz-q5", "test-quiz-q7"),
        ("float16's limit", "softmax first rounds p = e^-810 to 0", "keeps float32's 8-bit exponent"),
    ),
    # cheats
    "softmax-calls-reference": Submission({"stable_softmax": _SOFTMAX_CALLS_REFERENCE}, _SOFTMAX_ALL, ("write it from scratch",), cheat=True),
    "softmax-calls-torch": Submission({"stable_softmax": _SOFTMAX_CALLS_TORCH}, _SOFTMAX_ALL, ("from torch",), cheat=True),
    "softmax-hard-coded": Submission({"stable_softmax": _SOFTMAX_HARD_CODED}, _SOFTMAX_ALL, cheat=True),
    "logsumexp-calls-torch": Submission({"logsumexp": _LSE_CALLS_TORCH}, _LSE_ALL, ("from torch",), cheat=True),
    "logsumexp-calls-scipy": Submission({"logsumexp": _LSE_CALLS_SCIPY}, _LSE_ALL, ("from scipy",), cheat=True),
    "log-softmax-calls-reference": Submission(
        {"log_softmax": _LOGSM_CALLS_REFERENCE}, _LOGSM_ALL, ("write it from scratch",), cheat=True
    ),
}
