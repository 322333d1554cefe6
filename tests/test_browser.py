"""Every chapter in a real JupyterLab, driven in headless Chromium.

For each registered chapter: Run All on the student notebook reaches the end with no traceback
(unanswered exercises print one line), every widget renders, a slider of the explorer moved with
the keyboard redraws the figure and its value, a quiz pick is explained; at 1280x800 with the file
browser open every explorer control is visible beside or below the figure; then Run All on the
instructor notebook prints a ✓ line for every graded cell. The lab is started as a learner's
`course.py lab` starts it: no nbgrader menu, panel or Validate button. One screenshot per chapter is saved to
``$L2L_SCREENSHOTS`` (``python3 course.py screenshots`` writes docs/screenshots/).

Needs Debian's chromium at /usr/bin/chromium (driven by Playwright). Skipped where it is missing,
unless REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails the suite.
"""

from __future__ import annotations

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

import nbformat
import pytest

from course_helpers import CHAPTERS, ROOT, ids, nbgrader_meta, source

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SETTINGS = {  # render every cell (no windowing, so off-screen outputs exist in the DOM) and ask no news question
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}
CONTROLS = ".widget-hslider, .widget-dropdown, .widget-toggle-buttons, .widget-button, .widget-checkbox"

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError("REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


def _course():
    """The repository's course.py, whose learner_environment() the learner's `course.py lab` uses."""
    spec = importlib.util.spec_from_file_location("course_script", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port with a fresh token, serving a copy of notebooks/ and solutions/."""
    root = tmp_path_factory.mktemp("lab")
    for folder in ("notebooks", "solutions"):
        shutil.copytree(ROOT / folder, root / folder)
    port, token = _free_port(), os.urandom(12).hex()
    settings = root / "settings"
    for plugin, values in SETTINGS.items():
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))
    env = dict(_course().learner_environment(), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               JUPYTERLAB_SETTINGS_DIR=str(settings))
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError((root / "lab.log").read_text())
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser, base, token, root
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _open(browser, url: str, width: int = 1400, height: int = 1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(180_000)  # CI runs this beside the grading tests on 2 cores
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle")  # the kernel is connected, not just the page
    return page


def _run_all(page) -> None:
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    # done when no cell waits or runs ([*]) and the last code cell has an execution count
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
        return prompts.length && !prompts.some(t => t.includes('*')) && /\\d/.test(prompts[prompts.length - 1]);
    }""")


def _outputs(page) -> str:
    return page.locator(".jp-OutputArea").all_inner_texts().__str__()


def _move_slider(page) -> None:
    """Focus the first slider of the first explorer and press → until its readout and the figure change."""
    box = page.locator(".widget-box:has(img.widget-image)").first
    box.scroll_into_view_if_needed()
    image = box.locator("img.widget-image").first
    slider = box.locator(".widget-hslider").first
    readout, before = slider.locator(".widget-readout"), image.get_attribute("src")
    value = readout.inner_text()
    slider.locator(".noUi-handle").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([img, src]) => img.src !== src", arg=[image.element_handle(), before])
    assert readout.inner_text() != value


def _controls_visible(page) -> None:
    """Every control of every explorer lies inside the notebook, with a non-zero size, not under the figure."""
    panel = page.locator(".jp-NotebookPanel-notebook").bounding_box()
    for box in page.locator(".widget-box:has(img.widget-image)").all():
        box.scroll_into_view_if_needed()
        figure = box.locator("img.widget-image").first.bounding_box()
        for control in box.locator(CONTROLS).all():
            rect = control.bounding_box()
            assert rect and rect["width"] > 20 and rect["height"] > 5, "a control collapsed"
            assert panel["x"] <= rect["x"] and rect["x"] + rect["width"] <= panel["x"] + panel["width"] + 1
            overlap_x = min(rect["x"] + rect["width"], figure["x"] + figure["width"]) - max(rect["x"], figure["x"])
            overlap_y = min(rect["y"] + rect["height"], figure["y"] + figure["height"]) - max(rect["y"], figure["y"])
            assert overlap_x <= 0 or overlap_y <= 0, "a control sits under the figure"


@pytest.mark.parametrize("chapter", CHAPTERS.values(), ids=ids)
def test_chapter_in_jupyterlab(lab, chapter):
    """Student Run All reaches the end cleanly, explorer and quiz respond, controls fit, solutions all pass."""
    browser, base, token, root = lab
    shots = Path(os.environ.get("L2L_SCREENSHOTS", root / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    student = _open(browser, f"{base}/lab/tree/notebooks/{chapter.id}/{chapter.notebook}?token={token}")
    try:
        for instructor_tool in ("Nbgrader", "Create Assignment", "Validate"):  # learners see none of them
            assert student.get_by_text(instructor_tool, exact=True).count() == 0, instructor_tool
        _run_all(student)
        text = _outputs(student)
        assert "Traceback" not in text and "Error displaying widget" not in text, text[-2000:]
        assert "not written yet" in text
        if chapter.explorer is not None:
            _move_slider(student)
        radio = student.locator(".widget-radio-box").first
        radio.scroll_into_view_if_needed()
        radio.locator("input[type=radio]").first.check()
        student.wait_for_selector("text=/Right|Not quite/")
        if chapter.explorer is not None:
            student.locator("img.widget-image").first.scroll_into_view_if_needed()
            student.screenshot(path=str(shots / f"{chapter.id}.png"))
    finally:
        student.close()

    narrow = _open(browser, f"{base}/lab/tree/notebooks/{chapter.id}/{chapter.notebook}?token={token}", 1280, 800)
    try:
        if not narrow.locator(".jp-FileBrowser").is_visible():
            narrow.keyboard.press("Control+Shift+F")  # show the file browser beside the notebook
        assert narrow.locator(".jp-FileBrowser").is_visible()
        if chapter.explorer is not None:
            _run_all(narrow)
            narrow.locator("img.widget-image").first.scroll_into_view_if_needed()
            narrow.screenshot(path=str(shots / f"{chapter.id}-1280x800.png"))
            _controls_visible(narrow)
    finally:
        narrow.close()

    instructor = _open(browser, f"{base}/lab/tree/solutions/{chapter.id}/{chapter.notebook}?token={token}")
    try:
        _run_all(instructor)
        cells = nbformat.read(source(chapter), as_version=4).cells
        graded = [c for c in cells if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
        assert _outputs(instructor).count("✓") >= len(graded)
    finally:
        instructor.close()
