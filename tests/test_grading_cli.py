"""The `logits-to-loss` instructor command grades a generated class of chapter 01 end to end.

Correct, blank, a catalogued mistake, a cheat and hostile submissions (endless loop, memory bomb,
bounded fork bomb, syntax error, corrupt JSON, renamed notebook, a deleted and a duplicated graded
cell, os._exit, killing the parent, deleting another's files, writing the gradebook and the
installed package) are collected from a
zip and graded with 2 workers: each gets its expected score or an error row with its reason, and
no other result changes. A run killed midway (a worker, then the parent) and restarted gives the
same CSV as an uninterrupted run. The feedback HTML shows no hidden test.
"""

from __future__ import annotations

import copy
import csv
import fcntl
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import nbformat
import psutil
import pytest
from course_helpers import BIN, CHAPTERS, ROOT, fill_solutions, nbgrader_meta, solution_code, submission_code

pytestmark = pytest.mark.slow
CHAPTER = CHAPTERS["01-softmax"]
EXERCISE = CHAPTER.exercises[0]
MAX = 10.0
EXERCISE_POINTS = sum(p.points for p in EXERCISE.parts.values())
CHECKER = ROOT / "src" / "logits_to_loss" / "checker.py"
KILL_CLASS = ("good", "mistake")


def _lost(mistake) -> float:
    return sum(EXERCISE.parts[p].points for p in (mistake.parts or EXERCISE.parts))


def _class(course: Path) -> dict[str, tuple[dict | str, float | str]]:
    """Student -> (solution code by grade id, or raw notebook text; expected score or error reason)."""
    right = solution_code(CHAPTER.id)
    mistake, cheat = EXERCISE.mistakes[0], EXERCISE.cheats[0]

    def after(hostile: str) -> dict:
        return {**right, "softmax": f"{textwrap.dedent(hostile)}\n{right['softmax']}"}

    release = nbformat.read(course / "release" / CHAPTER.id / CHAPTER.notebook, as_version=4)
    nb = fill_solutions(release, right)
    test = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution"))
    deleted, duplicated = copy.deepcopy(nb), copy.deepcopy(nb)
    del deleted.cells[test]
    duplicated.cells.insert(test, copy.deepcopy(nb.cells[test]))
    duplicated.cells[test].id = "a-copy"

    return {
        "good": (right, MAX),
        "blank": ({}, 0.0),
        "mistake": ({**right, "softmax": submission_code(CHAPTER, EXERCISE, mistake)}, MAX - _lost(mistake)),
        "cheat": ({**right, "softmax": submission_code(CHAPTER, EXERCISE, cheat)}, MAX - _lost(cheat)),
        "loop": ({**right, "softmax": "while True:\n    pass"}, "cell timed out after 3 s"),
        "membomb": ({**right, "softmax": "hog = []\nwhile True:\n    hog.append(np.empty(1 << 26))"},
                    "memory limit of 2 GiB exceeded"),
        "forkbomb": (after("""
            import os, time
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                except OSError:
                    break
            """), MAX),
        "syntax": ({**right, "softmax": "def softmax(logits, axis=-1):\n    return ("}, MAX - EXERCISE_POINTS),
        "corrupt": ('{"cells": [', "the notebook is not valid JSON"),
        "deleted": (nbformat.writes(deleted), MAX - nbgrader_meta(nb.cells[test])["points"]),
        "duplicated": (nbformat.writes(duplicated), f"graded cell {nbgrader_meta(nb.cells[test])['grade_id']} appears 2 times"),
        "renamed": (right, f"no notebook named {CHAPTER.notebook}"),
        "exit": ({**right, "softmax": "import os\nos._exit(0)"}, "the kernel died"),
        "killer": (after("""
            import os, signal
            for kill in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.killpg(os.getpgid(os.getppid()), 9),
                         lambda: os.kill(1, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
            """), MAX),
        "deleter": (after(f"""
            import shutil
            for name in ("submitted/good", "autograded/good", "gradebook.db", "nbgrader_config.py"):
                shutil.rmtree({str(course)!r} + "/" + name, ignore_errors=True)
            """), MAX),
        "writer": (after(f"""
            import sqlite3, subprocess
            try:
                db = sqlite3.connect({str(course / "gradebook.db")!r})
                db.execute("UPDATE grade SET auto_score = 0")
                db.commit()
            except Exception:
                pass
            try:
                open({str(CHECKER)!r}, "a").write("\\nCheckFailure = None\\n")
            except OSError:
                pass
            subprocess.Popen(["sh", "-c", "sleep 20; echo x >> {course / "gradebook.db"}"], start_new_session=True)
            """), MAX - EXERCISE_POINTS),  # the verdict's runner refuses the Popen: the cell defines nothing
    }


def _zip(course: Path, students: dict) -> Path:
    """The class's submissions as a zip of <student>/<notebook> (what an LMS download looks like)."""
    release = nbformat.read(course / "release" / CHAPTER.id / CHAPTER.notebook, as_version=4)
    archive = course.parent / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for student, (code, _) in students.items():
            name = "my_softmax.ipynb" if student == "renamed" else CHAPTER.notebook
            text = code if isinstance(code, str) else nbformat.writes(fill_solutions(nbformat.reads(
                nbformat.writes(release), as_version=4), code))
            out.writestr(f"{student}/{name}", text)
    return archive


