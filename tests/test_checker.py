"""The checker: strict on values, shapes and stability, fair on style, hard on shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.chapter import load
from logits_to_loss.checker import Case, CheckFailure, Exercise, Mistake, Part, forbid_shortcuts, submission_seed

SOFTMAX = load("01-softmax").softmax


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


LOGITS_SUM = Exercise("total(logits)", lambda logits: np.sum(logits), {"one": Part("sum.", lambda rng: [Case((rng.normal(size=4),), "row")])})


@pytest.mark.parametrize("fn", [_vectorised, _loop], ids=["vectorised", "loop-moveaxis-float64"])
def test_correct_answers_written_differently_pass(fn, capsys):
    """A loop, moveaxis and a float64 result for float32 input all pass every part."""
    for part in SOFTMAX.parts:
        SOFTMAX.check(fn, part)
    assert capsys.readouterr().out.count("✓ softmax") == len(SOFTMAX.parts)


def test_python_float_counts_as_a_scalar():
    """Returning a Python float where a 0-d array is expected passes."""
    LOGITS_SUM.check(_float_sum, "one")


def test_shape_mismatch_is_not_hidden_by_broadcasting():
    """A (1, V) answer for a (V,) input fails even though it broadcasts and has the right values."""
    with pytest.raises(CheckFailure, match=r"shape \(1, 4\), expected \(4,\).*extra batch axis"):
        SOFTMAX.check(lambda logits, axis=-1: _vectorised(logits.reshape(1, -1)), "1-D")


def test_in_place_edit_of_the_input_is_reported():
    """A function that shifts the caller's logits in place is told to work on a copy."""
    def in_place(logits, axis=-1):
        logits -= logits.max(axis=axis, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=axis, keepdims=True)

    with pytest.raises(CheckFailure, match="changed its input in place"):
        SOFTMAX.check(in_place, "1-D")


def test_unwritten_exercise_says_so(capsys, monkeypatch):
    """The student version's NotImplementedError becomes a plain 'not written yet' message."""
    def stub(logits, axis=-1):
        raise NotImplementedError()

    SOFTMAX.check(stub, "1-D")  # self-study: one printed line, Run All goes on
    assert capsys.readouterr().out.strip() == (
        "… softmax is not written yet: replace `raise NotImplementedError()` with your code")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(CheckFailure, match="not written yet"):  # graded: the cell fails
        SOFTMAX.check(stub, "1-D")


def test_forgotten_return_is_named():
    """A function that computes but returns None is told about the missing return."""
    with pytest.raises(CheckFailure, match="forget the `return`"):
        SOFTMAX.check(lambda logits, axis=-1: None, "1-D")


def test_integer_output_is_rejected():
    """Rounding to integers fails with a dtype message."""
    with pytest.raises(CheckFailure, match="returned integers"):
        SOFTMAX.check(lambda logits, axis=-1: np.zeros(np.shape(logits), dtype=int), "1-D")


def test_crash_is_reported_with_the_input():
    """An exception inside learner code becomes feedback that shows the call."""
    with pytest.raises(CheckFailure, match=r"softmax\(.*raised ZeroDivisionError"):
        SOFTMAX.check(lambda logits, axis=-1: 1 / 0, "1-D")


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
        SOFTMAX.check(softmax, "1-D")


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
        SOFTMAX.check(memorised, "1-D")


DOUBLE = Exercise(
    "double(x)",
    lambda x: 2 * x,
    {"p": Part("doubles.", lambda rng: [Case((np.array([1.0, 2.0]),), "fixed")])},
    [Mistake("added instead of multiplied", "return x + 2", "Doubling is 2*x (§9.9).")],
)


def test_mistake_fingerprint_names_the_misconception():
    """A wrong answer that matches a catalogued mistake is named; another shows the digits that differ."""
    with pytest.raises(CheckFailure, match=r"added instead of multiplied\. Doubling is 2\*x \(§9\.9\)"):
        DOUBLE.check(lambda x: x + 2, "p")
    with pytest.raises(CheckFailure, match=r"returned 3 at index \[0\] where the answer is 2"):
        DOUBLE.check(lambda x: x * 3, "p")


