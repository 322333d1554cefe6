"""Smoke test of bench/bench_reference.py: it runs with tiny sizes and prints a ratio row per op.

No timing is asserted (timings on shared CI machines mean nothing); only that the script
runs, exits 0, agrees with torch, and reports every op.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_reference.py"
OPS = ["softmax", "log_softmax", "cross_entropy", "cross_entropy_grad", r"cross_entropy_grad \(bwd\)"]
NUMBER = r"\s+(\d+\.\d+)"


def test_bench_script_prints_a_ratio_row_for_each_op():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "8", "--cols", "64", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "torch = forward + backward" in out  # states what is timed for the gradient
    for op in OPS:
        # op, torch ms, ours ms, ours/torch, scipy ms or n/a, scipy/torch or n/a, max |ours - torch|, verdict
        row = re.search(rf"^{op}{NUMBER}{NUMBER}{NUMBER}\s+(\S+)\s+(\S+)\s+(\S+)\s+(PASS|over goal)$", out, re.M)
        assert row, f"no ratio row for {op!r} in:\n{out}"
        torch_ms, ours_ms, ratio = (float(v) for v in row.group(1, 2, 3))
        assert torch_ms > 0 and ours_ms > 0 and ratio > 0
        assert float(row.group(6)) < 1e-4, f"{op}: ours and torch disagree"
        has_scipy = op in ("softmax", "log_softmax")
        assert (row.group(4) != "n/a") == has_scipy