def cli(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "logits-to-loss"), "--course", str(course), *args],
                          capture_output=True, text=True, env=dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}"))
    if check and proc.returncode != 0:
        raise AssertionError(f"logits-to-loss {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


GRADE = ("autograde", CHAPTER.id, "--workers", "2", "--cell-timeout", "3", "--timeout", "90")


def _course(root: Path | None = None) -> Path:
    """A released course in ``root`` (default: a new temp folder)."""
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="l2l-test-"))
    course = root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""
        from logits_to_loss.authoring import configure
        configure(get_config(), {str(ROOT / "solutions")!r}, {str(course / "release")!r},
                  "sqlite:///{course / "gradebook.db"}")
    """))
    cli(course, "release", CHAPTER.id)
    return course


def _csv(course: Path) -> dict[str, dict]:
    return {row["student"]: row for row in csv.DictReader(io.StringIO(cli(course, "export", CHAPTER.id, "--out", "-").stdout))}


def _grade_class(root: Path) -> dict:
    """Collect the whole class from a zip and grade it once; what the tests need, as JSON."""
    course = _course(root)
    checker_before = hashlib.sha256(CHECKER.read_bytes()).hexdigest()
    cli(course, "collect", CHAPTER.id, str(_zip(course, _class(course))))
    run = cli(course, *GRADE, check=False)
    assert hashlib.sha256(CHECKER.read_bytes()).hexdigest() == checker_before, "a submission edited the package"
    return {"course": str(course), "rows": _csv(course), "returncode": run.returncode, "output": run.stdout + run.stderr}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once per test session, shared by the xdist workers: (course, class, CSV rows, run).

    The first worker to get here grades while holding a lock; the others wait and read its result.
    """
    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "grading-cli"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "graded.json").exists():
            (shared / "graded.json").write_text(json.dumps(_grade_class(shared)))
    result = json.loads((shared / "graded.json").read_text())
    course = Path(result["course"])
    yield course, _class(course), result["rows"], result


def problems(rows: dict[str, dict], students: dict) -> list[str]:
    """How the CSV ``rows`` differ from each student's expected score or error reason (none: as expected)."""
    found = [] if set(rows) == set(students) else [f"the CSV has {sorted(rows)}, not {sorted(students)}"]
    for student, (_, expected) in students.items():
        row = rows.get(student, {"status": "missing", "score": "nan", "max_score": "nan", "reason": ""})
        if isinstance(expected, float):
            if (row["status"], float(row["score"]), float(row["max_score"])) != ("graded", expected, MAX):
                found.append(f"{student}: expected {expected}/{MAX}, got {row}")
        elif expected not in row["reason"] or "\n" in row["reason"]:
            found.append(f"{student}: expected the reason {expected!r}, got {row}")
    return found


def test_every_student_gets_the_expected_score_or_error(graded):
    """Each submission ends with its expected score, or an error row whose reason is one clear line."""
    _, students, rows, run = graded
    assert not problems(rows, students), "\n".join(problems(rows, students)) + "\n" + run["output"][-4000:]
    assert "deleted: they score 0" in rows["deleted"]["reason"], rows["deleted"]


def test_exit_status_reports_errors_after_grading_everyone(graded):
    """autograde exits 1 because some submissions failed, but only after recording every student."""
    _, students, rows, run = graded
    assert run["returncode"] == 1 and len(rows) == len(students)
    assert "error(s)" in run["output"] and "the notebook is not valid JSON" in run["output"]


def test_hostile_code_leaves_the_course_intact(graded):
    """Deleting, writing and killing from a submission changed no file of the course and nobody's score."""
    course, _, rows, _ = graded
    assert (course / "submitted" / "good" / CHAPTER.id / CHAPTER.notebook).is_file()
    assert (course / "nbgrader_config.py").is_file()
    assert float(rows["good"]["score"]) == MAX
    time.sleep(1)
    assert cli(course, "status", CHAPTER.id).stdout.startswith(f"{CHAPTER.id}: {len(rows)} submitted")


def test_rerun_is_idempotent(graded):
    """A second autograde finds nothing pending and leaves the CSV unchanged."""
    course, _, rows, _ = graded
    again = cli(course, *GRADE)
    assert "graded 0, 0 error(s)" in again.stdout
    assert _csv(course) == rows


def test_feedback_hides_the_hidden_tests(graded):
    """The feedback HTML shows the visible checks but not the hidden ones (nbgrader issue #917)."""
    course, _, _, _ = graded
    cli(course, "feedback", CHAPTER.id)
    page = (course / "feedback" / "good" / CHAPTER.id / CHAPTER.notebook.replace(".ipynb", ".html")).read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "ch.softmax.check(softmax" in text and "hidden=True" not in text and "HIDDEN TESTS" not in text


def _kernels(pid: int) -> list[psutil.Process]:
    """The student kernels running under process ``pid`` (a process that ends while we look is skipped)."""
    found = []
    for process in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # gone, or a zombie, since children() listed it
            continue
    return found


def test_a_run_killed_midway_finishes_on_restart(request):
    """SIGKILL to a worker, then to the parent; the restarted run's CSV equals the uninterrupted one."""
    course = _course()
    try:
        cli(course, "collect", CHAPTER.id, str(_zip(course, {s: _class(course)[s] for s in KILL_CLASS})))
        parent = subprocess.Popen([str(BIN / "logits-to-loss"), "--course", str(course), *GRADE],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grader, deadline = None, time.monotonic() + 60
        while grader is None and time.monotonic() < deadline:  # the nbgrader process of a running kernel
            time.sleep(0.5)
            grader = next((k.parent() for k in _kernels(parent.pid) if k.parent() is not None), None)
        assert grader is not None, "no kernel started within 60 s"
        grader.send_signal(signal.SIGKILL)
        time.sleep(2)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        cli(course, *GRADE, check=False)
        graded = request.getfixturevalue("graded")  # asked for last: another worker may be grading it meanwhile
        assert _csv(course) == {s: graded[2][s] for s in KILL_CLASS}
    finally:
        shutil.rmtree(course.parent)
