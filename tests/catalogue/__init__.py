"""Catalogues of known-mistake and cheating submissions, one module per chapter.

Each chapter module defines ``CHAPTER`` (the folder in solutions/) and ``SUBMISSIONS``: student id ->
:class:`Submission`. The grading round trip starts every submission from the instructor's solutions,
swaps in the wrong code, grades all of them in ONE ``nbgrader autograde`` run, and asserts that the
named test cells lose points (cheats: score 0), every other cell keeps full marks, and the
generated feedback contains the named phrases.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Submission:
    replace: dict[str, str]  # solution grade_id -> the code this student wrote there
    loses: tuple[str, ...]  # test grade_ids that must lose points
    feedback: tuple[str, ...] = ()  # phrases the feedback must contain (the mistake named)
    cheat: bool = False  # a cheat must score 0 on every cell in ``loses``
    note: str = field(default="", compare=False)


def load(chapter: str) -> dict[str, Submission]:
    """The catalogue of ``chapter`` (e.g. '01-softmax'), or {} if none is written yet."""
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if getattr(module, "CHAPTER", None) == chapter:
            return module.SUBMISSIONS
    return {}
