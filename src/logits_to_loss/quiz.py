"""Mastery checks: multiple-choice questions with instant feedback and nbgrader grading.

Each chapter ends with a :class:`Quiz`. In the notebook ``quiz.widget()`` shows radio
buttons that explain every option the moment it is picked and keep an ``answers = {...}``
line up to date; the learner copies it into the graded answer cell, and the test cells
call ``quiz.check(answers, "q1")``, which gives the same explanation as the widget.
The quiz is formative: its answers live in this package, like the reference solutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from .checker import CheckFailure


@dataclass(frozen=True)
class Option:
    key: str
    text: str
    explanation: str


@dataclass(frozen=True)
class Question:
    qid: str
    prompt: str
    options: Sequence[Option]
    correct: str

    def option(self, key: str) -> Option:
        for opt in self.options:
            if opt.key == key:
                return opt
        keys = ", ".join(repr(o.key) for o in self.options)
        raise CheckFailure(f"{self.qid}: {key!r} is not one of the options {keys}")


class Quiz:
    """The mastery check of one chapter."""

    def __init__(self, chapter: str, questions: Sequence[Question]) -> None:
        qids = [q.qid for q in questions]
        if len(set(qids)) != len(qids):
            raise ValueError(f"question ids must be unique, got {qids}")
        for q in questions:
            q.option(q.correct)  # every correct key must be an option
        self.chapter, self.questions = chapter, {q.qid: q for q in questions}

    def feedback(self, qid: str, key: str) -> tuple[bool, str]:
        """``(is_correct, explanation)`` for choosing ``key`` in question ``qid``."""
        question = self.questions[qid]
        return key == question.correct, question.option(key).explanation

    def check(self, answers: Mapping[str, str], qid: str) -> None:
        """Grade one answer: raise :class:`CheckFailure` with the option's explanation if it is wrong."""
        if not isinstance(answers, Mapping):
            raise CheckFailure(f"answers must be a dict like {{'q1': 'b'}}, got {type(answers).__name__}")
        if qid not in self.questions:
            raise ValueError(f"qid must be one of {sorted(self.questions)}, got {qid!r}")
        key = answers.get(qid)
        if key is None:
            raise CheckFailure(f"{qid} is unanswered: set answers[{qid!r}] to one of the option letters")
        correct, why = self.feedback(qid, str(key).strip().lower())
        if not correct:
            raise CheckFailure(f"{qid}: {key!r} is not the best answer. {why}")
        print(f"✓ {qid}: correct. {why}")

    def widget(self):
        """The interactive quiz (ipywidgets): pick an option, read why it is right or wrong."""
        import ipywidgets as w

        summary = w.HTML()
        chosen: dict[str, str | None] = {qid: None for qid in self.questions}

        def refresh_summary() -> None:
            pairs = ", ".join(f'"{q}": {repr(k) if k else None}' for q, k in chosen.items())
            summary.value = f"<p>Copy into the answer cell:</p><pre>answers = {{{pairs}}}</pre>"

        blocks = []
        for qid, q in self.questions.items():
            buttons = w.RadioButtons(
                options=[(f"{o.key}) {o.text}", o.key) for o in q.options], value=None, layout=w.Layout(width="auto")
            )
            note = w.HTML()

            def on_pick(change, qid=qid, note=note) -> None:
                if change["new"] is None:
                    return
                chosen[qid] = change["new"]
                correct, why = self.feedback(qid, change["new"])
                mark = "✓ Right" if correct else "✗ Not quite"
                note.value = f"<b>{mark}.</b> {why}"
                refresh_summary()

            buttons.observe(on_pick, names="value")
            blocks.append(w.VBox([w.HTML(f"<b>{qid}.</b> {q.prompt}"), buttons, note]))
        refresh_summary()
        return w.VBox([*blocks, summary])
