"""Trusted verdicts: graded cells judged in the grader's process against learner code run in another.

For every chapter the solution passes every part, visible and hidden, across the process
boundary; sampled mistakes (the exercise's first, an in-place edit, a missing return) fail
their parts and are named; every cheat fails every part. Then the cheats measured against the
old in-kernel grading (patching the checker or numpy, input transformers, the reference reached
through a default argument, ``functools.partial``, ``__import__``, ``importlib``, its source
file or a subprocess, the checker's stack frames, computed quiz answers) and hostile code
(``os._exit``, an endless loop) all end in a failed cell, never in a pass or an error of ours.
"""

from __future__ import annotations

import stat
import textwrap

import pytest
from course_helpers import CHAPTERS, solution_code, submission_code

from logits_to_loss.checker import CheckFailure, seed_of
from logits_to_loss.grading.verdict import Judge, answers_of, checks_of, course_secret
from logits_to_loss.mistakes import EDITED_INPUT, MISSING_RETURN

SOFTMAX = CHAPTERS["01-softmax"]


def _outcomes(chapter, code: dict[str, str], exercise, timeout: float = 60) -> dict[str, str]:
    """Part -> "pass" or the failure's message, for ``exercise`` of a submission with ``code``."""
    found = {}
    with Judge(chapter, "student", list(code.values()), [], timeout) as judge:
        for part in exercise.parts:
            try:
                judge.one(exercise.name, part, hidden=False)
                found[part] = "pass"
            except CheckFailure as failure:
                found[part] = str(failure)
    return found


@pytest.mark.parametrize("chapter", CHAPTERS.values(), ids=lambda c: c.id)
def test_solution_passes_and_sampled_mistakes_fail_across_the_boundary(chapter):
    """The solution passes every part and the quiz; sampled mistakes fail exactly their parts, named; cheats fail all."""
    right = solution_code(chapter.id)
    with Judge(chapter, "student", list(right.values()), [], 120) as judge:
        for exercise in chapter.exercises:
            for part in exercise.parts:
                for hidden in (False, True):
                    assert judge.one(exercise.name, part, hidden).startswith("✓")
        for qid in chapter.quiz.questions:
            assert judge.one("quiz", qid, False).startswith("✓")
    for exercise in chapter.exercises:
        sample = [exercise.mistakes[0], *(m for m in exercise.catalogue if m in (EDITED_INPUT, MISSING_RETURN))]
        for mistake in [*sample, *exercise.cheats]:
            code = {**right, exercise.name: submission_code(chapter, exercise, mistake)}
            outcomes = _outcomes(chapter, code, exercise)
            fails = set(exercise.parts) if mistake.cheat else set(mistake.parts or exercise.parts)
            assert {p for p, o in outcomes.items() if o != "pass"} == fails, (mistake.name, outcomes)
            if not mistake.cheat:
                assert any(mistake.name in o for o in outcomes.values()), (mistake.name, outcomes)


