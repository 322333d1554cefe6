"""Course tooling: generated test and quiz cells, the nbgrader configuration, and new chapters.

``python -m logits_to_loss.authoring regenerate [NN]`` rewrites the mechanical cells of each source
notebook in ``solutions/`` from its chapter's declaration (one graded test cell per part, whose
docstring is the part's description; the quiz widget, answer and test cells after the "Mastery
check" heading), then releases the student notebooks to ``notebooks/`` with nbgrader.
``new NN-topic`` scaffolds a chapter (declaration and source notebook) that passes the generic tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.preprocessors import ClearSolutions

from .chapter import CHAPTER_ID, Chapter, chapters

PACKAGE = Path(__file__).resolve().parent
KEY = "logits_to_loss"  # cell metadata of this tooling: {"generated": true} and the answer cell's "stub"
QUIZ_HEADING = "## Mastery check"


def repo_root() -> Path:
    """The course repository this package is installed from (editable install)."""
    return PACKAGE.parents[1]


def settings(root: Path) -> dict[str, Any]:
    """The instructor's settings in ``grader/course.json`` (e.g. ``{"quiz_mode": "assessment"}``)."""
    path = root / "grader" / "course.json"
    return json.loads(path.read_text()) if path.exists() else {}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _graded(source: str, grade_id: str, points: int, *, solution: bool = False, **extra: Any):
    cell = new_code_cell(source)
    cell.id = grade_id
    cell.metadata["nbgrader"] = {
        "grade": not solution, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
        "solution": solution, "task": False, **({"points": points} if not solution else {}),
    }
    cell.metadata[KEY] = {"generated": True, **extra}
    return cell


def test_cells(chapter: Chapter) -> dict[str, list]:
    """For each exercise name, one graded cell per part: the visible check, then a hidden one."""
    cells = {}
    for exercise in chapter.exercises:
        cells[exercise.name] = [
            _graded(
                f'"""{part.description}"""\n'
                f'ch.{exercise.name}.check({exercise.name}, "{name}")\n'
                "### BEGIN HIDDEN TESTS\n"
                f'ch.{exercise.name}.check({exercise.name}, "{name}", hidden=True)\n'
                "### END HIDDEN TESTS",
                f"test-{slug(exercise.name)}-{slug(name)}",
                part.points,
            )
            for name, part in exercise.parts.items()
        ]
    return cells


def quiz_cells(chapter: Chapter, mode: str = "formative") -> list:
    """The quiz widget, the answer cell (blank in the student version) and one test cell per question."""
    quiz = chapter.quiz
    widget = new_code_cell("ch.quiz.widget()" if mode == "formative" else f'ch.quiz.widget(mode="{mode}")')
    widget.id = "quiz-widget"
    widget.metadata[KEY] = {"generated": True}
    answers = _graded(f"### BEGIN SOLUTION\n{quiz.answer_line(quiz.key)}\n### END SOLUTION", "answers", 0, solution=True,
                      stub=quiz.blank_answers() + "  # copy the line shown under the quiz")
    tests = [
        _graded(f'"""Question {qid} of the mastery check is answered correctly."""\nch.quiz.check(answers, "{qid}")',
                f"test-quiz-{qid}", 1)
        for qid in quiz.questions
    ]
    return [widget, answers, *tests]


def regenerate_cells(nb, chapter: Chapter, mode: str = "formative"):
    """``nb`` with its generated cells rebuilt from ``chapter``'s declaration."""
    tests, quiz = test_cells(chapter), quiz_cells(chapter, mode)
    cells, pending = [], []  # an exercise's tests follow its solution and the code cells right after it
    for cell in nb.cells:
        if cell.metadata.get(KEY, {}).get("generated"):
            continue
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" or meta:
            cells.extend(pending)
            pending = []
        cells.append(cell)
        if meta.get("solution") and meta.get("grade_id") in tests:
            pending = tests.pop(meta["grade_id"])
        if cell.cell_type == "markdown" and cell.source.startswith(QUIZ_HEADING):
            cells.extend(quiz)
            quiz = []
    cells.extend(pending)
    missing = [*tests, *(["the quiz"] if quiz else [])]
    if missing:
        raise ValueError(
            f"{chapter.id}: no place for {missing}: each exercise needs a solution cell whose grade_id is its name, "
            f"and the quiz a markdown cell starting with {QUIZ_HEADING!r}"
        )
    nb.cells = cells
    return nb


def source_notebook(root: Path, chapter: Chapter) -> Path:
    return root / "solutions" / chapter.id / chapter.notebook


def quiz_mode(root: Path) -> str:
    """How the course at ``root`` releases its quizzes: ``"formative"`` (the default) or ``"assessment"``."""
    return settings(root).get("quiz_mode", "formative")


def regenerate(root: Path, only: str | None = None) -> None:
    """Rewrite the generated cells of every source notebook, then release the student notebooks."""
    mode = quiz_mode(root)
    for chapter in chapters().values():
        if only and not chapter.id.startswith(only):
            continue
        path = source_notebook(root, chapter)
        nb = regenerate_cells(nbformat.read(path, as_version=4), chapter, mode)
        nbformat.write(nb, path)
        nbgrader = Path(sys.executable).parent / "nbgrader"
        subprocess.run([str(nbgrader), "generate_assignment", chapter.id, "--force", "--log-level=WARN"],
                       cwd=root / "grader", check=True)
    write_course_map(root)
    nbformat.write(playground(), root / PLAYGROUND)


