"""Mastery checks: multiple-choice questions with instant feedback and nbgrader grading.

An author writes each :class:`Question` as its right option and its wrong ones, each with the
reason; the :class:`Quiz` numbers the questions and places the right options so that they spread
over the letters (no letter is right in more than 40% of a chapter's questions). In the notebook
``quiz.widget()`` shows radio buttons and keeps an ``answers = {...}`` line up to date; the
learner copies it into the answer cell and the test cells call ``quiz.check(answers, "q1")``.

The widget is formative by default (it explains every option as it is picked); in
``mode="assessment"`` it only records the choice. A course published for an assessment holds each
quiz as a :class:`KeylessQuiz` (``Quiz.keyless()``): the same questions and letters without the
key or the explanations, whose ``check`` only records an answer for the instructor to grade.
"""

from __future__ import annotations

import hashlib
import string
from abc import ABC, abstractmethod
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
class Face:
    """What a learner sees of a placed question: its prompt, level and lettered option texts, and no key."""

    qid: str
    prompt: str
    level: str
    options: dict[str, str]


@dataclass(frozen=True)
class Placed:
    """A question with its letters: ``options`` maps a letter to ``(text, why)``."""

    qid: str
    question: Question
    options: Mapping[str, tuple[str, str]]
    correct: str

    @property
    def face(self) -> Face:
        """The question as a learner sees it: the option texts under their letters, no key."""
        return Face(self.qid, self.question.prompt, self.question.level,
                    {letter: text for letter, (text, _) in self.options.items()})


def _draw(question: Question, n: int) -> int:
    """A position in ``range(n)`` drawn from the right option's explanation, a text no keyless quiz shows."""
    return int.from_bytes(hashlib.sha256(question.right[1].encode()).digest()[:8], "big") % n


def _place(questions: Sequence[Question]) -> list[Placed]:
    """Give each question's right option the letter that has been right least often so far.

    Ties go to the letter :func:`_draw` picks, so the letters cannot be worked out from what a
    published assessment shows (the number of options of each question, say).
    """
    used: dict[str, int] = {}
    placed = []
    for number, q in enumerate(questions, start=1):
        letters = string.ascii_lowercase[: len(q.wrong) + 1]
        drawn = _draw(q, len(letters))
        position = min(range(len(letters)), key=lambda i: (used.get(letters[i], 0), (i - drawn) % len(letters)))
        texts = [*q.wrong[:position], q.right, *q.wrong[position:]]
        correct = letters[position]
        used[correct] = used.get(correct, 0) + 1
        placed.append(Placed(f"q{number}", q, dict(zip(letters, texts)), correct))
    return placed


