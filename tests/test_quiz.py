"""The keyless quiz that a course published for an assessment holds, and the rewrite of a declaration into it."""

from __future__ import annotations

from pathlib import Path

import pytest

from logits_to_loss.checker import CheckFailure
from logits_to_loss.grading.keyless import without_key
from logits_to_loss.quiz import Face, KeylessQuiz, Question, Quiz

QUIZ = Quiz([
    Question("2 + 2 ≈ ?", ("4", "Two pairs make four."), [("3", "One short."), ("5", "One too many.")]),
    Question("The capital of France?", ("Paris", "It has been since 987."), [("Lyon", "The third city.")],
             level="advanced"),
])
KEYLESS = QUIZ.keyless()


def test_keyless_quiz_records_an_option_and_refuses_the_rest(capsys):
    """check prints that any option is recorded, says an unanswered question is not answered yet, and refuses a
    letter that is not an option, an unknown question or answers that are not a dict; no key is left to judge."""
    assert not hasattr(KEYLESS, "key") and KEYLESS.faces == QUIZ.faces
    for letter in KEYLESS.faces["q1"].options:
        KEYLESS.check({"q1": f" {letter.upper()} "}, "q1")
    KEYLESS.check({"q1": None}, "q1")
    assert capsys.readouterr().out.splitlines() == [
        *(f"q1: {k!r} recorded; the instructor grades the quiz." for k in "abc"),
        "… q1 is not answered yet: set answers['q1'] to one of the option letters"]
    with pytest.raises(CheckFailure, match="'c' is not one of the options 'a', 'b'"):
        KEYLESS.check({"q2": "c"}, "q2")
    with pytest.raises(ValueError, match="qid must be one of"):
        KEYLESS.check({}, "q3")
    with pytest.raises(CheckFailure, match="answers must be a dict"):
        KEYLESS.check(["a"], "q1")
    assert KEYLESS.blank_answers() == QUIZ.blank_answers() == 'answers = {"q1": None, "q2": None}'


@pytest.mark.parametrize("mode", ["assessment", "formative"])
def test_keyless_widget_records_a_pick(mode):
    """With no explanation to show, the keyless widget records a pick in either mode."""
    box = KEYLESS.widget(mode=mode)
    box.children[1].children[1].value = "a"
    assert box.children[1].children[2].value == "<i>Recorded: a</i>"
    assert "\"q2\": 'a'" in box.children[-1].value and "(advanced)" in box.children[1].children[0].value


def test_a_declaration_without_its_key():
    """The one Quiz(...) call of a module becomes its keyless quiz, with the same letters, whatever else the line
    holds; the explanations and the Questions are gone."""
    source = ('from ..quiz import Question, Quiz\n\nLIMIT = 1\nQUIZ = Quiz([\n'
              '    Question("2 + 2 ≈ ?", ("4", "Two pairs make four."), [("3", "One short."), ("5", "One too many.")]),\n'
              '    Question("The capital of France?", ("Paris", "It has been since 987."), [("Lyon", "The third city.")],\n'
              '             level="advanced"),\n])  # ≈ the end\n')
    published = without_key(source, QUIZ, Path("m.py"))
    assert "Question(" not in published and "Two pairs" not in published and published.endswith("])  # ≈ the end\n")
    space: dict = {}
    exec(published.replace("from ..quiz", "from logits_to_loss.quiz"), space)
    assert isinstance(space["QUIZ"], KeylessQuiz) and space["QUIZ"].faces == QUIZ.faces and space["LIMIT"] == 1
    assert eval(repr(KEYLESS), {"Face": Face, "KeylessQuiz": KeylessQuiz}).faces == KEYLESS.faces


@pytest.mark.parametrize("source", ["QUIZ = None\n", "A = Quiz([])\nB = quiz.Quiz([])\n"])
def test_a_declaration_needs_one_quiz(source):
    """A module with no Quiz(...) call, or two, cannot be rewritten, and says so."""
    with pytest.raises(ValueError, match=r"m\.py: .*expected one Quiz\(\.\.\.\) call"):
        without_key(source, QUIZ, Path("m.py"))
