"""Chapter 8: the bytes explorer's numbers, the quoted H100 figures, and the grading of the torch exercise."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import numpy as np
import pytest
from course_helpers import CHAPTERS, source

from logits_to_loss.checker import CheckFailure
from logits_to_loss.explorers.gpu import ELEMENTS, REGISTER_LIMIT, BytesExplorer, kernel_times

CHAPTER = CHAPTERS["08-gpu"]


def test_explorer_counts_bytes_and_times_at_its_defaults():
    """fp32, V = 32K, 3 TB/s: a copy of 2^27 logits moves 8 bytes each in 357.9 µs; online needs 3/2 of that."""
    kernels = BytesExplorer().state["kernels"]
    copy = kernels["copy (the roofline)"]
    assert copy["bytes"] == 8 and copy["us"] == pytest.approx(ELEMENTS * 8 / 3e12 * 1e6) == pytest.approx(357.91, abs=0.01)
    assert kernels["online: running (max, sum), then write"]["us"] == pytest.approx(1.5 * copy["us"])
    assert kernels["online: running (max, sum), then write"]["pct_copy"] == pytest.approx(200 / 3)
    assert kernels["five kernels: max, x - max, exp, sum, divide"]["pct_copy"] == 25
    assert kernels["fused, whole row in registers"]["pct_copy"] == 100


def test_explorer_drops_the_fused_kernel_past_the_registers_and_halves_bf16():
    """At V = 128K the fused kernel cannot run; bf16 moves half the bytes of fp32 at any V."""
    explorer = BytesExplorer()
    state = explorer.update(log2_classes=17, dtype="bfloat16")
    assert np.isnan(state["kernels"]["fused, whole row in registers"]["us"])
    assert state["kernels"]["split row, programs wait for each other"]["bytes"] == 4
    with pytest.raises(ValueError, match="dtype"):
        kernel_times(1024, "float8", 3.0)


def test_register_limit_is_the_fused_kernels():
    """The explorer's 64K classes per row (the prose's "64K float32 logits") is the library's MAX_FUSED_V."""
    gpu = pytest.importorskip("logits_to_loss.gpu")
    assert REGISTER_LIMIT == gpu.MAX_FUSED_V == 64 * 1024


def test_quiz_and_prose_arithmetic():
    """One float32 (8192, 131072) tensor is 4 GiB; 132 multiprocessors hold 16 rows of 8 chunks."""
    assert 8192 * 131072 * 4 == 4 << 30
    assert 131072 // 16384 == 8 and 132 // 8 * 8 == 128


def test_h100_table_quotes_the_issue():
    """The figures quoted in §8.11 are those of issue 11 (measured on one H100, not recomputed)."""
    nb = nbformat.read(source(CHAPTER), as_version=4)
    cell = next(c.source for c in nb.cells if c.source.startswith("H100 = {"))
    namespace: dict = {}
    exec(cell.split("print(")[0], namespace)
    assert [row["torch.softmax"] for row in namespace["H100"].values()] == ["79%", "53%", "49%", "49%"]
    assert [row["torch.compile"] for row in namespace["H100"].values()] == ["100%", "88%", "65%", "64%"]
    assert [row["Triton online"] for row in namespace["H100"].values()] == ["99%", "66%", "64%", "64%"]
    assert [row["Triton fused"] for row in namespace["H100"].values()] == ["99%", "98%", "does not fit", "does not fit"]
    assert list(namespace["LINEAR_CE"].values()) == [
        ("51.7 ms", "12.0 GiB"), ("37.4 ms", "3.1 GiB"), ("81.7 ms", "3.1 GiB"), ("65.4 ms", "1.1 GiB"),
        ("52.6 ms", "1.06 GiB"),
    ]


def test_loading_the_chapters_does_not_import_torch():
    """The declaration imports torch only when the torch exercise's cases are drawn."""
    code = "import sys; from logits_to_loss.chapter import chapters; chapters(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture
def chunked():
    pytest.importorskip("torch")
    return CHAPTER.chunked_cross_entropy


def test_other_correct_styles_pass_the_chunked_exercise(chunked, capsys):
    """The library's version (gradient made in the forward pass) and a reentrant checkpoint pass every part."""
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    from logits_to_loss import gpu

    def reentrant(hidden, weight, targets, chunk_size):
        total = 0.0
        for start in range(0, hidden.shape[0], chunk_size):
            h, t = hidden[start:start + chunk_size], targets[start:start + chunk_size]
            total = total + checkpoint(lambda h, w, t: F.cross_entropy(h @ w.T, t, reduction="sum"), h, weight, t,
                                       use_reentrant=True)
        return total / (targets != -100).sum()

    for fn in (gpu.chunked_cross_entropy, reentrant):
        for part in chunked.parts:
            for seed in range(2):
                assert chunked.verdict(fn, part, seed) is None


def test_a_detached_or_float_loss_gets_a_readable_message(chunked):
    """loss.item() is not a tensor autograd can differentiate: the message says what to return."""
    import torch.nn.functional as F

    def as_float(hidden, weight, targets, chunk_size):
        return F.cross_entropy(hidden @ weight.T, targets).item()

    failure = chunked.verdict(as_float, "whole chunks", 0)
    assert isinstance(failure, CheckFailure) and "one-element torch tensor" in str(failure)


def test_full_logits_are_caught_even_under_a_checkpoint(chunked):
    """Building hidden @ weight.T first and checkpointing only the losses still holds all N x V logits."""
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    def full_first(hidden, weight, targets, chunk_size):
        logits = hidden @ weight.T  # (N, V)
        total = 0.0
        for start in range(0, hidden.shape[0], chunk_size):
            rows = slice(start, start + chunk_size)
            total = total + checkpoint(lambda z, t: F.cross_entropy(z, t, reduction="sum"), logits[rows],
                                       targets[rows], use_reentrant=False)
        return total / (targets != -100).sum()

    for part in chunked.parts:
        failure = chunked.verdict(full_first, part, 0)
        assert failure is not None, part
