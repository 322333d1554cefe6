"""The grading ledger: one JSON line per finished submission, so a killed run resumes where it stopped.

``<course>/grading/<chapter>.jsonl`` is appended (and fsynced) by the parent alone, after the result
is in the gradebook. A submission is done when its last line carries the digest of its current
files; a torn last line (the run was killed mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """How one submission ended: ``graded`` (a grade row, maybe with a note) or ``error`` (with its reason)."""

    student: str
    digest: str
    status: str
    score: float
    max_score: float
    reason: str = ""


def digest(folder: Path) -> str:
    """SHA-256 of every file under ``folder`` (names and bytes): a changed submission is graded again."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def path(course: Path, chapter_id: str) -> Path:
    return course / "grading" / f"{chapter_id}.jsonl"


def read(course: Path, chapter_id: str) -> dict[str, Result]:
    """The latest result of each student in ``chapter_id``."""
    results: dict[str, Result] = {}
    file = path(course, chapter_id)
    if file.exists():
        for line in file.read_text().splitlines():
            try:
                result = Result(**json.loads(line))
            except (ValueError, TypeError):
                continue
            results[result.student] = result
    return results


def append(course: Path, chapter_id: str, result: Result) -> None:
    file = path(course, chapter_id)
    file.parent.mkdir(exist_ok=True)
    with file.open("ab+") as out:
        out.seek(0, os.SEEK_END)
        torn = out.tell() > 0 and (out.seek(-1, os.SEEK_END), out.read(1))[1] != b"\n"
        out.write((b"\n" if torn else b"") + json.dumps(asdict(result)).encode() + b"\n")
        out.flush()
        os.fsync(out.fileno())