WRONG = """
def softmax(logits, axis=-1):
    return np.ones_like(logits)
"""
HOSTILE = {
    "patches the checker": """
        import logits_to_loss.checker as checker
        checker.Exercise.verdict = lambda *a, **k: None
        """ + WRONG,
    "patches numpy": """
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        """ + WRONG,
    "input transformer": """
        get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
        """ + WRONG,
    "default argument": """
        def softmax(logits, axis=-1, _reference=__import__("logits_to_loss").softmax):
            return _reference(logits, axis=axis)
        """,
    "functools.partial": """
        import functools
        import logits_to_loss
        softmax = functools.partial(logits_to_loss.softmax)
        """,
    "__import__ at call time": """
        def softmax(logits, axis=-1):
            return __import__("logits_to_loss").softmax(logits, axis=axis)
        """,
    "importlib at call time": """
        def softmax(logits, axis=-1):
            import importlib
            return importlib.import_module("logits_to_loss.normalisation").softmax(logits, axis=axis)
        """,
    "the reference's source file": """
        def softmax(logits, axis=-1):
            import importlib.util, os
            spec = importlib.util.find_spec("logits_to_loss")
            scope = {}
            path = os.path.join(os.path.dirname(spec.origin), "normalisation.py")
            exec(open(path).read().replace("from .", "from logits_to_loss."), scope)
            return scope["softmax"](logits, axis=axis)
        """,
    "a subprocess": """
        def softmax(logits, axis=-1):
            import json, subprocess, sys
            code = "import json, sys, numpy as np, logits_to_loss as l; print(json.dumps(l.softmax(np.array(json.loads(sys.argv[1]))).tolist()))"
            out = subprocess.run([sys.executable, "-c", code, json.dumps(logits.tolist())], capture_output=True, text=True)
            return np.array(json.loads(out.stdout))
        """,
    "reads the checker's frames": """
        import sys
        def softmax(logits, axis=-1):
            frame = sys._getframe(1)
            while frame is not None:
                for value in frame.f_locals.values():
                    if isinstance(value, np.ndarray) and value.shape == logits.shape and value is not logits:
                        return value
                frame = frame.f_back
            return np.zeros_like(logits)
        """,
    "ends its process": """
        def softmax(logits, axis=-1):
            import os
            os._exit(0)
        """,
    "loops forever": """
        def softmax(logits, axis=-1):
            while True:
                pass
        """,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_code_fails_every_part(name):
    """Cheats that paid under in-kernel grading, and code that kills or hangs its process, fail every part."""
    exercise = SOFTMAX.exercises[0]
    code = {**solution_code(SOFTMAX.id), exercise.name: textwrap.dedent(HOSTILE[name])}
    outcomes = _outcomes(SOFTMAX, code, exercise, timeout=5)
    assert "pass" not in outcomes.values(), outcomes


def test_quiz_is_read_from_a_literal_and_judged_here():
    """The answer cell is read as a literal: computed answers and a missing cell fail; literal ones are judged."""
    quiz = SOFTMAX.quiz
    qid, right = next(iter(quiz.questions)), solution_code(SOFTMAX.id)
    assert answers_of(["answers = {'q1': 'a'}", "answers = {'q1': 'c'}"]) == {"q1": "c"}
    assert "written out" in answers_of(["answers = dict(q1='b')"])
    assert "not set" in answers_of(["x = 1"])
    with Judge(SOFTMAX, "s", [right["answers"]], [], 10) as judge:
        assert judge.one("quiz", qid, False).startswith("✓")
    with Judge(SOFTMAX, "s", ["import logits_to_loss\nanswers = logits_to_loss.chapter.load('01-softmax').quiz"], [], 10) as judge:
        with pytest.raises(CheckFailure, match="written out"):
            judge.one("quiz", qid, False)


def test_test_cells_are_parsed_into_their_checks():
    """A generated test cell names its exercise, part and hidden flag; the quiz cell names its question."""
    cell = 'ch.softmax.check(softmax, "batched")\n### BEGIN HIDDEN TESTS\nch.softmax.check(softmax, "batched", hidden=True)'
    assert checks_of(cell) == [("softmax", "batched", False), ("softmax", "batched", True)]
    assert checks_of('ch.quiz.check(answers, "q3")') == [("quiz", "q3", False)]


def test_hidden_cases_are_seeded_by_the_course_secret(monkeypatch):
    """Hidden cases change with the grader's secret and visible ones do not, so no student can redraw the hidden ones."""
    exercise, seeds = SOFTMAX.exercises[0], []
    part = next(iter(exercise.parts))
    monkeypatch.setattr(type(exercise), "verdict", lambda self, fn, part, seed: seeds.append(seed))
    right = solution_code(SOFTMAX.id)
    for secret in ("one", "two"):
        with Judge(SOFTMAX, "student", list(right.values()), [], 60, secret) as judge:
            for hidden in (False, True):
                judge.one(exercise.name, part, hidden)
    visible_one, hidden_one, visible_two, hidden_two = seeds
    assert visible_one == visible_two == seed_of("student", SOFTMAX.id, exercise.name, part, "visible")
    assert hidden_one != hidden_two


def test_the_course_secret_is_made_once_and_kept_private(tmp_path):
    """The secret is made on first use, readable by its owner alone, and the same on every later use."""
    path = tmp_path / "grading" / "secret"
    first = course_secret(path)
    assert len(first) == 64 and course_secret(path) == first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert course_secret(tmp_path / "other") != first