def test_close_values_show_the_digits_that_differ():
    """A near miss never reads 'returned X, expected X': enough digits are shown to see the difference."""
    with pytest.raises(CheckFailure) as failure:
        DOUBLE.check(lambda x: 2 * x * (1 + 1e-9), "p")
    assert "returned 2.000000002 at index [0] where the answer is 2" in str(failure.value)


def test_nan_output_is_called_out():
    """NaN where the answer is finite gets the overflow message, not just a value diff."""
    ex = Exercise("ident(x)", lambda x: x, {"p": Part("same.", lambda rng: [Case((np.array([1.0]),), "one")])})
    with pytest.raises(CheckFailure, match="contains nan or inf"):
        ex.check(lambda x: x * np.nan, "p")


def test_unknown_part_is_an_error():
    """Asking for a part that does not exist names the valid parts."""
    with pytest.raises(ValueError, match="part must be one of"):
        SOFTMAX.check(_vectorised, "nope")


def test_tolerance_follows_the_dtype():
    """float32 inputs get a tolerance about 2^29 times wider than float64 ones, growing with the logits' size."""
    from logits_to_loss.checker import tolerance

    small, large = np.ones(4), np.full(4, 1000.0)
    assert tolerance(Case((small.astype(np.float32),), "")) / tolerance(Case((small,), "")) == pytest.approx(2**29)
    assert tolerance(Case((large,), "")) > 100 * tolerance(Case((small,), ""))


def test_grading_seed_is_fixed_by_the_submission(monkeypatch, tmp_path):
    """Under nbgrader the seed depends on the student's folder and the part only; in self-study it is fresh."""
    assert submission_seed("softmax", "1-D") is None
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    seeds = {}
    for student in ("ada", "bob"):
        folder = tmp_path / student / "01-softmax"
        folder.mkdir(parents=True)
        monkeypatch.chdir(folder)
        seeds[student] = (submission_seed("softmax", "1-D"), submission_seed("softmax", "1-D"),
                          submission_seed("softmax", "axis"))
    assert seeds["ada"][0] == seeds["ada"][1] != seeds["ada"][2]
    assert seeds["ada"][0] != seeds["bob"][0]


def test_failure_renders_as_a_short_box():
    """IPython shows a CheckFailure through _render_traceback_: the message, no checker traceback."""
    lines = CheckFailure("softmax(...) returned nan: no max shift. Subtract the max (§2.5).")._render_traceback_()
    assert len(lines) == 1 and "Traceback" not in "".join(lines) and "§2.5" in "".join(lines)


def test_default_argument_cannot_smuggle_the_reference():
    """A reference hidden in a default argument is found like a global one."""
    def softmax(logits, axis=-1, helper=ltl.softmax):
        return helper(logits, axis=axis)

    with pytest.raises(CheckFailure, match="from logits_to_loss"):
        SOFTMAX.check(softmax, "1-D")


def test_random_generators_are_copied_for_every_call():
    """The reference and the learner draw the same numbers from a Case's generator."""
    ex = Exercise("draw(rng)", lambda rng: rng.random(3),
                  {"p": Part("draws.", lambda rng: [Case((np.random.default_rng(7),), "seeded")])}, from_scratch=False)
    ex.check(lambda rng: rng.random(3), "p")


def test_observe_compares_what_the_reference_returns():
    """With ``observe`` a sampler is judged by the frequencies of its draws against the probabilities."""
    probs = np.array([0.7, 0.2, 0.1])
    ex = Exercise(
        "sampler(rng)", lambda rng: probs,
        {"p": Part("samples.", lambda rng: [Case((np.random.default_rng(1),), "10,000 draws")])},
        observe=lambda ids, case: np.bincount(ids, minlength=3) / 10_000, tolerance=lambda case: 0.02,
        from_scratch=False,
    )
    ex.check(lambda rng: rng.choice(3, size=10_000, p=probs), "p")
    with pytest.raises(CheckFailure):
        ex.check(lambda rng: rng.choice(3, size=10_000), "p")