# -- the playground: every explorer on one page ------------------------------------------------------

PLAYGROUND = "notebooks/00-playground.ipynb"


def playground() -> Any:
    """A notebook with every chapter's explorer, for JupyterLab or Voila (``voila notebooks/00-playground.ipynb``)."""
    cells = [new_markdown_cell("# Logits to Loss — the explorers\n\nEvery chapter's explorer on one page. "
                               "Each one is explained in its chapter's notebook.")]
    setup = new_code_cell("from logits_to_loss.chapter import chapters\n\nCHAPTERS = chapters()")
    cells.append(setup)
    for chapter in chapters().values():
        if chapter.explorer is not None:
            cells.append(new_markdown_cell(f"## {chapter.number}. {chapter.title}"))
            cells.append(new_code_cell(f'CHAPTERS["{chapter.id}"].explorer()'))
    for number, cell in enumerate(cells):
        cell.id = f"playground-{number}"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


# -- the README's course map ----------------------------------------------------------------------

MAP_START, MAP_END = "<!-- course map: generated by `python3 course.py regenerate` -->", "<!-- end of course map -->"


def repository(root: Path) -> str:
    """``OWNER/REPO`` of the course on GitHub, named once: pyproject.toml's ``Repository`` URL."""
    match = re.search(r'Repository\s*=\s*"https://github\.com/([^"/]+/[^"/]+?)/?"', (root / "pyproject.toml").read_text())
    if not match:
        raise ValueError("pyproject.toml needs [project.urls] Repository = \"https://github.com/OWNER/REPO\"")
    return match.group(1)


def binder_url(root: Path, chapter: Chapter) -> str:
    path = f"notebooks/{chapter.id}/{chapter.notebook}"
    return f"https://mybinder.org/v2/gh/{repository(root)}/HEAD?urlpath=lab/tree/{path}"


def course_map(root: Path) -> str:
    """The README table: each chapter with its objectives, expected time, exercises and a Binder badge."""
    rows = ["| chapter | you will | time | you write | open |", "|---|---|---|---|---|"]
    for chapter in chapters().values():
        written = ", ".join(f"`{e.name}`" for e in chapter.exercises)
        badge = f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(root, chapter)})"
        rows.append(f"| {chapter.number} [{chapter.title}](notebooks/{chapter.id}/{chapter.notebook}) | "
                    f"{'; '.join(chapter.objectives)} | {chapter.minutes} min | {written} | {badge} |")
    shots = [f"![{chapter.title}](docs/screenshots/{chapter.id}.png)" for chapter in chapters().values()
             if chapter.explorer is not None]
    gallery = ["", "The explorers as the browser suite sees them (`python3 course.py screenshots` retakes them):", "",
               *shots]
    return "\n".join([MAP_START, *rows, *gallery, MAP_END])


def write_course_map(root: Path) -> None:
    readme = root / "README.md"
    text = readme.read_text()
    start, end = text.index(MAP_START), text.index(MAP_END) + len(MAP_END)
    readme.write_text(text[:start] + course_map(root) + text[end:])


# -- nbgrader ---------------------------------------------------------------------------------------


def configure(c: Any, source: Path, release: Path, db_url: str) -> None:
    """The nbgrader settings of this course, shared by grader/nbgrader_config.py and the tests."""
    c.CourseDirectory.source_directory = str(source)
    c.CourseDirectory.release_directory = str(release)
    c.CourseDirectory.db_url = db_url
    c.ClearOutput.enabled = True
    c.ExecutePreprocessor.timeout = 120
    c.ExecutePreprocessor.coalesce_streams = True  # one output per cell's prints: regrading gives identical feedback
    c.GenerateAssignment.preprocessors = [
        ClearSolutionsWithStubs if p.__name__ == "ClearSolutions" else p
        for p in GenerateAssignment.class_traits()["preprocessors"].default()
    ]
    from .grading.verdict import TrustedVerdicts  # the grade is decided outside the student's kernel

    steps = Autograde.class_traits()["autograde_preprocessors"].default()
    c.Autograde.autograde_preprocessors = [*steps[:1], TrustedVerdicts, *steps[1:]]  # right after Execute


class ClearSolutionsWithStubs(ClearSolutions):
    """nbgrader's ClearSolutions, but a cell may name its own stub (the quiz's blank answer line)."""

    def _replace_solution_region(self, cell, language: str) -> bool:
        stub = cell.metadata.get(KEY, {}).get("stub")
        if stub is None:
            return super()._replace_solution_region(cell, language)
        default, self.code_stub = self.code_stub, {**self.code_stub, language: stub}
        try:
            return super()._replace_solution_region(cell, language)
        finally:
            self.code_stub = default


# -- a new chapter ----------------------------------------------------------------------------------

