"""The generic chapter suite, through Jupyter and nbgrader: every registered chapter's notebooks.

Sources are clean and in sync with their declaration and pass `nbgrader validate` (which executes
them), and the student version fails every test yet runs to the end. The grading round trip
goes through the real nbgrader CLI: the solution scores full marks, the blank notebook 0, a
submission with the first catalogued mistake of every exercise loses exactly their cells and the
feedback names each, a cheat scores 0, and (once) grading a submission again gives the same
scores and feedback.
"""

from __future__ import annotations

import ast
import html
import json
import re
import time

import nbformat
import pytest
from course_helpers import (
    CHAPTERS,
    NOTEBOOKS,
    ROOT,
    fill_solutions,
    ids,
    make_course,
    nbgrader_meta,
    solution_code,
    source,
    submission_code,
)
from nbclient import NotebookClient
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.validator import Validator

from logits_to_loss.authoring import PLAYGROUND, playground, regenerate_cells, slug
from logits_to_loss.grading.report import course_config

pytestmark = pytest.mark.slow
chapter_cases = pytest.mark.parametrize("chapter", CHAPTERS.values(), ids=ids)


def _execute(path, nb):
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return printed, time.perf_counter() - start


@chapter_cases
def test_source_is_clean_and_generated_cells_are_current(chapter):
    """No outputs, unique grade ids, one-sentence test docstrings, and the generated cells match the declaration."""
    nb = nbformat.read(source(chapter), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{chapter.id}: outputs stored in a source cell"
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            doc = ast.get_docstring(ast.parse(cell.source.replace("### BEGIN HIDDEN TESTS", "")))
            assert doc and ". " not in doc and doc.endswith("."), f"{meta['grade_id']}: open with a one-sentence docstring"
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), f"{chapter.id}: duplicate grade_id"
    fresh = regenerate_cells(nbformat.read(source(chapter), as_version=4), chapter)
    assert [c.source for c in fresh.cells] == [c.source for c in nb.cells], "run `python3 course.py regenerate`"


@chapter_cases
def test_student_notebook_runs_all_to_the_end(chapter):
    """Run All on the student notebook reaches the last cell: unanswered exercises print one line each."""
    path = NOTEBOOKS / chapter.id / chapter.notebook
    nb = nbformat.read(path, as_version=4)
    printed, elapsed = _execute(path, nb)
    assert "not written yet" in printed and "✓" not in printed.replace("✓ Right", "")
    print(f"{chapter.id}: student notebook executed in {elapsed:.1f} s")


@chapter_cases
def test_nbgrader_validate_passes_source_and_fails_every_student_test(chapter):
    """`nbgrader validate` passes the source and `validate --invert` fails every test of the student version."""
    config = course_config(ROOT / "grader")  # nbgrader's Validator in process, as `nbgrader validate` runs it
    assert Validator(config=config).validate(str(source(chapter))) == {}  # executes the instructor notebook
    assert Validator(config=config, invert=True).validate(str(NOTEBOOKS / chapter.id / chapter.notebook)) == {}


def test_committed_student_notebooks_match_regeneration(tmp_path):
    """notebooks/ is exactly what `nbgrader generate_assignment` makes from solutions/ (regenerate and diff)."""
    course = make_course(tmp_path)
    api = NbGraderAPI(config=course_config(course))  # in process: one nbgrader start for every chapter
    for chapter in CHAPTERS.values():
        assert api.generate_assignment(chapter.id, force=True)["success"], chapter.id
        fresh = json.loads((course / "release" / chapter.id / chapter.notebook).read_text())
        committed = json.loads((NOTEBOOKS / chapter.id / chapter.notebook).read_text())
        assert fresh == committed, f"notebooks/{chapter.id} is stale: run `python3 course.py regenerate` and commit"
    stray = {p.parent.name for p in NOTEBOOKS.glob("*/*.ipynb")} - set(CHAPTERS)
    assert not stray, f"notebooks/ has chapters with no declaration: {stray}"
    assert nbformat.read(ROOT / PLAYGROUND, as_version=4) == playground(), "run `python3 course.py regenerate`"


