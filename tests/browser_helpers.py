"""A real JupyterLab (started as a learner's `course.py lab` starts it) and headless Chromium.

Shared by tests/test_browser.py and bench/bench_latency.py. Debian's chromium at /usr/bin/chromium,
driven by Playwright (no browser download).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SETTINGS = {  # render every cell (no windowing, so off-screen outputs exist in the DOM) and ask no news question
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


def course_script():
    """The repository's course.py, whose learner_environment() the learner's `course.py lab` uses."""
    spec = importlib.util.spec_from_file_location("course_script", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(240):
        if server.poll() is not None:
            break
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(log.read_text())


@contextlib.contextmanager
def lab_server(root: Path) -> Iterator[tuple[str, str, Path]]:
    """``(base_url, token, log)``: JupyterLab on a free loopback port with a fresh token, serving ``root``."""
    port, token = free_port(), os.urandom(12).hex()
    settings = root / "settings"
    for plugin, values in SETTINGS.items():
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))
    env = dict(course_script().learner_environment(), JUPYTERLAB_SETTINGS_DIR=str(settings),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    log = root / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", f"--LabApp.workspaces_dir={root / 'ws'}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/api/status?token={token}", server, log)
            yield base, token, log
        finally:
            server.terminate()
            server.wait(timeout=30)


def warnings_in(log: Path) -> list[str]:
    """The lines of a Jupyter log that warn: jupyter_server's ``[W ...]`` and ipykernel's ``WARNING |``."""
    return [line for line in log.read_text().splitlines() if line.startswith("[W ") or "WARNING" in line]


@contextlib.contextmanager
def jupyterlab(root: Path) -> Iterator[tuple[object, str, str]]:
    """``(browser, base_url, token)``: :func:`lab_server` and headless Chromium."""
    from playwright.sync_api import sync_playwright

    with lab_server(root) as (base, token, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser, base, token
        browser.close()


def copy_course(root: Path) -> Path:
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def open_notebook(browser, url: str, width: int = 1400, height: int = 1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(180_000)  # CI runs this beside the grading tests on 2 cores
    page.goto(url + ("&" if "?" in url else "?") + "reset")  # no tabs restored from an earlier page
    try:
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle")  # the kernel is connected, not just the page
    except Exception:
        page.screenshot(path=str(Path(os.environ.get("TMPDIR", "/tmp")) / "open-notebook-failure.png"))
        raise
    return page


def run_all(page) -> None:
    """Run All Cells; wait until no cell waits or runs and the last code cell ran (or an error stopped the run)."""
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
        const stopped = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
        return prompts.length && !prompts.some(t => t.includes('*'))
            && (/\\d/.test(prompts[prompts.length - 1]) || stopped !== null);
    }""")
