"""The checker: strict on values, shapes and stability, fair on style, hard on shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.checker import Case, CheckFailure, Exercise, Mistake, forbid_shortcuts
from logits_to_loss.checks import softmax as ch01


def _vectorised(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _loop(logits, axis=-1):
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = [float(v) for v in x[idx]]
        exps = [np.exp(v - max(row)) for v in row]
        out[idx] = [e / sum(exps) for e in exps]
    return np.moveaxis(out, -1, axis)  # float64 even for float32 input


def _float_sum(logits, axis=-1):
    return float(np.sum(logits))


LOGITS_SUM = Exercise("total", lambda logits: np.sum(logits), {"one": lambda rng: [Case((rng.normal(size=4),), "row")]})


@pytest.mark.parametrize("fn", [_vectorised, _loop], ids=["vectorised", "loop-moveaxis-float64"])
def test_correct_answers_written_differently_pass(fn, capsys):
    """A loop, moveaxis and a float64 result for float32 input all pass every part."""
    ch01.softmax(fn)
    assert "✓ softmax" in capsys.readouterr().out


def test_python_float_counts_as_a_scalar():
    """Returning a Python float where a 0-d array is expected passes."""
    LOGITS_SUM(_float_sum)


def test_shape_mismatch_is_not_hidden_by_broadcasting():
    """A (1, V) answer for a (V,) input fails even though it broadcasts and has the right values."""
    with pytest.raises(CheckFailure, match=r"shape \(1, 4\), expected \(4,\).*extra batch axis"):
        ch01.softmax(lambda logits, axis=-1: _vectorised(logits.reshape(1, -1)), part="1-D")


def test_in_place_edit_of_the_input_is_reported():
    """A function that shifts the caller's logits in place is told to work on a copy."""
    def in_place(logits, axis=-1):
        logits -= logits.max(axis=axis, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=axis, keepdims=True)

    with pytest.raises(CheckFailure, match="changed its input in place"):
        ch01.softmax(in_place, part="1-D")


def test_unwritten_exercise_says_so():
    """The student version's NotImplementedError becomes a plain 'not written yet' message."""
    def stub(logits, axis=-1):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not written yet"):
        ch01.softmax(stub)


def test_forgotten_return_is_named():
    """A function that computes but returns None is told about the missing return."""
    with pytest.raises(CheckFailure, match="forget the `return`"):
        ch01.softmax(lambda logits, axis=-1: None, part="1-D")


def test_integer_output_is_rejected():
    """Rounding to integers fails with a dtype message."""
    with pytest.raises(CheckFailure, match="returned integers"):
        ch01.softmax(lambda logits, axis=-1: np.zeros(np.shape(logits), dtype=int), part="1-D")


def test_crash_is_reported_with_the_input():
    """An exception inside learner code becomes feedback that shows the call."""
    with pytest.raises(CheckFailure, match=r"softmax\(.*raised ZeroDivisionError"):
        ch01.softmax(lambda logits, axis=-1: 1 / 0, part="1-D")


def _imports_scipy(logits, axis=-1):
    from scipy.special import softmax

    return softmax(logits, axis=axis)


@pytest.mark.parametrize(
    "fn, banned",
    [(lambda logits, axis=-1: ltl.softmax(logits, axis=axis), "logits_to_loss"), (_imports_scipy, "scipy")],
    ids=["reference", "scipy-import"],
)
def test_shortcuts_are_refused(fn, banned):
    """Calling the reference or SciPy is refused by name."""
    with pytest.raises(CheckFailure, match=f"from {banned}"):
        forbid_shortcuts(fn, "softmax")


def test_shortcut_hidden_in_a_helper_is_found():
    """A learner helper that calls torch is followed and refused."""
    import torch

    def helper(x):
        return torch.softmax(torch.as_tensor(x), dim=-1).numpy()

    def softmax(logits, axis=-1):
        return helper(logits)

    with pytest.raises(CheckFailure, match="uses `torch` from torch"):
        ch01.softmax(softmax)


def test_numpy_only_code_is_allowed():
    """NumPy and the learner's own helpers are fine."""
    def helper(x):
        return np.exp(x - x.max(axis=-1, keepdims=True))

    def softmax(logits, axis=-1):
        e = helper(logits)
        return e / e.sum(axis=-1, keepdims=True)

    forbid_shortcuts(softmax, "softmax")


def test_random_cases_defeat_hard_coding():
    """An answer that memorises the visible example fails on the random cases."""
    known = ltl.softmax(np.array([2.0, 1.0, 0.5, -1.0]))

    def memorised(logits, axis=-1):
        if np.shape(logits) == (4,) and np.allclose(logits, [2.0, 1.0, 0.5, -1.0]):
            return known
        return np.full(np.shape(logits), 1 / np.shape(logits)[-1])  # right for equal logits only

    with pytest.raises(CheckFailure, match=r"\[random row\]"):
        ch01.softmax(memorised, part="1-D")


def test_mistake_fingerprint_names_the_misconception():
    """A wrong answer that matches a catalogued mistake is named with its explanation."""
    ex = Exercise(
        "double",
        lambda x: 2 * x,
        {"p": lambda rng: [Case((np.array([1.0, 2.0]),), "fixed")]},
        [Mistake("added instead of multiplied", lambda x: x + 2, "Doubling is 2*x (§9.9).")],
    )
    with pytest.raises(CheckFailure, match=r"added instead of multiplied\. Doubling is 2\*x \(§9\.9\)"):
        ex(lambda x: x + 2)
    with pytest.raises(CheckFailure, match=r"expected \[2\. 4\.\]"):
        ex(lambda x: x * 3)


def test_nan_output_is_called_out():
    """NaN where the answer is finite gets the overflow message, not just a value diff."""
    ex = Exercise("ident", lambda x: x, {"p": lambda rng: [Case((np.array([1.0]),), "one")]})
    with pytest.raises(CheckFailure, match="contains nan or inf"):
        ex(lambda x: x * np.nan)


def test_unknown_part_is_an_error():
    """Asking for a part that does not exist names the valid parts."""
    with pytest.raises(ValueError, match="part must be one of"):
        ch01.softmax(_vectorised, part="nope")
