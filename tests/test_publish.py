"""`logits-to-loss publish` writes the student-facing course: no solutions, hidden tests or grading code."""

from __future__ import annotations

import subprocess
import sys

import pytest
from course_helpers import BIN, NOTEBOOKS, ROOT

from logits_to_loss.authoring import repository
from logits_to_loss.grading.publish import LEFT_OUT, leaks, publish


def test_published_course_leaves_out_the_graders_side(tmp_path):
    """The copy has every student notebook and the package, none of solutions/, grader/, tests/ or grading/,
    and its Binder badges open the class's repository."""
    dest = tmp_path / "class"
    out = subprocess.run([str(BIN / "logits-to-loss"), "publish", str(dest), "--repo", str(ROOT), "--github", "ada/class-2027"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not [name for name in LEFT_OUT if (dest / name).exists()]
    assert sorted(p.relative_to(dest / "notebooks") for p in (dest / "notebooks").rglob("*.ipynb")) == sorted(
        p.relative_to(NOTEBOOKS) for p in NOTEBOOKS.rglob("*.ipynb"))
    assert not leaks(dest) and leaks(ROOT / "solutions"), "the leak check must see the solutions it is meant to stop"
    readme = (dest / "README.md").read_text()
    assert "mybinder.org/v2/gh/ada/class-2027/HEAD" in readme and repository(ROOT) not in readme
    assert repository(dest) == "ada/class-2027"
    code = "from logits_to_loss.chapter import load; import logits_to_loss as l; print(load('01-softmax').title, l.__file__)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(dest / "src"), "PATH": str(BIN)})
    assert run.returncode == 0 and str(dest) in run.stdout, run.stderr


def test_publish_refuses_a_notebook_with_solutions(tmp_path):
    """A solution notebook that slipped into notebooks/ stops the publish, and nothing is left half-written."""
    repo = tmp_path / "repo"
    (repo / "notebooks" / "01-softmax").mkdir(parents=True)
    (repo / "solutions").mkdir()
    (repo / "notebooks" / "01-softmax" / "softmax.ipynb").write_text('{"cells": ["### BEGIN SOLUTION"]}')
    with pytest.raises(ValueError, match="hold solutions or hidden tests"):
        publish(repo, tmp_path / "class")
    assert not (tmp_path / "class").exists()
    with pytest.raises(ValueError, match="exists"):
        publish(repo, repo)
