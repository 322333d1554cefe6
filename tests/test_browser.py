"""Every chapter in a real JupyterLab, driven in headless Chromium.

For each registered chapter: Run All on the student notebook reaches the end with no traceback
(unanswered exercises print one line), every widget renders, a slider of the explorer moved with
the keyboard redraws the figure and its value, a quiz pick is explained; at 1280x800 with the file
browser open every explorer control is visible beside or below the figure. (That every check of the
instructor notebook passes is tested headless by `nbgrader validate`.) The lab is started as a learner's
`course.py lab` starts it: no nbgrader menu, panel or Validate button. One screenshot per chapter is saved to
``$L2L_SCREENSHOTS`` (``python3 course.py screenshots`` writes docs/screenshots/).

Needs Debian's chromium at /usr/bin/chromium (driven by Playwright). Skipped where it is missing,
unless REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser fails the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    copy_course,
    free_port,
    jupyterlab,
    open_notebook,
    run_all,
    wait_for,
    warnings_in,
)
from course_helpers import CHAPTERS, ROOT, ids

CONTROLS = ".widget-hslider, .widget-dropdown, .widget-toggle-buttons, .widget-button, .widget-checkbox"
EXPLORER, FIGURE = ".widget-box:has(svg.l2l-figure)", "svg.l2l-figure"  # an explorer's box and its SVG figure

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError("REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of notebooks/ and solutions/, as a learner's `course.py lab` runs it."""
    root = copy_course(tmp_path_factory.mktemp("lab"))
    with jupyterlab(root) as (browser, base, token):
        yield browser, base, token, root


def _outputs(page) -> str:
    return page.locator(".jp-OutputArea").all_inner_texts().__str__()


SETTLED = """box => {  // true once the figure is the same on two polls in a row
    const svg = box.querySelector('svg.l2l-figure').outerHTML, same = svg === box.l2lLast;
    box.l2lLast = svg;
    return same;
}"""


def _move_slider(page) -> None:
    """Focus the first slider of the first explorer and press → until its readout and the figure change."""
    box = page.locator(EXPLORER).first
    box.scroll_into_view_if_needed()
    figure = box.locator(FIGURE).first
    slider = box.locator(".widget-hslider").first
    readout, before = slider.locator(".widget-readout"), figure.evaluate("svg => svg.outerHTML")
    value = readout.inner_text()
    slider.locator(".noUi-handle").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("([box, svg]) => box.querySelector('svg.l2l-figure').outerHTML !== svg",
                           arg=[box.element_handle(), before])
    page.wait_for_function(SETTLED, arg=box.element_handle(), polling=300)  # the ten moves are all drawn
    assert readout.inner_text() != value


def _controls_visible(page) -> None:
    """Every control of every explorer lies inside the notebook, with a non-zero size, not under the figure."""
    panel = page.locator(".jp-NotebookPanel-notebook").bounding_box()
    for box in page.locator(EXPLORER).all():
        box.scroll_into_view_if_needed()
        figure = box.locator(FIGURE).first.bounding_box()
        for control in box.locator(CONTROLS).all():
            rect = control.bounding_box()
            assert rect and rect["width"] > 20 and rect["height"] > 5, "a control collapsed"
            assert panel["x"] <= rect["x"] and rect["x"] + rect["width"] <= panel["x"] + panel["width"] + 1
            overlap_x = min(rect["x"] + rect["width"], figure["x"] + figure["width"]) - max(rect["x"], figure["x"])
            overlap_y = min(rect["y"] + rect["height"], figure["y"] + figure["height"]) - max(rect["y"], figure["y"])
            assert overlap_x <= 0 or overlap_y <= 0, "a control sits under the figure"


def _self_checks_pass(browser, base: str, token: str, chapter) -> None:
    """Run All on the solution notebook prints the ✓ line of every part and every quiz question, and no traceback."""
    page = open_notebook(browser, f"{base}/lab/tree/solutions/{chapter.id}/{chapter.notebook}?token={token}")
    try:
        run_all(page)
        text = _outputs(page)
        expected = [f"✓ {e.name}: part '{p}' passed" for e in chapter.exercises for p in e.parts]
        expected += [f"✓ {qid}: correct" for qid in (chapter.quiz.questions if chapter.quiz else ())]
        missing = [line for line in expected if line not in text]
        assert not missing and "Traceback" not in text, (missing, text[-2000:])
    finally:
        page.close()


@pytest.mark.parametrize("chapter", CHAPTERS.values(), ids=ids)
def test_chapter_in_jupyterlab(lab, chapter):
    """Student Run All reaches the end cleanly, quiz and explorer respond, every self-check of the solution
    notebook prints its ✓ line, and at 1280x800 every control fits."""
    browser, base, token, root = lab
    shots = Path(os.environ.get("L2L_SCREENSHOTS", root / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    page = open_notebook(browser, f"{base}/lab/tree/notebooks/{chapter.id}/{chapter.notebook}?token={token}")
    try:
        for instructor_tool in ("Nbgrader", "Create Assignment", "Validate"):  # learners see none of them
            assert page.get_by_text(instructor_tool, exact=True).count() == 0, instructor_tool
        run_all(page)
        text = _outputs(page)
        assert "Traceback" not in text and "Error displaying widget" not in text, text[-2000:]
        assert "not written yet" in text
        question = page.locator(".widget-vbox:has(.widget-radio-box):not(:has(.widget-vbox))").first  # one question
        question.scroll_into_view_if_needed()
        question.locator("input[type=radio]").first.check()
        note = question.locator(".widget-html").last.element_handle()
        page.wait_for_function("note => /Right|Not quite/.test(note.textContent)", arg=note)
        if chapter.explorer is not None:
            _move_slider(page)
            page.locator(FIGURE).first.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{chapter.id}.png"))
            page.set_viewport_size({"width": 1280, "height": 800})
            if not page.locator(".jp-FileBrowser").is_visible():
                page.keyboard.press("Control+Shift+F")  # show the file browser beside the notebook
            assert page.locator(".jp-FileBrowser").is_visible()
            page.wait_for_timeout(500)  # let the flex layout settle at the new width
            _controls_visible(page)
    finally:
        page.close()
    _self_checks_pass(browser, base, token, chapter)


def test_playground_renders_in_voila(lab, tmp_path):
    """`voila notebooks/00-playground.ipynb` serves a page with one rendered explorer per chapter that has one."""
    browser = lab[0]
    port, log = free_port(), tmp_path / "voila.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "voila", str(ROOT / "notebooks" / "00-playground.ipynb"), "--no-browser",
             f"--port={port}", "--Voila.ip=127.0.0.1"],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/", server, log)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(180_000)
            page.goto(f"http://127.0.0.1:{port}/")
            explorers = sum(c.explorer is not None for c in CHAPTERS.values())
            page.wait_for_function(f"document.querySelectorAll('{FIGURE}').length >= {explorers}")
            assert "Traceback" not in page.inner_text("body")
            page.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_lab_log_has_no_warnings(lab):
    """The learner's lab logged no warning while it served the chapters above (under xdist: this worker's).

    Every kernel those chapters started wrote its start-up log there too. The one exception is Jupyter's note that a notebook a learner opens is not yet trusted (signed) by
    them: that is about the notebook, not about starting the lab or a kernel.
    """
    root = lab[3]
    assert [line for line in warnings_in(root / "lab.log") if "is not trusted" not in line] == []
