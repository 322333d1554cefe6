"""Mastery checks: multiple-choice questions with instant feedback and nbgrader grading.

An author writes each :class:`Question` as its right option and its wrong ones, each with the
reason; the :class:`Quiz` numbers the questions and places the right options so that they spread
over the letters (no letter is right in more than 40% of a chapter's questions). In the notebook
``quiz.widget()`` shows radio buttons and keeps an ``answers = {...}`` line up to date; the
learner copies it into the answer cell and the test cells call ``quiz.check(answers, "q1")``.

The widget is formative by default (it explains every option as it is picked); in
``mode="assessment"`` it only records the choice.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Mapping, Sequence

from .checker import CheckFailure, NotWritten, not_yet

LEVELS = ("foundational", "intermediate", "advanced")


@dataclass(frozen=True)
class Question:
    """A prompt, the right option and the wrong ones, each option a ``(text, why)`` pair."""

    prompt: str
    right: tuple[str, str]
    wrong: Sequence[tuple[str, str]]
    level: str = "foundational"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        if not self.wrong:
            raise ValueError(f"a question needs at least one wrong option: {self.prompt!r}")


@dataclass(frozen=True)
class Placed:
    """A question with its letters: ``options`` maps a letter to ``(text, why)``."""

    qid: str
    question: Question
    options: Mapping[str, tuple[str, str]]
    correct: str


def _place(questions: Sequence[Question]) -> list[Placed]:
    """Give each question's right option the letter that has been right least often so far."""
    used: dict[str, int] = {}
    placed = []
    for number, q in enumerate(questions, start=1):
        letters = string.ascii_lowercase[: len(q.wrong) + 1]
        position = min(range(len(letters)), key=lambda i: (used.get(letters[i], 0), (i - number) % len(letters)))
        texts = [*q.wrong[:position], q.right, *q.wrong[position:]]
        correct = letters[position]
        used[correct] = used.get(correct, 0) + 1
        placed.append(Placed(f"q{number}", q, dict(zip(letters, texts)), correct))
    return placed


class Quiz:
    """The mastery check of one chapter."""

    def __init__(self, questions: Sequence[Question]) -> None:
        self.questions = {p.qid: p for p in _place(questions)}

    @property
    def key(self) -> dict[str, str]:
        """The right letter of every question."""
        return {qid: p.correct for qid, p in self.questions.items()}

    def feedback(self, qid: str, letter: str) -> tuple[bool, str]:
        """``(is_correct, explanation)`` for choosing ``letter`` in question ``qid``."""
        placed = self.questions[qid]
        if letter not in placed.options:
            letters = ", ".join(repr(k) for k in placed.options)
            raise CheckFailure(f"{qid}: {letter!r} is not one of the options {letters}")
        return letter == placed.correct, placed.options[letter][1]

    def verdict(self, answers: Mapping[str, str | None], qid: str) -> str:
        """The ✓ line of one answer; raise :class:`CheckFailure` if it is wrong, NotWritten if it is missing."""
        if not isinstance(answers, Mapping):
            raise CheckFailure(f"answers must be a dict like {{'q1': 'b'}}, got {type(answers).__name__}")
        if qid not in self.questions:
            raise ValueError(f"qid must be one of {sorted(self.questions)}, got {qid!r}")
        letter = answers.get(qid)
        if letter is None:
            raise NotWritten(f"{qid} is not answered yet: set answers[{qid!r}] to one of the option letters")
        correct, why = self.feedback(qid, str(letter).strip().lower())
        if not correct:
            raise CheckFailure(f"{qid}: {letter!r} is not the best answer. {why}")
        return f"✓ {qid}: correct. {why}"

    def check(self, answers: Mapping[str, str | None], qid: str) -> None:
        """Grade one answer: print its ✓ line, or raise :class:`CheckFailure` with the option's explanation."""
        try:
            print(self.verdict(answers, qid))
        except NotWritten as missing:
            not_yet(str(missing))

    def blank_answers(self) -> str:
        """The answer line a learner starts from: every question unanswered."""
        return "answers = {" + ", ".join(f'"{qid}": None' for qid in self.questions) + "}"

    def widget(self, mode: str = "formative"):
        """The interactive quiz (ipywidgets); ``mode="assessment"`` records choices without judging them."""
        import ipywidgets as w

        if mode not in ("formative", "assessment"):
            raise ValueError(f"mode must be 'formative' or 'assessment', got {mode!r}")
        summary = w.HTML()
        chosen: dict[str, str | None] = {qid: None for qid in self.questions}

        def refresh_summary() -> None:
            pairs = ", ".join(f'"{q}": {repr(k) if k else None}' for q, k in chosen.items())
            summary.value = f"<p>Copy into the answer cell:</p><pre>answers = {{{pairs}}}</pre>"

        blocks = []
        for qid, placed in self.questions.items():
            buttons = w.RadioButtons(
                options=[(f"{k}) {text}", k) for k, (text, _) in placed.options.items()],
                value=None,
                layout=w.Layout(width="auto"),
            )
            note = w.HTML()

            def on_pick(change, qid=qid, note=note) -> None:
                if change["new"] is None:
                    return
                chosen[qid] = change["new"]
                if mode == "assessment":
                    note.value = f"<i>Recorded: {change['new']}</i>"
                else:
                    correct, why = self.feedback(qid, change["new"])
                    note.value = f"<b>{'✓ Right' if correct else '✗ Not quite'}.</b> {why}"
                refresh_summary()

            buttons.observe(on_pick, names="value")
            level = placed.question.level
            blocks.append(w.VBox([w.HTML(f"<b>{qid}.</b> {placed.question.prompt} <i>({level})</i>"), buttons, note]))
        refresh_summary()
        return w.VBox([*blocks, summary])
