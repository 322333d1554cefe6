"""Shared helpers of the chapter tests: the registry, solution code, nbgrader CLI, temp courses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np

from logits_to_loss.authoring import repo_root, source_notebook
from logits_to_loss.chapter import Chapter, chapters
from logits_to_loss.checker import Exercise, Mistake

ROOT = repo_root()
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
CHAPTERS = chapters()
MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
EXERCISES = [(c, e) for c in CHAPTERS.values() for e in c.exercises]


def ids(item) -> str:
    if isinstance(item, tuple):
        return f"{item[0].id}:{item[1].name}"
    return getattr(item, "id", None) or getattr(item, "name", str(item))


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def source(chapter: Chapter) -> Path:
    return source_notebook(ROOT, chapter)


@cache
def solution_code(chapter_id: str) -> dict[str, str]:
    """The instructor's code of every solution cell, markers removed, by grade_id."""
    nb = nbformat.read(source(CHAPTERS[chapter_id]), as_version=4)
    return {
        nbgrader_meta(c)["grade_id"]: "\n".join(line for line in c.source.splitlines() if not MARKER.match(line))
        for c in nb.cells
        if nbgrader_meta(c).get("solution")
    }


def solution(chapter: Chapter, exercise: Exercise) -> Callable:
    """The instructor's solution of ``exercise``, compiled from the source notebook."""
    namespace: dict = {"np": np}
    exec(solution_code(chapter.id)[exercise.name], namespace)
    return namespace[exercise.name]


def submission_code(chapter: Chapter, exercise: Exercise, mistake: Mistake) -> str:
    """What a learner who made ``mistake`` wrote in the solution cell (wrappers sit on the solution)."""
    wrong = mistake.source(exercise)
    if "_right" not in wrong:
        return wrong
    return f"{solution_code(chapter.id)[exercise.name]}\n\n_right = {exercise.name}\n\n{wrong}"


def in_float64(fn: Callable) -> Callable:
    """``fn`` with every float array argument cast to float64 first: the float64 way of answering."""
    def wrapped(*args, **kwargs):
        return fn(*(a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                    for a in args), **kwargs)
    return wrapped


def nbgrader(*args: str, cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real nbgrader CLI (with this venv's bin first on PATH: nbgrader calls alembic)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {}))
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(tmp: Path) -> Path:
    """A throwaway nbgrader course whose source is the repo's solutions/ and everything else is in tmp."""
    course = tmp / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""
        from logits_to_loss.authoring import configure
        c = get_config()
        c.CourseDirectory.root = {str(course)!r}
        configure(c, {str(ROOT / "solutions")!r}, {str(course / "release")!r}, "sqlite:///{course / "gradebook.db"}")
    """))
    return course


def fill_solutions(nb, code_by_id: dict[str, str]):
    """Replace the code of the solution cells named in ``code_by_id``."""
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in code_by_id:
            cell.source = code_by_id[grade_id]
    return nb
