"""Classroom grading speed: plain sequential `nbgrader autograde` against `logits-to-loss autograde` with 2 workers.

Builds a throwaway course of ``--n`` correct submissions of one chapter, grades it both ways in one
run, and prints the speed-up (goal: 1.85x on 2 cores) and the sandbox's overhead per submission
(the command with 1 worker against plain nbgrader, goal at most 10%).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from course_helpers import BIN, CHAPTERS, ROOT, fill_solutions, nbgrader, solution_code  # noqa: E402


def make_course(root: Path, chapter_id: str, n: int) -> Path:
    """A released course with ``n`` correct submissions of ``chapter_id``."""
    course = root / "course"
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""
        from logits_to_loss.authoring import configure
        configure(get_config(), {str(ROOT / "solutions")!r}, {str(course / "release")!r}, "sqlite:///{course / "gradebook.db"}")
    """))
    nbgrader("generate_assignment", chapter_id, "--force", cwd=course)
    chapter = CHAPTERS[chapter_id]
    nb = fill_solutions(nbformat.read(course / "release" / chapter_id / chapter.notebook, as_version=4),
                        solution_code(chapter_id))
    for i in range(n):
        folder = course / "submitted" / f"s{i:03d}" / chapter_id
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / chapter.notebook)
    return course


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="submissions (default 200)")
    parser.add_argument("--chapter", default="01-softmax")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="l2l-bench-"))
    root.chmod(0o755)
    try:
        runs = {}
        for name, command in [("plain nbgrader, sequential", [str(BIN / "nbgrader"), "autograde", args.chapter, "--create"]),
                              ("logits-to-loss, 1 worker", [str(BIN / "logits-to-loss"), "autograde", args.chapter, "--workers", "1"]),
                              ("logits-to-loss, 2 workers", [str(BIN / "logits-to-loss"), "autograde", args.chapter, "--workers", "2"])]:
            course = make_course(root / name.replace(" ", "_").replace(",", ""), args.chapter, args.n)
            runs[name] = timed(command, course)
            print(f"{name:28s} {runs[name]:8.1f} s  {runs[name] / args.n:6.2f} s/submission", flush=True)
        plain, one, two = runs.values()
        print(f"speed-up, 2 workers vs plain nbgrader: {plain / two:.2f}x (goal 1.85x)")
        print(f"sandbox overhead per submission (1 worker vs plain): {(one - plain) / args.n:+.2f} s "
              f"({100 * (one / plain - 1):+.1f}%, goal at most 10%)")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
