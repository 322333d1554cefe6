#!/usr/bin/env python3
"""Set up and run the Logits to Loss course with one command each.

    python3 course.py lab                  install (if needed) and open JupyterLab on notebooks/
    python3 course.py instructor           JupyterLab in grader/ with nbgrader's menus and formgrader
    python3 course.py test [--chapter NN]  install (if needed) and run the test suite (one chapter's part of it)
    python3 course.py regenerate [NN]      rewrite the generated cells and notebooks/ from solutions/
    python3 course.py new NN-topic         scaffold a chapter that passes the generic tests
    python3 course.py screenshots          retake docs/screenshots/ with the browser suite

Everything goes into a project-local virtual environment, .venv/, with the CPU build of
PyTorch (torch is pinned in pyproject.toml; on Linux the CPU wheel index is added to pip's
search, so pip never pulls a multi-GB CUDA build). Needs only Python 3.10+.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5)
        return True
    except OSError:
        return False


def pip_environment() -> dict[str, str]:
    """On Linux, let pip also search PyTorch's CPU wheel index (PyPI's Linux torch wheels carry CUDA)."""
    env = dict(os.environ)
    if platform.system() == "Linux" and "PIP_EXTRA_INDEX_URL" not in env:
        if reachable(CPU_TORCH_INDEX + "/torch/"):
            env["PIP_EXTRA_INDEX_URL"] = CPU_TORCH_INDEX
        else:  # e.g. a network that reaches PyPI only: pip would retry the index for every package
            print(f"      ({CPU_TORCH_INDEX} is unreachable: installing from the default index only)", flush=True)
    return env


def ensure_venv(extra: str) -> None:
    """Create .venv and install the package with ``extra``; skipped when pyproject.toml is unchanged."""
    if sys.version_info < (3, 10):  # noqa: UP036  (this script may run under an older system Python)
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"[1/3] creating the virtual environment {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / f".installed-{extra}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("[2/3] updating pip", flush=True)
    pip_env = pip_environment()
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], env=pip_env)
    print(f"[3/3] installing logits-to-loss[{extra}] and its dependencies (first run only; a few minutes, "
          "pip lists each package as it goes)", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--progress-bar", "on", "-e", f"{ROOT}[{extra}]"], env=pip_env)
    stamp.write_text(digest)


def run(cmd: list[str], cwd: Path = ROOT, check: bool = True, env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` with .venv/bin first on PATH (nbgrader calls alembic); exit on failure if ``check``."""
    env = dict(env or os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    code = subprocess.call(cmd, cwd=cwd, env=env)
    if code and check:
        sys.exit(code)
    return code


NBGRADER_SERVER = ("formgrader", "validate_assignment", "assignment_list", "course_list")


def learner_server_config() -> dict:
    """jupyter_server settings of a learner's lab: no nbgrader server parts, and nothing to warn about at start.

    - Kernels get CurveZMQ keys from the server (``transport_encryption``), so ipykernel does not warn
      "Kernel is running over TCP without encryption" at every start.
    - No websocket keep-alive pings (``ws_ping_interval = 0``): the lab serves this machine only, with
      no proxy to keep a connection open through, and jupyter_server's ping timeout (3 intervals) is
      one that tornado refuses with a warning at the first connection.
    - Kernel messages reach the browser at once (``logits_to_loss.lab.PromptChannels``: no Nagle delay).
    """
    extensions = {f"nbgrader.server_extensions.{name}": False for name in NBGRADER_SERVER}
    return {"ServerApp": {"jpserver_extensions": extensions, "tornado_settings": {"ws_ping_interval": 0},
                          "kernel_websocket_connection_class": "logits_to_loss.lab.PromptChannels"},
            "MappingKernelManager": {"transport_encryption": "auto"}}


def learner_environment() -> dict[str, str]:
    """Environment for a learner's JupyterLab: nbgrader's menus, panels and server parts switched off.

    A private Jupyter config folder (it outranks the one in .venv that enables nbgrader) holds the
    switches (:func:`learner_server_config`), so the instructor's lab keeps them and nothing is
    installed or removed.
    """
    config = VENV / "etc" / "learner-jupyter"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}}))
    (config / "jupyter_server_config.json").write_text(json.dumps(learner_server_config()))
    return dict(os.environ, JUPYTER_CONFIG_DIR=str(config))


def lab_arguments(notebook_dir: Path) -> list[str]:
    """JupyterLab's arguments; as root (Docker, cloud boxes) it needs --allow-root to start at all."""
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [str(BIN / "jupyter"), "lab", f"--notebook-dir={notebook_dir}", *root]


def test_arguments(argv: list[str]) -> list[str]:
    """pytest arguments; ``--chapter NN`` keeps the tests of chapter NN (its generic and its own tests)."""
    if "--chapter" not in argv:
        return argv
    i = argv.index("--chapter")
    number = argv[i + 1]
    rest = argv[:i] + argv[i + 2:]
    return ["tests/test_chapters.py", "tests/test_chapter_notebooks.py", *(map(str, ROOT.glob(f"tests/test_ch{number}_*.py"))),
            "-k", f"{number}- or test_ch{number}", *rest]


def main(argv: list[str]) -> None:
    command = argv[0] if argv else ""
    if command == "lab":
        ensure_venv("course")
        run([*lab_arguments(ROOT / "notebooks"), *argv[1:]], env=learner_environment())
    elif command == "instructor":
        ensure_venv("course")
        run([*lab_arguments(ROOT / "grader"), *argv[1:]])
    elif command == "test":
        ensure_venv("dev")
        sys.exit(run([str(PYTHON), "-m", "pytest", *test_arguments(argv[1:])], check=False))
    elif command == "screenshots":
        ensure_venv("dev")
        env = dict(os.environ, L2L_SCREENSHOTS=str(ROOT / "docs" / "screenshots"))
        sys.exit(run([str(PYTHON), "-m", "pytest", "-n", "0", "tests/test_browser.py", *argv[1:]], check=False, env=env))
    elif command in ("regenerate", "new"):
        ensure_venv("dev")
        run([str(PYTHON), "-m", "logits_to_loss.authoring", *argv])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
