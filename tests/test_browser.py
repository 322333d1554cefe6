"""Real JupyterLab in headless Chromium: the chapter 1 explorer and quiz render and respond.

Needs Debian's chromium at /usr/bin/chromium (driven by Playwright). Skipped where it is missing,
unless REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails the suite.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course_helpers import source_notebook

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError("REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on loopback serving a copy of chapter 1's instructor notebook."""
    shutil.copy(source_notebook("01-softmax"), tmp_path / "softmax.ipynb")
    port, token = _free_port(), "l2l-test-token"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", JUPYTER_NO_CONFIG="1")
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError((tmp_path / "lab.log").read_text())
        yield f"{base}/lab/tree/softmax.ipynb?token={token}", tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_explorer_and_quiz_work_in_jupyterlab(lab):
    """Run all cells; moving a slider re-renders the same image; picking a quiz option explains it."""
    url, tmp_path = lab
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)  # CI runs this beside the grading tests on 2 cores
        try:
            page.goto(url)
            _run_all_cells(page)
            _drive_explorer(page)
            _answer_quiz(page)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            print(f"screenshot: {tmp_path / 'failure.png'}\nserver log:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            raise
        finally:
            browser.close()


def _run_all_cells(page) -> None:
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle")  # the kernel is connected, not just the page
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")


def _drive_explorer(page) -> None:
    image = page.wait_for_selector("img.widget-image")
    sliders = page.locator(".widget-hslider")
    assert sliders.count() >= 5  # cat, dog, bird, fish, temperature
    readout = sliders.first.locator(".widget-readout")
    before_src, before_value = image.get_attribute("src"), readout.inner_text()
    sliders.first.locator(".noUi-handle").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("(src) => document.querySelector('img.widget-image').src !== src", arg=before_src)
    assert readout.inner_text() != before_value
    assert page.locator("img.widget-image").count() == 1, "the explorer must redraw in place, not add figures"


def _answer_quiz(page) -> None:
    first = page.locator(".widget-radio-box").first
    first.scroll_into_view_if_needed()
    first.locator("input[type=radio]").nth(1).check()
    page.wait_for_selector("text=e^3 / e^1")
    first.locator("input[type=radio]").nth(0).check()
    page.wait_for_selector("text=Not quite")
    assert page.locator("text=Copy into the answer cell").count() == 1