def test_playground_shows_every_explorer():
    """notebooks/00-playground.ipynb runs headless and shows one explorer per chapter that declares one."""
    nb = nbformat.read(ROOT / PLAYGROUND, as_version=4)
    _execute(ROOT / PLAYGROUND, nb)
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == sum(c.explorer is not None for c in CHAPTERS.values())


def _sample(chapter):
    """Student id -> [(exercise, mistake)]: one student makes the first mistake of every exercise, one cheats.

    Every mistake and cheat is judged across the grader's process boundary in tests/test_verdict.py
    and in process in tests/test_chapters.py; here they go through the real nbgrader.
    """
    picks = {"mistakes": [(exercise, exercise.mistakes[0]) for exercise in chapter.exercises]}
    first = chapter.exercises[0]
    cheat = first.cheats[-1]  # hard-coding the visible answers: the cheat that needs no banned import
    picks[f"cheat-{slug(cheat.name)}"] = [(first, cheat)]
    return picks


def _feedback(course, student, chapter) -> str:
    path = course / "feedback" / student / chapter.id / chapter.notebook.replace(".ipynb", ".html")
    text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
    text = re.sub(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", "<widget id>", text)
    return " ".join(text.split())  # HTML wraps lines wherever it likes


def _graded(api: NbGraderAPI, chapter, students) -> None:
    """Autograde and give feedback to ``students`` through nbgrader's API, in this process (no CLI start per step)."""
    for student in students:
        for step in (api.autograde(chapter.id, student, force=True, create=True),
                     api.generate_feedback(chapter.id, student, force=True)):
            assert step["success"], step["log"]


@chapter_cases
def test_round_trip(chapter, tmp_path):
    """Solution full marks, blank 0, sampled mistakes lose exactly their cells and are named, cheats 0, regrading agrees (chapter 1)."""
    course = make_course(tmp_path)
    api = NbGraderAPI(config=course_config(course))
    assert api.generate_assignment(chapter.id, force=True)["success"]
    release = course / "release" / chapter.id / chapter.notebook
    solutions = solution_code(chapter.id)

    def submit(student: str, code: dict[str, str]) -> None:
        target = course / "submitted" / student / chapter.id
        target.mkdir(parents=True)
        nbformat.write(fill_solutions(nbformat.read(release, as_version=4), code), target / chapter.notebook)

    submit("instructor", solutions)
    submit("blank", {})
    sample = _sample(chapter)
    for student, made in sample.items():
        submit(student, {**solutions, **{exercise.name: submission_code(chapter, exercise, m) for exercise, m in made}})
    _graded(api, chapter, ["instructor", "blank", *sample])

    gradebook = f"sqlite:///{course / 'gradebook.db'}"

    def scores(student: str) -> dict[str, tuple[float, float]]:
        with Gradebook(gradebook) as gb:
            nb = gb.find_submission_notebook(chapter.notebook.removesuffix(".ipynb"), chapter.id, student)
            return {g.name: (g.score, g.max_score) for g in nb.grades}

    full = scores("instructor")
    assert full and all(score == top for score, top in full.values()), f"solutions lost points: {full}"
    assert sum(score for score, _ in scores("blank").values()) == 0
    problems = []
    for student, made in sample.items():
        loses = {f"test-{slug(e.name)}-{slug(p)}" for e, m in made for p in (e.parts if m.cheat else m.parts or e.parts)}
        for cell, (score, top) in scores(student).items():
            if cell in loses and score != 0:
                problems.append(f"{student}: {cell} scored {score}/{top}")
            if cell not in loses and score != top:
                problems.append(f"{student}: {cell} lost points ({score}/{top})")
        feedback = _feedback(course, student, chapter)
        problems += [f"{student}: the feedback does not name {m.name!r}" for _, m in made
                     if not m.cheat and m.name not in feedback]
    assert not problems, "\n".join(problems)
    if chapter is not next(iter(CHAPTERS.values())):  # regrading is the same path for every chapter: check it once
        return

    student = next(iter(sample))
    before = scores(student), _feedback(course, student, chapter)
    _graded(api, chapter, [student])
    assert (scores(student), _feedback(course, student, chapter)) == before, "regrading changed the result"