DECLARATION = '''"""{title}."""

import numpy as np

from ..chapter import Chapter
from ..checker import Case, Exercise, Mistake, Part
from ..quiz import Question, Quiz


def shift_by_max(logits):
    """``logits - max(logits)`` per row: the largest logit becomes 0 (replace with your reference)."""
    return logits - logits.max(axis=-1, keepdims=True)


def _cases(rng):
    return [
        Case((np.array([3.0, 1.0, 0.0]),), "[3, 1, 0]"),
        Case((rng.normal(0, 3, size=(4, 6)),), "random (4, 6) batch"),
        Case((rng.normal(0, 3, size=(3, 5)).astype(np.float32),), "random float32 batch"),
    ]


EXERCISE = Exercise(
    "shift_by_max(logits)",
    shift_by_max,
    {{"rows": Part("shift_by_max subtracts each row's own max.", _cases)}},
    [
        Mistake("shifted by the mean", "return logits - logits.mean(axis=-1, keepdims=True)",
                "The max, not the mean, makes the largest logit 0 (§{number}.1)."),
        Mistake("one max for the whole batch", "return logits - logits.max()",
                "Take one max per row with `axis=-1, keepdims=True` (§{number}.1)."),
    ],
)

QUIZ = Quiz([
    Question("After the max shift, the largest logit is…", ("0", "z - max z is 0 at the max."),
             [("1", "That is e^0, its exponential."), ("the mean", "Only the max is subtracted.")]),
    Question("Does the max shift change softmax?", ("No", "A constant cancels in softmax."),
             [("Yes", "Softmax only sees differences."), ("Only in float32", "It cancels in any precision.")],
             level="intermediate"),
    Question("Why shift at all?", ("So exp never overflows", "The largest exponent is e^0 = 1."),
             [("To sharpen", "Temperature sharpens; a shift changes nothing."),
              ("To sort the logits", "The order is unchanged.")], level="advanced"),
])

CHAPTER = Chapter("{chapter_id}", "{title}", [EXERCISE], QUIZ, objectives=("shift logits by their row max",), minutes=20)
'''


def _markdown(text: str):
    return new_markdown_cell(text)


def scaffold_notebook(chapter_id: str, title: str, number: int):
    """The source notebook of a new chapter: prose to replace, one exercise, the mastery check."""
    setup = new_code_cell(f'import numpy as np\n\nfrom logits_to_loss.chapter import load\n\nch = load("{chapter_id}")')
    setup.metadata["nbgrader"] = {"grade": False, "grade_id": "setup", "locked": True, "schema_version": 3,
                                  "solution": False, "task": False}
    solution = new_code_cell(
        'def shift_by_max(logits):\n    """Each row minus its own max."""\n    ### BEGIN SOLUTION\n'
        "    return logits - logits.max(axis=-1, keepdims=True)\n    ### END SOLUTION"
    )
    solution.metadata["nbgrader"] = {"grade": False, "grade_id": "shift_by_max", "locked": False,
                                     "schema_version": 3, "solution": True, "task": False}
    nb = new_notebook(cells=[
        _markdown(f"# Chapter {number} — {title}\n\nWhat this chapter teaches, in two sentences."),
        setup,
        _markdown(f"## {number}.1 Exercise: write `shift_by_max`\n\nSubtract each row's max from the row."),
        solution,
        _markdown(f"{QUIZ_HEADING}\n\nPick an answer for each question, then copy the `answers` line into the cell below."),
        _markdown("## Summary\n\n- What the learner can now do."),
    ])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def new_chapter(root: Path, chapter_id: str) -> list[Path]:
    """Write the declaration and the source notebook of ``chapter_id``; returns the files written."""
    match = CHAPTER_ID.match(chapter_id)
    if not match:
        raise ValueError(f"chapter_id must look like '09-beam-search', got {chapter_id!r}")
    number, topic = int(match.group(1)), match.group(2)
    module = PACKAGE / "chapters" / f"{topic.replace('-', '_')}.py"
    notebook = root / "solutions" / chapter_id / f"{topic.replace('-', '_')}.ipynb"
    if module.exists() or notebook.parent.exists():
        raise FileExistsError(f"{chapter_id} exists already ({module} or {notebook.parent})")
    title = topic.replace("-", " ").capitalize()
    module.write_text(DECLARATION.format(chapter_id=chapter_id, title=title, number=number))
    notebook.parent.mkdir(parents=True)
    nbformat.write(scaffold_notebook(chapter_id, title, number), notebook)
    return [module, notebook]


def main(argv: list[str]) -> None:
    root = repo_root()
    if argv[:1] == ["regenerate"]:
        regenerate(root, argv[1] if len(argv) > 1 else None)
    elif argv[:1] == ["new"] and len(argv) == 2:
        for path in new_chapter(root, argv[1]):
            print(f"wrote {path.relative_to(root)}")
        regenerate(root, argv[1][:2])
        print("next: write the prose and the reference, then `python3 course.py test --chapter " + argv[1][:2] + "`")
    else:
        sys.exit("usage: python -m logits_to_loss.authoring regenerate [NN] | new NN-topic")


if __name__ == "__main__":
    main(sys.argv[1:])
