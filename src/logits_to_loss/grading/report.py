"""What the instructor reads: the course's nbgrader settings, the grades CSV and the status summary.

Scores come from the gradebook (nbgrader's record); the status and the one-line reason of each
submission come from the ledger; a submission whose files changed since it was graded is pending.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import ledger

COLUMNS = ("student", "chapter", "score", "max_score", "status", "reason")


def course_config(course: Path) -> Config:
    """The nbgrader configuration of the course folder ``course`` (its ``nbgrader_config.py``)."""
    if not (course / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"course: no nbgrader_config.py in {course}")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    db_url = config.CourseDirectory.get("db_url", "")
    if db_url and not db_url.startswith("sqlite") and not config.CourseDirectory.get("course_id"):
        raise ValueError(f"course: the gradebook {db_url} needs a course id (nbgrader records assignments under "
                         "it, and unlike SQLite this database checks it): add "
                         "c.CourseDirectory.course_id = 'logits-to-loss' to nbgrader_config.py")
    return config


def rows(course: Path, chapter_id: str, db_url: str) -> list[dict]:
    """One row per submitted student of ``chapter_id``: graded, error (with its reason) or pending."""
    done = ledger.read(course, chapter_id)
    students = sorted({p.parent.name for p in (course / "submitted").glob(f"*/{chapter_id}")} | set(done))
    out = []
    with Gradebook(db_url) as gb:
        for student in students:
            folder = course / "submitted" / student / chapter_id
            result = done.get(student)
            if result is None or (folder.is_dir() and ledger.digest(folder) != result.digest):
                out.append(dict(student=student, chapter=chapter_id, score="", max_score="", status="pending", reason=""))
                continue
            try:
                submission = gb.find_submission(chapter_id, student)
                score, top = submission.score, submission.max_score
            except MissingEntry:
                score, top = result.score, result.max_score
            out.append(dict(student=student, chapter=chapter_id, score=f"{score:g}", max_score=f"{top:g}",
                            status=result.status, reason=result.reason))
    return out


def write_csv(table: list[dict], out: TextIO) -> None:
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)


def summary(table: list[dict]) -> str:
    """``01-softmax: 12 submitted, 10 graded (mean 7.5/9), 1 error, 1 pending``, and each error's reason."""
    if not table:
        return "no submissions"
    chapter = table[0]["chapter"]
    graded = [r for r in table if r["status"] == "graded"]
    errors = [r for r in table if r["status"] == "error"]
    mean = sum(float(r["score"]) for r in graded) / len(graded) if graded else 0.0
    top = graded[0]["max_score"] if graded else "?"
    lines = [f"{chapter}: {len(table)} submitted, {len(graded)} graded (mean {mean:.2f}/{top}), "
             f"{len(errors)} error(s), {len(table) - len(graded) - len(errors)} pending"]
    lines += [f"  {r['student']}: {r['reason']}" for r in errors]
    return "\n".join(lines)
