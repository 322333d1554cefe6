"""Smoke test of bench/bench_gpu.py --quick: it runs on the CPU, prints its ratio tables and writes its files.

No timing is asserted; only that every section ran, every implementation passed its check
against torch before being timed, and the table, CSV and plot are written to --out.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_gpu.py"


def test_quick_bench_prints_ratio_tables_and_writes_files(tmp_path):
    pytest.importorskip("triton")
    env = os.environ | {"TRITON_INTERPRET": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "CPU, Triton interpreter" in out
    for title in (
        "% of the copy rate",
        "speed-up over torch.softmax",
        "Cross-entropy fwd+bwd",
        "Linear + cross-entropy",
        "Precision",
    ):
        assert title in out, f"no {title!r} table in:\n{out}"
    for impl in (
        "Triton fused",
        "Triton online",
        "Triton split",
        "NumPy reference",
        "Triton in place",
        "chunked",
        "fused",
    ):
        assert impl in out
    assert "not timed" not in out, out  # every implementation agreed with torch
    assert "torch.compile: skipped" in out  # and says why it is missing
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["section"] for row in rows} == {"softmax", "cross_entropy", "linear_ce", "precision"}
    assert "| V |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "softmax_copy_rate.png").stat().st_size > 1000
