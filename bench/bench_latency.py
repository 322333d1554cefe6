"""Slider -> redrawn figure latency of every chapter's main explorer, in JupyterLab + headless Chromium.

For each chapter with an explorer: open its instructor notebook in a real JupyterLab (started as a
learner's `course.py lab` starts it), run all cells, then move the explorer's first slider with the
keyboard 50 times and time each key press until the figure's image in the DOM has changed. Prints
p50 and p95 per chapter (goal: p95 <= 100 ms, and <= 50 ms for one-panel explorers).

    python bench/bench_latency.py [--moves 50] [--chapter 05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_helpers import copy_course, jupyterlab, open_notebook, run_all  # noqa: E402

from logits_to_loss.chapter import chapters  # noqa: E402

MOVE = """async ([img, key]) => {
    const before = img.src, start = performance.now();
    document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
    while (img.src === before) { await new Promise(r => requestAnimationFrame(r)); }
    return performance.now() - start;
}"""


def latencies(page, moves: int) -> np.ndarray:
    """Milliseconds from a key press on the first slider to a new figure, ``moves`` times (back and forth)."""
    box = page.locator(".widget-box:has(img.widget-image)").first
    box.scroll_into_view_if_needed()
    image = box.locator("img.widget-image").first.element_handle()
    box.locator(".widget-hslider .noUi-handle").first.focus()
    times = []
    for i in range(moves):
        key = "ArrowRight" if (i // 5) % 2 == 0 else "ArrowLeft"  # stay inside the slider's range
        times.append(page.evaluate(MOVE, [image, key]))
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--chapter", default="", help="only chapters whose id starts with this")
    args = parser.parse_args()
    rows = []
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
            panels = len(chapter.explorer().fig.axes)
            rows.append((chapter.id, panels, np.percentile(ms, 50), np.percentile(ms, 95)))
            page.close()
            print(f"{chapter.id}: done", file=sys.stderr)
    print(f"slider -> figure in JupyterLab + headless Chromium, {args.moves} moves per explorer")
    print(f"{'chapter':<18} {'panels':>6} {'p50 ms':>8} {'p95 ms':>8}  goal")
    for chapter_id, panels, p50, p95 in rows:
        goal = 50 if panels == 1 else 100
        print(f"{chapter_id:<18} {panels:>6} {p50:>8.0f} {p95:>8.0f}  p95 <= {goal} {'met' if p95 <= goal else 'MISSED'}")


if __name__ == "__main__":
    main()
