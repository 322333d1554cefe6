"""`logits-to-loss publish` writes the student-facing course: no solutions, hidden tests or grading code, and no
quiz keys when the quiz is an assessment."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from course_helpers import BIN, CHAPTERS, NOTEBOOKS, ROOT

from logits_to_loss.authoring import repository
from logits_to_loss.grading.keyless import CHAPTERS as CHAPTER_MODULES
from logits_to_loss.grading.keyless import key_leaks
from logits_to_loss.grading.publish import LEFT_OUT, leaks, publish

QUIZZES = [chapter.quiz for chapter in CHAPTERS.values()]
# with PYTHONPATH set to a published src/: a student's Python, without this repository, leaving the tree as published
STUDENT = {"PATH": str(BIN), "PYTHONDONTWRITEBYTECODE": "1"}


def test_published_course_leaves_out_the_graders_side(tmp_path):
    """The copy has every student notebook and the package, none of solutions/, grader/, tests/ or grading/,
    and its Binder badges open the class's repository."""
    dest = tmp_path / "class"
    out = subprocess.run([str(BIN / "logits-to-loss"), "publish", str(dest), "--repo", str(ROOT), "--github", "ada/class-2027"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and "the formative quiz keeps its keys" in out.stdout, out.stderr
    assert not [name for name in LEFT_OUT if (dest / name).exists()]
    assert sorted(p.relative_to(dest / "notebooks") for p in (dest / "notebooks").rglob("*.ipynb")) == sorted(
        p.relative_to(NOTEBOOKS) for p in NOTEBOOKS.rglob("*.ipynb"))
    assert not leaks(dest) and leaks(ROOT / "solutions"), "the leak check must see the solutions it is meant to stop"
    readme = (dest / "README.md").read_text()
    assert "mybinder.org/v2/gh/ada/class-2027/HEAD" in readme and repository(ROOT) not in readme
    assert repository(dest) == "ada/class-2027"
    code = "from logits_to_loss.chapter import load; import logits_to_loss as l; print(load('01-softmax').title, l.__file__)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**STUDENT, "PYTHONPATH": str(dest / "src")})
    assert run.returncode == 0 and str(dest) in run.stdout, run.stderr
    modules = sorted(p for p in (dest / CHAPTER_MODULES).glob("*.py") if p.name != "__init__.py")
    assert key_leaks(dest, QUIZZES) == modules, "a formative quiz keeps its keys in every chapter's declaration"


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


@pytest.fixture(scope="module")
def assessed(tmp_path_factory):
    """A copy of the course whose quiz is an assessment (grader/course.json), and the course published from it."""
    base = tmp_path_factory.mktemp("assessed")
    repo, dest = base / "repo", base / "class"
    publish(ROOT, repo)
    (repo / "grader").mkdir()
    (repo / "grader" / "course.json").write_text(json.dumps({"quiz_mode": "assessment"}))
    publish(repo, dest)
    return repo, dest


def test_assessed_course_gives_no_quiz_key_away(assessed):
    """No published file holds an option's explanation, a key or a Question; each chapter holds its keyless quiz."""
    _, dest = assessed
    published = "\n".join(p.read_bytes().decode(errors="replace") for p in dest.rglob("*") if p.is_file())
    whys = [why for quiz in QUIZZES for placed in quiz.questions.values() for _, why in placed.options.values()]
    keys = ["answers = {" + ", ".join(f'"{q}": "{k}"' for q, k in quiz.key.items()) + "}" for quiz in QUIZZES]
    assert not [text for text in [*whys, *keys] if text in published]
    modules = [p.read_text() for p in (dest / CHAPTER_MODULES).glob("*.py") if p.name != "__init__.py"]
    assert len(modules) == len(CHAPTERS) and all("Question(" not in m and "KeylessQuiz([" in m for m in modules)
    assert not key_leaks(dest, QUIZZES)


def test_assessed_package_records_answers_without_judging(assessed):
    """The published package's quizzes have no key and the grader's letters; check records any option, refuses
    a letter that is not one, and treats None as not answered."""
    _, dest = assessed
    code = textwrap.dedent("""
        import dataclasses, json, logits_to_loss
        from logits_to_loss.chapter import chapters
        quizzes = {id: chapter.quiz for id, chapter in chapters().items()}
        quiz = quizzes["01-softmax"]
        for letter in quiz.faces["q1"].options:
            quiz.check({"q1": letter}, "q1")
        quiz.check({"q1": None}, "q1")
        try:
            quiz.check({"q1": "z"}, "q1")
        except AssertionError as refused:
            print("refused:", refused)
        print(json.dumps({"file": logits_to_loss.__file__, "keyed": [id for id, q in quizzes.items() if hasattr(q, "key")],
                          "faces": {id: [dataclasses.asdict(f) for f in q.faces.values()] for id, q in quizzes.items()}}))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=dest,
                         env={**STUDENT, "PYTHONPATH": str(dest / "src")})
    assert run.returncode == 0, run.stderr
    *lines, last = run.stdout.splitlines()
    assert lines == ["q1: 'a' recorded; the instructor grades the quiz.", "q1: 'b' recorded; the instructor grades the quiz.",
                     "q1: 'c' recorded; the instructor grades the quiz.",
                     "… q1 is not answered yet: set answers['q1'] to one of the option letters",
                     "refused: q1: 'z' is not one of the options 'a', 'b', 'c'"]
    found = json.loads(last)
    assert found["file"].startswith(str(dest)) and found["keyed"] == []
    faces = {id: [dataclasses.asdict(f) for f in chapter.quiz.faces.values()] for id, chapter in CHAPTERS.items()}
    assert found["faces"] == faces, "the student sees the questions and letters that the grader's key grades"


def test_publish_refuses_a_quiz_key_left_in(assessed, tmp_path):
    """An explanation quoted in any file, or a Question declared outside the Quiz, stops an assessed publish."""
    repo = tmp_path / "repo"
    shutil.copytree(assessed[0], repo)
    (repo / "docs" / "answers.md").write_text(f"q1: {QUIZZES[0].questions['q1'].options['a'][1]}")
    (repo / "src" / "logits_to_loss" / "spare.py").write_text(
        'from .quiz import Question\n\nSPARE = Question("2 + 2?", ("4", ""), [("5", "")])\n')
    with pytest.raises(ValueError, match=r"docs/answers\.md, src/logits_to_loss/spare\.py give a quiz key away"):
        publish(repo, tmp_path / "class")
    assert not (tmp_path / "class").exists()
