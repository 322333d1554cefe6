"""Collecting submissions: a folder or a zip of ``<student>/...`` into nbgrader's ``submitted/<student>/<chapter>/``.

Each top-level entry names a student; the files under it are copied as they are (a renamed
notebook stays renamed, so autograde reports it). Links, absolute paths and ``..`` are refused.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


def _member_files(source: Path) -> dict[tuple[str, PurePosixPath], bytes]:
    """(student, relative path) -> bytes of every file of a folder or a zip of submissions."""
    files = {}
    if source.is_dir():
        for path in source.rglob("*"):
            if path.is_file() and not path.is_symlink() and len(path.relative_to(source).parts) > 1:
                rel = PurePosixPath(path.relative_to(source).as_posix())
                files[(rel.parts[0], PurePosixPath(*rel.parts[1:]))] = path.read_bytes()
        return files
    if not zipfile.is_zipfile(source):
        raise ValueError(f"source must be a folder or a zip of <student>/ folders, got {source}")
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            rel = PurePosixPath(info.filename)
            if info.is_dir() or len(rel.parts) < 2 or rel.is_absolute() or ".." in rel.parts:
                continue
            files[(rel.parts[0], PurePosixPath(*rel.parts[1:]))] = archive.read(info)
    return files


def collect(source: Path, course: Path, chapter_id: str) -> list[str]:
    """Copy every student's files into ``course/submitted/<student>/<chapter_id>/``; returns the students."""
    files = _member_files(source)
    students = sorted({student for student, _ in files})
    bad = [s for s in students if not STUDENT_ID.match(s)]
    if bad:
        raise ValueError(f"source: these folder names are not valid student ids: {bad}")
    for student in students:
        target = course / "submitted" / student / chapter_id
        shutil.rmtree(target, ignore_errors=True)
    for (student, rel), data in files.items():
        path = course / "submitted" / student / chapter_id / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return students
