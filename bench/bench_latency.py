"""Slider -> redrawn figure latency of every chapter's main explorer, in JupyterLab + headless Chromium.

For each chapter with an explorer: open its instructor notebook in a real JupyterLab (started as a
learner's `course.py lab` starts it), run all cells, then move the explorer's first slider with the
keyboard 50 times and time each key press until the explorer's new SVG figure is in the DOM (a
MutationObserver sees the old ``<svg>`` replaced; the kernel only sends a new figure once it has
recomputed). Prints p50 and p95 per chapter (goal: p95 <= 100 ms, and <= 50 ms for one-panel
explorers) and the load average before and after.

    python bench/bench_latency.py [--moves 50] [--chapter 05]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_helpers import copy_course, jupyterlab, open_notebook, run_all  # noqa: E402

from logits_to_loss.chapter import chapters  # noqa: E402

FIGURE = ".widget-box:has(svg.l2l-figure)"
# One key press on the focused slider handle (turning back at either end of its range), resolved when
# the figure's <svg> element has been replaced; fails after 5 s instead of waiting for ever.
MOVE = """async ([box, key]) => {
    const handle = document.activeElement, now = +handle.getAttribute('aria-valuenow');
    if (now >= +handle.getAttribute('aria-valuemax')) key = 'ArrowLeft';
    if (now <= +handle.getAttribute('aria-valuemin')) key = 'ArrowRight';
    const before = box.querySelector('svg.l2l-figure');
    const swapped = new Promise((resolve, reject) => {
        const seen = new MutationObserver(() => {
            if (box.querySelector('svg.l2l-figure') !== before) { seen.disconnect(); resolve(); }
        });
        seen.observe(box, {childList: true, subtree: true});
        setTimeout(() => { seen.disconnect(); reject(new Error('no new figure 5 s after ' + key)); }, 5000);
    });
    const start = performance.now();
    handle.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    await swapped;
    return [performance.now() - start, key];
}"""


def latencies(page, moves: int) -> np.ndarray:
    """Milliseconds from a key press on the first slider to a new figure in the DOM, ``moves`` times."""
    box = page.locator(FIGURE).first
    box.scroll_into_view_if_needed()
    box.locator(".widget-hslider .noUi-handle").first.focus()
    times, key = [], "ArrowRight"
    for _ in range(moves):
        ms, key = page.evaluate(MOVE, [box.element_handle(), key])
        times.append(ms)
    return np.array(times)


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--chapter", default="", help="only chapters whose id starts with this")
    args = parser.parse_args()
    rows, load_before = [], load()
    with tempfile.TemporaryDirectory() as tmp, jupyterlab(copy_course(Path(tmp))) as (browser, base, token):
        for chapter in chapters().values():
            if chapter.explorer is None or not chapter.id.startswith(args.chapter):
                continue
            page = open_notebook(browser, f"{base}/lab/tree/solutions/{chapter.id}/{chapter.notebook}?token={token}")
            try:
                run_all(page)
            except Exception:
                page.screenshot(path="/tmp/latency-failure.png")
                raise
            ms = latencies(page, args.moves)
            panels = chapter.explorer().panels
            rows.append((chapter.id, panels, np.percentile(ms, 50), np.percentile(ms, 95)))
            page.close()
            print(f"{chapter.id}: done", file=sys.stderr)
    print(f"slider -> figure in JupyterLab + headless Chromium, {args.moves} moves per explorer; "
          f"load average {load_before} before, {load()} after")
    print(f"{'chapter':<18} {'panels':>6} {'p50 ms':>8} {'p95 ms':>8}  goal")
    for chapter_id, panels, p50, p95 in rows:
        goal = 50 if panels == 1 else 100
        print(f"{chapter_id:<18} {panels:>6} {p50:>8.0f} {p95:>8.0f}  p95 <= {goal} {'met' if p95 <= goal else 'MISSED'}")


if __name__ == "__main__":
    main()
