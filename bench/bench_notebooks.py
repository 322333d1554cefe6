"""Time and peak memory of every student and instructor notebook, executed headless (Binder's budget).

Each notebook runs top to bottom with nbclient in a fresh kernel; the kernel's peak resident memory
is read from /proc (VmHWM) at the end. Goal: each under 30 s (60 s for the GPU chapter on a CPU)
and under 1.5 GB, since Binder gives 1-2 GB.

    python bench/bench_notebooks.py
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from logits_to_loss.chapter import chapters

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size in MB, from /proc/<pid>/status (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def run(path: Path) -> tuple[float, float]:
    """Seconds to execute the notebook and the kernel's peak memory in MB."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = peak_rss_mb(client.km.provisioner.process.pid)
    return time.perf_counter() - start, peak


def main() -> None:
    print(f"{'notebook':<44} {'seconds':>8} {'peak MB':>8}  goal")
    for chapter in chapters().values():
        limit = 60 if chapter.id.startswith("08") else 30
        for folder in ("notebooks", "solutions"):
            seconds, peak = run(ROOT / folder / chapter.id / chapter.notebook)
            ok = seconds < limit and peak < 1536
            print(f"{folder + '/' + chapter.id:<44} {seconds:>8.1f} {peak:>8.0f}  <{limit} s, <1.5 GB {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
