"""`course.py new` scaffolds a chapter that passes the whole generic suite, in a throwaway copy of the course."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from course_helpers import ROOT

pytestmark = pytest.mark.slow


def test_new_chapter_passes_the_generic_suite(tmp_path):
    """A scaffolded chapter (one exercise, two mistakes, a quiz) is registered, generated and green."""
    copy = tmp_path / "course"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "grader/*.db"))
    env = dict(os.environ, PYTHONPATH=str(copy / "src"), PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}")
    made = subprocess.run([sys.executable, "-m", "logits_to_loss.authoring", "new", "99-demo"], cwd=copy, env=env,
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert (copy / "src/logits_to_loss/chapters/demo.py").exists() and (copy / "notebooks/99-demo/demo.ipynb").exists()
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", "tests/test_chapters.py",
         "tests/test_chapter_notebooks.py", "-k", "99-demo"],
        cwd=copy, env=env, capture_output=True, text=True,
    )
    assert suite.returncode == 0, suite.stdout[-3000:]
    summary = suite.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
