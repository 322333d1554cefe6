"""Chapter 1 mistakes: the usual ways a first softmax goes wrong, and three ways to cheat."""

from . import Submission

CHAPTER = "01-softmax"

_NO_KEEPDIMS = '''
def softmax(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum(axis=axis)
'''

_WHOLE_ARRAY = '''
def softmax(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum()
'''

_NOT_NORMALISED = '''
def softmax(logits, axis=-1):
    return np.exp(logits)
'''

_BASE_TEN = '''
def softmax(logits, axis=-1):
    e = 10.0 ** logits
    return e / e.sum(axis=axis, keepdims=True)
'''

_ATLEAST_2D = '''
def softmax(logits, axis=-1):
    x = np.atleast_2d(logits)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)
'''

_CALLS_REFERENCE = '''
def softmax(logits, axis=-1):
    return ltl.softmax(logits, axis=axis)
'''

_CALLS_TORCH = '''
import torch

def softmax(logits, axis=-1):
    return torch.softmax(torch.as_tensor(logits), dim=axis).numpy()
'''

_HARD_CODED = '''
def softmax(logits, axis=-1):
    return np.array([0.609, 0.224, 0.136, 0.030])
'''

_ALL = ("test-softmax-1d", "test-softmax-batched", "test-softmax-axis")

SUBMISSIONS = {
    "no-keepdims": Submission({"softmax": _NO_KEEPDIMS}, ("test-softmax-batched", "test-softmax-axis"), ("keepdims",)),
    "whole-array": Submission({"softmax": _WHOLE_ARRAY}, ("test-softmax-batched", "test-softmax-axis"), ("normalised over the whole batch",)),
    "not-normalised": Submission({"softmax": _NOT_NORMALISED}, _ALL, ("not normalised",)),
    "base-ten": Submission({"softmax": _BASE_TEN}, _ALL, ("base 2 or 10 instead of e",)),
    "atleast-2d": Submission({"softmax": _ATLEAST_2D}, ("test-softmax-1d",), ("an extra batch axis",)),
    "wrong-quiz": Submission(
        {"answers": 'answers = {"q1": "a", "q2": "b", "q3": "a", "q4": "b", "q5": "a"}'},
        ("test-quiz-q1", "test-quiz-q3"),
        ("That is the ratio of the logits",),
    ),
    "calls-reference": Submission(
        {"softmax": _CALLS_REFERENCE}, _ALL,
        ("write it from scratch",), cheat=True,
    ),
    "calls-torch": Submission(
        {"softmax": _CALLS_TORCH}, _ALL,
        ("from torch",), cheat=True,
    ),
    "hard-coded": Submission(
        {"softmax": _HARD_CODED}, _ALL, cheat=True,
    ),
}
