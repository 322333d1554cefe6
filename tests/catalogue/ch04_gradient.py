"""Chapter 4 mistakes: the usual ways a first p - y and a first gradient check go wrong, and ways to cheat."""

from . import Submission

CHAPTER = "04-gradient"

# -- cross_entropy_grad ------------------------------------------------------------------------------

_SIGN_FLIPPED = '''
def cross_entropy_grad(logits, targets):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    rows = 1 if logits.ndim == 1 else len(logits)
    return (np.eye(logits.shape[-1])[targets] - probs) / rows
'''

_NO_ONE_OVER_B = '''
def cross_entropy_grad(logits, targets):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    return probs - np.eye(logits.shape[-1])[targets]
'''

_DIVIDED_BY_LEN = '''
def cross_entropy_grad(logits, targets):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    return (probs - np.eye(logits.shape[-1])[targets]) / logits.shape[-1]
'''

_ONEHOT_WRONG_AXIS = '''
def cross_entropy_grad(logits, targets):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    if logits.ndim == 1:
        return probs - np.eye(len(logits))[targets]
    onehot = np.zeros_like(probs)
    onehot[targets, np.arange(len(targets))] = 1.0
    return (probs - onehot) / len(logits)
'''

_LOGITS_MINUS_Y = '''
def cross_entropy_grad(logits, targets):
    rows = 1 if logits.ndim == 1 else len(logits)
    return (logits - np.eye(logits.shape[-1])[targets]) / rows
'''

_NO_MAX_SHIFT = '''
def cross_entropy_grad(logits, targets):
    e = np.exp(logits)
    probs = e / e.sum(axis=-1, keepdims=True)
    rows = 1 if logits.ndim == 1 else len(logits)
    return (probs - np.eye(logits.shape[-1])[targets]) / rows
'''

_GRAD_CALLS_REFERENCE = '''
def cross_entropy_grad(logits, targets):
    return ltl.cross_entropy_grad(logits, targets)
'''

_GRAD_CALLS_TORCH = '''
import torch

def cross_entropy_grad(logits, targets):
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), torch.as_tensor(targets).reshape(-1)).backward()
    return z.grad.numpy()
'''

_GRAD_HARD_CODED = '''
def cross_entropy_grad(logits, targets):
    if np.shape(logits) == (3,):
        return np.array([0.844, -0.886, 0.042])
    return np.zeros(np.shape(logits))
'''

# -- numerical_gradient ------------------------------------------------------------------------------

_FORWARD = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up = x.copy()
        up[i] += eps
        grad[i] = (f(up) - f(x)) / eps
    return grad
'''

_NO_FACTOR_TWO = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / eps
    return grad
'''

_IN_PLACE = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        down = f(x)
        grad[i] = (up - down) / (2 * eps)
    return grad
'''

_HUGE_EPS = '''
def numerical_gradient(f, x, eps=1e-5):
    h = 0.01  # a "safe" step, but not the one we were given
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad
'''

_ROWS_ONLY = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad
'''

_NUMGRAD_CALLS_REFERENCE = '''
def numerical_gradient(f, x, eps=1e-5):
    return ltl.numerical_gradient(f, x, eps=eps)
'''

_NUMGRAD_CALLS_TORCH = '''
import torch

def numerical_gradient(f, x, eps=1e-5):
    t = torch.tensor(x, dtype=torch.float64)
    return torch.autograd.functional.jacobian(lambda v: torch.tensor(f(v.numpy())), t).numpy()
'''

_GRAD_ALL = ("test-grad-single-row", "test-grad-batch-mean", "test-grad-huge")
_NUMGRAD_ALL = ("test-numgrad-1d", "test-numgrad-any-shape", "test-numgrad-eps")

SUBMISSIONS = {
    "sign-flipped": Submission({"cross_entropy_grad": _SIGN_FLIPPED}, _GRAD_ALL, ("sign flipped (y - p instead of p - y)",)),
    "no-one-over-b": Submission(
        {"cross_entropy_grad": _NO_ONE_OVER_B}, ("test-grad-batch-mean", "test-grad-huge"), ("forgot the 1/B of the batch mean",)
    ),
    "divided-by-v": Submission({"cross_entropy_grad": _DIVIDED_BY_LEN}, _GRAD_ALL, ("divided by the number of classes V",)),
    "onehot-wrong-axis": Submission(
        {"cross_entropy_grad": _ONEHOT_WRONG_AXIS}, ("test-grad-batch-mean", "test-grad-huge"), ("one-hot on the wrong axis",)
    ),
    "logits-minus-y": Submission(
        {"cross_entropy_grad": _LOGITS_MINUS_Y}, _GRAD_ALL, ("logits used in place of probabilities (z - y)",)
    ),
    "no-max-shift": Submission(
        {"cross_entropy_grad": _NO_MAX_SHIFT}, ("test-grad-huge",), ("softmax without the max shift",)
    ),
    "forward-differences": Submission(
        {"numerical_gradient": _FORWARD}, _NUMGRAD_ALL, ("forward differences instead of central",)
    ),
    "no-factor-two": Submission(
        {"numerical_gradient": _NO_FACTOR_TWO}, _NUMGRAD_ALL, ("forgot the factor 2 in central differences",)
    ),
    "in-place": Submission({"numerical_gradient": _IN_PLACE}, _NUMGRAD_ALL, ("x changed in place",)),
    "huge-eps": Submission({"numerical_gradient": _HUGE_EPS}, _NUMGRAD_ALL, ("a huge eps",)),
    "rows-only": Submission(
        {"numerical_gradient": _ROWS_ONLY}, ("test-numgrad-any-shape", "test-numgrad-eps"), ("bumped a whole row at a time",)
    ),
    "wrong-quiz": Submission(
        {"answers": 'answers = {"q1": "b", "q2": "b", "q3": "b", "q4": "a", "q5": "b", "q6": "a", "q7": "a"}'},
        ("test-quiz-q1", "test-quiz-q4"),
        ("That is p_reship alone", "gradient of the SUM"),
    ),
    "grad-calls-reference": Submission(
        {"cross_entropy_grad": _GRAD_CALLS_REFERENCE}, _GRAD_ALL, ("write it from scratch",), cheat=True
    ),
    "grad-calls-torch": Submission({"cross_entropy_grad": _GRAD_CALLS_TORCH}, _GRAD_ALL, ("from torch",), cheat=True),
    "grad-hard-coded": Submission({"cross_entropy_grad": _GRAD_HARD_CODED}, _GRAD_ALL, cheat=True),
    "numgrad-calls-reference": Submission(
        {"numerical_gradient": _NUMGRAD_CALLS_REFERENCE}, _NUMGRAD_ALL, ("write it from scratch",), cheat=True
    ),
    "numgrad-calls-torch": Submission(
        {"numerical_gradient": _NUMGRAD_CALLS_TORCH}, _NUMGRAD_ALL, ("from torch",), cheat=True
    ),
}
