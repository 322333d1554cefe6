#!/usr/bin/env python3
"""Set up and run the Logits to Loss course with one command each.

    python3 course.py lab          install (if needed) and open JupyterLab on notebooks/
    python3 course.py test         install (if needed) and run the whole test suite
    python3 course.py regenerate   rebuild notebooks/ from solutions/ with nbgrader

Everything goes into a project-local virtual environment, .venv/, with the CPU build of
PyTorch (torch is pinned in pyproject.toml, so pip never pulls a multi-GB CUDA build where a
CPU wheel is offered; see README "CPU PyTorch"). Needs only Python 3.10+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv(extra: str) -> None:
    """Create .venv and install the package with ``extra``; skipped when pyproject.toml is unchanged."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / f".installed-{extra}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing logits-to-loss[{extra}] into {VENV} (first run only)", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extra}]"])
    stamp.write_text(digest)


def run(cmd: list[str], cwd: Path = ROOT, check: bool = True) -> int:
    """Run ``cmd`` with .venv/bin first on PATH (nbgrader calls alembic); exit on failure if ``check``."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    code = subprocess.call(cmd, cwd=cwd, env=env)
    if code and check:
        sys.exit(code)
    return code


def regenerate() -> None:
    """Run ``nbgrader generate_assignment`` for every chapter in solutions/."""
    for chapter in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        run([str(BIN / "nbgrader"), "generate_assignment", chapter, "--force", "--log-level=WARN"], cwd=ROOT / "grader")


def main(argv: list[str]) -> None:
    command = argv[0] if argv else ""
    if command == "lab":
        ensure_venv("course")
        run([str(BIN / "jupyter"), "lab", f"--notebook-dir={ROOT / 'notebooks'}", *argv[1:]])
    elif command == "test":
        ensure_venv("dev")
        sys.exit(run([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT, check=False))
    elif command == "regenerate":
        ensure_venv("dev")
        regenerate()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
