"""Chapter notebooks: clean nbgrader sources, headless execution, validation, and the regenerate gate."""

from __future__ import annotations

import ast
import json
import time

import nbformat
import pytest
from nbclient import NotebookClient

from course_helpers import CHAPTERS, NOTEBOOKS, ROOT, make_course, nbgrader, nbgrader_meta, source_notebook

pytestmark = pytest.mark.slow


def test_every_chapter_has_a_source_and_a_student_notebook():
    """Each chapter folder in solutions/ holds one notebook and has its generated twin in notebooks/."""
    assert CHAPTERS, "no chapters found in solutions/"
    for chapter in CHAPTERS:
        src = source_notebook(chapter)
        assert (NOTEBOOKS / chapter / src.name).exists(), f"run `python3 course.py regenerate` for {chapter}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_is_clean_nbgrader_notebook(chapter):
    """Sources keep no outputs, use schema 3 metadata, unique grade ids, points on every graded cell."""
    nb = nbformat.read(source_notebook(chapter), as_version=4)
    nbformat.validate(nb)
    ids = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{chapter}: outputs stored in a source cell"
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        ids.append(meta["grade_id"])
        if meta.get("grade"):
            assert meta.get("points", 0) > 0, f"{meta['grade_id']} is graded but has no points"
        if meta.get("grade") and not meta.get("solution"):
            doc = ast.get_docstring(ast.parse(cell.source.replace("### BEGIN HIDDEN TESTS", "")))
            assert doc and doc.count(". ") == 0 and doc.endswith("."), f"{meta['grade_id']}: open with a one-sentence docstring"
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    assert len(ids) == len(set(ids)), f"{chapter}: duplicate grade_id"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_source_executes_headless(chapter):
    """The instructor notebook runs top to bottom with nbclient, every self-check printing its ✓ line."""
    path = source_notebook(chapter)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    graded = [c for c in nb.cells if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    assert printed.count("✓") >= len(graded), "a test cell ran without its check printing a ✓ line"
    print(f"{chapter}: executed in {elapsed:.1f} s")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_nbgrader_validate(chapter):
    """`nbgrader validate` passes the source and `validate --invert` fails every test of the student version."""
    ok = nbgrader("validate", str(source_notebook(chapter)), cwd=ROOT / "grader")
    assert "Success! Your notebook passes all the tests." in ok.stdout, ok.stdout
    student = NOTEBOOKS / chapter / source_notebook(chapter).name
    inverted = nbgrader("validate", "--invert", str(student), cwd=ROOT / "grader")
    assert "Success! The notebook does not pass any tests." in inverted.stdout, inverted.stdout


def test_committed_student_notebooks_match_regeneration(tmp_path):
    """notebooks/ is exactly what `nbgrader generate_assignment` makes from solutions/ (regenerate and diff)."""
    course = make_course(tmp_path)
    for chapter in CHAPTERS:
        nbgrader("generate_assignment", chapter, "--force", cwd=course)
        fresh = course / "release" / chapter / source_notebook(chapter).name
        committed = NOTEBOOKS / chapter / fresh.name
        assert json.loads(fresh.read_text()) == json.loads(committed.read_text()), (
            f"notebooks/{chapter} is stale: run `python3 course.py regenerate` and commit the result"
        )
    stray = {p.parent.name for p in NOTEBOOKS.glob("*/*.ipynb")} - set(CHAPTERS)
    assert not stray, f"notebooks/ has chapters with no source: {stray}"
