"""A chapter as one declared unit, and the registry that finds every chapter.

Each module in :mod:`logits_to_loss.chapters` defines ``CHAPTER = Chapter(...)``: its id (the
folder of its notebook), title, exercises, quiz and explorer. The notebook's setup cell loads it
with ``ch = load("01-softmax")``; its generated test cells call ``ch.softmax.check(softmax, part)``
and ``ch.quiz.check(answers, "q1")``; the tooling (``course.py regenerate`` and ``new``) and the
generic test suite find every chapter through :func:`chapters`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .checker import Exercise
from .quiz import Quiz

CHAPTER_ID = re.compile(r"^(\d\d)-([a-z][a-z0-9-]*)$")


@dataclass(frozen=True)
class Chapter:
    """Everything the tooling and the tests need to know about one chapter."""

    id: str
    title: str
    exercises: Sequence[Exercise]
    quiz: Quiz
    explorer: Callable[[], Any] | None = None
    objectives: Sequence[str] = field(default_factory=tuple)
    minutes: int = 45

    def __post_init__(self) -> None:
        if not CHAPTER_ID.match(self.id):
            raise ValueError(f"id must look like '01-softmax' (two digits, a dash, a lower-case topic), got {self.id!r}")
        names = [e.name for e in self.exercises]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: exercise names must be unique, got {names}")

    @property
    def number(self) -> int:
        return int(self.id[:2])

    @property
    def notebook(self) -> str:
        """The notebook's file name: the topic with underscores, e.g. ``cross_entropy.ipynb``."""
        return self.id[3:].replace("-", "_") + ".ipynb"

    def exercise(self, name: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise AttributeError(f"{self.id} has no exercise {name!r}; it has {[e.name for e in self.exercises]}")

    def __getattr__(self, name: str) -> Exercise:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.exercise(name)


def declaring_modules() -> list[str]:
    """The names of the modules that declare the chapters (one ``CHAPTER`` each)."""
    from . import chapters as package

    return [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)]


def chapters() -> dict[str, Chapter]:
    """Every declared chapter by id, in course order."""
    found = {}
    for name in declaring_modules():
        chapter = importlib.import_module(name).CHAPTER
        found[chapter.id] = chapter
    return dict(sorted(found.items()))


def load(chapter_id: str) -> Chapter:
    """The chapter declared with ``chapter_id``, e.g. ``load("01-softmax")``."""
    found = chapters()
    if chapter_id not in found:
        raise ValueError(f"chapter_id must be one of {sorted(found)}, got {chapter_id!r}")
    return found[chapter_id]
