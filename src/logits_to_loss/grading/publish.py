"""The student-facing release: the course as Binder and `course.py lab` serve it to a class, minus the grader's side.

``logits-to-loss publish DEST`` copies the course repository into the new folder DEST, which an
instructor commits to the class's public repository (and points the Binder badges at). It leaves
out what only the grader needs: ``solutions/`` (the source notebooks, with solutions and hidden
tests), ``grader/`` (gradebook and submissions), ``tests/``, ``bench/``, ``.ci/`` and the grading
package (trusted verdicts, sandbox). Before it returns it checks that no published notebook
holds a solution or a hidden test. When the course's quiz is an assessment (``grader/course.json``
has ``{"quiz_mode": "assessment"}``) it also leaves out the quiz keys (:mod:`.keyless`) and checks
that no published file gives one away; a formative quiz keeps its keys, which its widget explains.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..authoring import quiz_mode, repository
from .keyless import hide_keys, key_leaks

LEFT_OUT = {"solutions", "grader", "tests", "bench", ".ci", ".git", ".venv", "src/logits_to_loss/grading"}
SCRATCH = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", "build", "dist"}
MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS")


def source_repository() -> Path:
    """The course repository this package was installed from (an editable install of ``src/``)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "solutions").is_dir() or not (root / "notebooks").is_dir():
        raise ValueError(f"--repo: {root} is not a course repository (no solutions/ and notebooks/); "
                         "give the repository's folder with --repo")
    return root


def _ignore(repo: Path):
    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(repo)
        return {n for n in names if (here / n).as_posix() in LEFT_OUT or n in SCRATCH or n.endswith(".egg-info")}
    return ignore


def leaks(tree: Path) -> list[Path]:
    """Notebooks under ``tree`` that hold a solution or a hidden test."""
    return [p for p in sorted(tree.rglob("*.ipynb")) if any(m in p.read_text(errors="replace") for m in MARKERS)]


def _rename(dest: Path, github: str) -> None:
    """Name the class's repository ``OWNER/REPO`` where the course names its own: pyproject and the Binder badges."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", github):
        raise ValueError(f"--github must be OWNER/REPO, got {github!r}")
    old = repository(dest)
    for name in ("pyproject.toml", "README.md"):
        (dest / name).write_text((dest / name).read_text().replace(f"github.com/{old}", f"github.com/{github}")
                                 .replace(f"/gh/{old}/", f"/gh/{github}/"))


def _refuse(dest: Path, found: list[Path], holding: str, remedy: str) -> None:
    """Raise if any file was ``found`` under ``dest``."""
    if found:
        raise ValueError(f"not published: {', '.join(str(p.relative_to(dest)) for p in found)} {holding}; {remedy}")


def _student_facing(repo: Path, dest: Path) -> None:
    """Make the copy ``dest`` of ``repo`` student-facing: refuse a solution or hidden test, and for an assessment
    take the quiz keys out and refuse any file that still gives one away."""
    _refuse(dest, leaks(dest), "hold solutions or hidden tests",
            "run `python3 course.py regenerate` so notebooks/ is the student version")
    if quiz_mode(repo) == "assessment":
        _refuse(dest, key_leaks(dest, hide_keys(dest)), "give a quiz key away (an option's explanation, the key's "
                "answer line or a Question(...))", "quote no explanation and declare each question inside its "
                "chapter's Quiz([...])")


def publish(repo: Path, dest: Path, github: str | None = None) -> None:
    """Copy ``repo`` into the new folder ``dest`` without the grader's side (nor, for an assessment, the quiz keys);
    refuse, leaving nothing behind, if a file would leak.

    ``github`` (``OWNER/REPO``) names the class's repository in pyproject.toml and the Binder badges.
    """
    if dest.exists():
        raise ValueError(f"DEST: {dest} exists; publish into a new folder (the published tree is rebuilt whole)")
    shutil.copytree(repo, dest, ignore=_ignore(repo))
    try:
        _student_facing(repo, dest)
    except BaseException:
        shutil.rmtree(dest)
        raise
    if github:
        _rename(dest, github)
