"""Shared helpers for the notebook and grading tests: chapters, nbgrader CLI, temp courses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
BIN = Path(sys.executable).parent
CHAPTERS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())
MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")


def source_notebook(chapter: str) -> Path:
    (path,) = (SOLUTIONS / chapter).glob("*.ipynb")
    return path


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_code(chapter: str) -> dict[str, str]:
    """The instructor's code of every solution cell, markers removed, by grade_id."""
    nb = nbformat.read(source_notebook(chapter), as_version=4)
    return {
        nbgrader_meta(c)["grade_id"]: "\n".join(l for l in c.source.splitlines() if not MARKER.match(l))
        for c in nb.cells
        if nbgrader_meta(c).get("solution")
    }


def nbgrader(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real nbgrader CLI (with this venv's bin first on PATH: nbgrader calls alembic)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(tmp: Path) -> Path:
    """A throwaway nbgrader course whose source is the repo's solutions/ and everything else is in tmp."""
    course = tmp / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.source_directory = {str(SOLUTIONS)!r}\n"
        f"c.CourseDirectory.release_directory = {str(course / 'release')!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
        "c.ClearOutput.enabled = True\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    return course


def fill_solutions(nb, code_by_id: dict[str, str]):
    """Replace the code of the solution cells named in ``code_by_id``."""
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in code_by_id:
            cell.source = code_by_id[grade_id]
    return nb


def outputs_stripped(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