class Sheet(ABC):
    """The learner's side of a quiz, which needs no key: the questions as shown, the answer line and the widget."""

    def __init__(self, faces: Sequence[Face]) -> None:
        self.faces = {face.qid: face for face in faces}

    def answer_line(self, answers: Mapping[str, str | None]) -> str:
        """``answers = {...}`` with a letter or None for every question, as the answer cell holds it."""
        return "answers = {" + ", ".join(f'"{qid}": ' + (f'"{answers[qid]}"' if answers.get(qid) else "None")
                                         for qid in self.faces) + "}"

    def blank_answers(self) -> str:
        """The answer line a learner starts from: every question unanswered."""
        return self.answer_line({})

    def _option(self, qid: str, letter: str) -> None:
        """Raise :class:`CheckFailure` unless ``letter`` is one of question ``qid``'s options."""
        options = self.faces[qid].options
        if letter not in options:
            raise CheckFailure(f"{qid}: {letter!r} is not one of the options {', '.join(repr(k) for k in options)}")

    def answered(self, answers: Mapping[str, str | None], qid: str) -> str:
        """The option letter answered to ``qid``; NotWritten if there is none, CheckFailure if it is not an option."""
        if not isinstance(answers, Mapping):
            raise CheckFailure(f"answers must be a dict like {{'q1': 'b'}}, got {type(answers).__name__}")
        if qid not in self.faces:
            raise ValueError(f"qid must be one of {sorted(self.faces)}, got {qid!r}")
        letter = answers.get(qid)
        if letter is None:
            raise NotWritten(f"{qid} is not answered yet: set answers[{qid!r}] to one of the option letters")
        letter = str(letter).strip().lower()
        self._option(qid, letter)
        return letter

    @abstractmethod
    def verdict(self, answers: Mapping[str, str | None], qid: str) -> str:
        """The line printed for one answer; raises :class:`CheckFailure` if the answer cannot stand."""

    def check(self, answers: Mapping[str, str | None], qid: str) -> None:
        """Print the verdict line of one answer (an unanswered question is :func:`not_yet`)."""
        try:
            print(self.verdict(answers, qid))
        except NotWritten as missing:
            not_yet(str(missing))

    def note(self, qid: str, letter: str, mode: str) -> str:
        """The HTML the widget shows under a pick: here, only that it was recorded."""
        return f"<i>Recorded: {letter}</i>"

    def widget(self, mode: str = "formative"):
        """The interactive quiz (ipywidgets); ``mode="assessment"`` records choices without judging them."""
        import ipywidgets as w

        if mode not in ("formative", "assessment"):
            raise ValueError(f"mode must be 'formative' or 'assessment', got {mode!r}")
        summary = w.HTML()
        chosen: dict[str, str | None] = {qid: None for qid in self.faces}

        def refresh_summary() -> None:
            pairs = ", ".join(f'"{q}": {repr(k) if k else None}' for q, k in chosen.items())
            summary.value = f"<p>Copy into the answer cell:</p><pre>answers = {{{pairs}}}</pre>"

        blocks = []
        for qid, face in self.faces.items():
            buttons = w.RadioButtons(
                options=[(f"{k}) {text}", k) for k, text in face.options.items()],
                value=None,
                layout=w.Layout(width="auto"),
            )
            note = w.HTML()

            def on_pick(change, qid=qid, note=note) -> None:
                if change["new"] is None:
                    return
                chosen[qid] = change["new"]
                note.value = self.note(qid, change["new"], mode)
                refresh_summary()

            buttons.observe(on_pick, names="value")
            blocks.append(w.VBox([w.HTML(f"<b>{qid}.</b> {face.prompt} <i>({face.level})</i>"), buttons, note]))
        refresh_summary()
        return w.VBox([*blocks, summary])


class Quiz(Sheet):
    """The mastery check of one chapter, with its key and the explanation of every option."""

    def __init__(self, questions: Sequence[Question]) -> None:
        placed = _place(questions)
        self.questions = {p.qid: p for p in placed}
        super().__init__([p.face for p in placed])

    @property
    def key(self) -> dict[str, str]:
        """The right letter of every question."""
        return {qid: p.correct for qid, p in self.questions.items()}

    def keyless(self) -> KeylessQuiz:
        """The quiz as the students of an assessment get it: the same questions and letters, no key."""
        return KeylessQuiz(list(self.faces.values()))

    def feedback(self, qid: str, letter: str) -> tuple[bool, str]:
        """``(is_correct, explanation)`` for choosing ``letter`` in question ``qid``."""
        self._option(qid, letter)
        placed = self.questions[qid]
        return letter == placed.correct, placed.options[letter][1]

    def verdict(self, answers: Mapping[str, str | None], qid: str) -> str:
        """The ✓ line of one answer; raise :class:`CheckFailure` if it is wrong, NotWritten if it is missing."""
        letter = self.answered(answers, qid)
        correct, why = self.feedback(qid, letter)
        if not correct:
            raise CheckFailure(f"{qid}: {letter!r} is not the best answer. {why}")
        return f"✓ {qid}: correct. {why}"

    def note(self, qid: str, letter: str, mode: str) -> str:
        """Formative: whether the pick is right, and why; assessment: only that it was recorded."""
        if mode == "assessment":
            return super().note(qid, letter, mode)
        correct, why = self.feedback(qid, letter)
        return f"<b>{'✓ Right' if correct else '✗ Not quite'}.</b> {why}"


class KeylessQuiz(Sheet):
    """A quiz as published for an assessment: prompts and lettered options only, graded by the instructor.

    ``logits-to-loss publish`` writes it into the published chapter modules in place of the
    declared :class:`Quiz`; its widget records choices in either mode (it has nothing to explain).
    Its ``repr`` is the Python source that builds it.
    """

    def verdict(self, answers: Mapping[str, str | None], qid: str) -> str:
        """A line saying the answer is recorded, once it is one of the options: only the instructor holds the key."""
        return f"{qid}: {self.answered(answers, qid)!r} recorded; the instructor grades the quiz."

    def __repr__(self) -> str:
        return "KeylessQuiz([\n" + "".join(f"    {face!r},\n" for face in self.faces.values()) + "])"
