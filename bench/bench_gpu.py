"""Benchmark the softmax and cross-entropy kernels of logits_to_loss.gpu against PyTorch, side by side.

Usage::

    python bench/bench_gpu.py [--quick] [--out DIR] [--repeat N]

Sections, each implementation checked against torch before it is timed, all in one run:

* softmax fp32 over a sweep of V (1K to 256K with about 2^27 elements on a GPU, small sizes on
  the CPU): NumPy reference (CPU only), torch eager, torch.compile, Triton fused (when a row fits
  in registers), Triton online, Triton split; speed as GB/s of one read + one write and as % of
  the device-to-device copy rate measured in the same run;
* cross-entropy forward + backward on given logits: eager on float logits, eager bf16, Triton
  with the gradient in place; time and peak memory;
* linear layer + cross-entropy forward + backward (N=8192, D=4096, V=128K bf16 on a GPU): eager,
  torch.compile, chunked, fused; time and peak memory beyond the gradients of hidden and weight;
* precision: the loss from bf16/fp16 logits against float64, as relative error vs V.

Without a GPU the Triton kernels run under TRITON_INTERPRET=1 and peak memory reads n/a. Tables
are printed and written to DIR (default: a new temporary folder) as results.md and results.csv,
with softmax_copy_rate.png. ``--quick`` is a smoke run (under a minute on a CPU; torch.compile is
skipped there because compiling takes longer than the run).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torch.nn.functional as F

try:
    import logits_to_loss as L
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import logits_to_loss as L
from logits_to_loss import gpu  # sets TRITON_INTERPRET=1 without a GPU, before triton is imported

try:
    from tqdm import tqdm
except ImportError:  # tqdm is optional: a printed counter instead
    tqdm = None

ON_GPU = gpu.DEVICE == "cuda" and not gpu.INTERPRETER
GIB = 1 << 30


def progress(items: list, desc: str) -> Iterable:
    """``items`` with a progress bar on stderr (tqdm if installed, else one line per item)."""
    if tqdm is not None:
        return tqdm(items, desc=desc, file=sys.stderr, leave=False)

    def counted():
        for i, item in enumerate(items, 1):
            print(f"  {desc}: {i}/{len(items)}", file=sys.stderr, flush=True)
            yield item

    return counted()


class Report:
    """Collects result rows (for the CSV) and printed tables (for the markdown file)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.markdown: list[str] = []

    def table(self, title: str, header: list[str], lines: list[list[str]]) -> None:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
        print(f"\n{title}")
        for line in [header, ["-" * w for w in widths], *lines]:
            print("  ".join(str(c).rjust(w) for c, w in zip(line, widths)))
        self.markdown += [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        self.markdown += ["| " + " | ".join(str(c) for c in line) + " |" for line in lines] + [""]

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.md").write_text("\n".join(self.markdown))
        keys = sorted({k for row in self.rows for k in row})
        with open(out / "results.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def gib(nbytes: int | None) -> str:
    return "n/a" if nbytes is None else f"{nbytes / GIB:.3f}"


def try_compile(fn: Callable, reason: dict) -> Callable | None:
    """``torch.compile(fn)``, or None with ``reason["why"]`` set when compiling is skipped or fails."""
    if reason.get("why"):
        return None
    try:
        return torch.compile(fn)
    except Exception as exc:  # noqa: BLE001 - any failure means "not on this machine"
        reason["why"] = f"torch.compile failed here: {type(exc).__name__}: {str(exc)[:120]}"
        return None


def checked(name: str, check: Callable[[], None], notes: list[str], compile_reason: dict) -> bool:
    """Run ``check`` (which calls ``fn`` and compares with torch); on failure note why and skip the timing."""
    try:
        check()
        return True
    except Exception as exc:  # noqa: BLE001 - a broken implementation is reported, not fatal
        if name.startswith("torch.compile"):
            compile_reason["why"] = f"torch.compile failed here: {type(exc).__name__}: {str(exc)[:120]}"
        notes.append(f"{name}: not timed ({type(exc).__name__}: {str(exc)[:160]})")
        return False


# ---------------------------------------------------------------- softmax sweep


def softmax_impls(v: int, compiled: Callable | None) -> dict[str, Callable]:
    chunk = gpu.SPLIT_CHUNK if ON_GPU else max(16, 1 << (v.bit_length() - 3))  # on the CPU: ~4 chunks a row
    impls = {"torch": lambda x: torch.softmax(x, -1)}
    if compiled is not None:
        impls["torch.compile"] = compiled
    if gpu.triton is not None:
        if v <= gpu.MAX_FUSED_V:
            impls["Triton fused"] = gpu.triton_softmax
        impls["Triton online"] = lambda x: gpu.triton_online_softmax(
            x, block_size=min(4096, max(16, 1 << (v.bit_length() - 2)))
        )
        impls["Triton split"] = lambda x: gpu.triton_split_softmax(x, chunk_size=chunk)
    if not ON_GPU:
        impls["NumPy reference"] = lambda x: torch.from_numpy(L.softmax(x.numpy()))
    return impls


def bench_softmax(args: argparse.Namespace, report: Report, copy_rate: float, compile_reason: dict) -> dict:
    """Softmax fp32 over V; returns {impl: [(V, % of copy rate)]} for the plot."""
    sizes, elements = args.softmax_sizes, args.softmax_elements
    compiled = try_compile(lambda x: torch.softmax(x, -1), compile_reason)
    names = list(dict.fromkeys(name for v in sizes for name in softmax_impls(v, compiled)))
    curves: dict[str, list] = {n: [] for n in names}
    pct_lines, speed_lines, notes = [], [], []
    for v in progress(sizes, "softmax"):
        x = torch.randn(max(1, elements // v), v, device=gpu.DEVICE) * 4  # (N, V)
        reference = torch.softmax(x, -1)
        label = f"{v // 1024}K" if v >= 1024 else str(v)
        impls, times = softmax_impls(v, compiled), {}
        for name in names:
            fn = impls.get(name)
            check = (
                (lambda fn=fn, x=x, ref=reference: torch.testing.assert_close(fn(x).to(ref.device), ref))
                if fn
                else None
            )
            if fn is not None and checked(name, check, notes, compile_reason):
                times[name] = gpu.time_ms(lambda fn=fn, x=x: fn(x), args.repeat)
        pct = {name: 100 * (2 * x.nbytes / (ms / 1000)) / copy_rate for name, ms in times.items()}  # 1 read + 1 write
        for name, ms in times.items():
            curves[name].append((v, pct[name]))
            report.rows.append({"section": "softmax", "V": v, "impl": name, "ms": ms, "pct_copy": pct[name]})
        pct_lines.append([label] + [f"{pct[n]:.3g}%" if n in pct else "-" for n in names])
        speed_lines.append([label] + [f"{times['torch'] / times[n]:.3g}" if n in times else "-" for n in names])
    report.table("Softmax fp32: % of the copy rate (ratio of GB/s, one read + one write)", ["V", *names], pct_lines)
    report.table("Softmax fp32: speed-up over torch.softmax (ratio of times, side by side)", ["V", *names], speed_lines)
    for note in notes:
        print(f"  note: {note}")
    return curves


def plot(curves: dict, copy_rate: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in curves.items():
        if points:
            ax.plot(*zip(*points), marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1)
    ax.set(
        xlabel="V (classes per row)", ylabel="% of copy rate", title=f"Softmax fp32, copy = {copy_rate / 1e9:.0f} GB/s"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "softmax_copy_rate.png", dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- cross-entropy on given logits


def bench_cross_entropy(args: argparse.Namespace, report: Report) -> None:
    n, v = args.ce_shape
    logits = (torch.randn(n, v, device=gpu.DEVICE) * 4).to(torch.bfloat16)  # (N, V)
    targets = torch.randint(0, v, (n,), device=gpu.DEVICE)
    leaf = logits.clone().requires_grad_(True)
    expected = F.cross_entropy(leaf.float(), targets)
    expected.backward()

    def eager(upcast: bool) -> Callable[[], None]:
        def run() -> None:
            leaf.grad = None
            F.cross_entropy(leaf.float() if upcast else leaf, targets).backward()

        return run

    buffer = logits.clone()  # the kernel overwrites it with the gradient; timing reruns it on that
    fresh = logits.clone()
    loss = gpu.triton_cross_entropy(fresh, targets) if gpu.triton is not None else None
    impls = {"eager float": eager(True), "eager bf16": eager(False)}
    if loss is not None:
        torch.testing.assert_close(loss, expected.detach(), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(fresh.float(), leaf.grad.float(), rtol=2e-2, atol=1e-3 / n)
        impls["Triton in place"] = lambda: gpu.triton_cross_entropy(buffer, targets)
    floor_ms = 2 * logits.nbytes / args.copy_rate * 1000  # one read of the logits, one write of the gradient
    lines = []
    for name, fn in progress(list(impls.items()), "cross-entropy"):
        ms = gpu.time_ms(fn, args.repeat)
        peak = gpu.peak_memory(fn)
        report.rows.append({"section": "cross_entropy", "N": n, "V": v, "impl": name, "ms": ms, "peak_bytes": peak})
        lines.append([name, f"{ms:.3f}", f"{floor_ms / ms:.3g}", gib(peak)])
    title = f"Cross-entropy fwd+bwd on given bf16 logits ({n} x {v}): time, ratio floor/time, peak extra memory"
    report.table(title, ["impl", "ms", "floor/ms", "peak GiB"], lines)


# ---------------------------------------------------------------- linear layer + cross-entropy


def bench_linear(args: argparse.Namespace, report: Report, compile_reason: dict) -> None:
    n, d, v = args.linear_shape
    dtype = torch.bfloat16
    hidden = torch.randn(n, d, device=gpu.DEVICE, dtype=dtype).requires_grad_(True)
    weight = (torch.randn(v, d, device=gpu.DEVICE) / d**0.5).to(dtype).requires_grad_(True)
    targets = torch.randint(0, v, (n,), device=gpu.DEVICE)
    chunk = gpu.default_chunk_size(v, 2) if ON_GPU else max(1, n // 4)
    impls = {"eager": gpu.torch_linear_cross_entropy}
    compiled = try_compile(gpu.torch_linear_cross_entropy, compile_reason)
    if compiled is not None:
        impls["torch.compile"] = compiled
    impls["chunked"] = lambda h, w, t: gpu.chunked_cross_entropy(h, w, t, chunk)
    if gpu.triton is not None:
        impls["fused"] = lambda h, w, t: gpu.fused_linear_cross_entropy(h, w, t, chunk)

    def run(fn: Callable) -> tuple[torch.Tensor, ...]:
        hidden.grad = weight.grad = None
        loss = fn(hidden, weight, targets)
        loss.backward()
        return loss.detach(), hidden.grad, weight.grad

    expected = [t.clone() for t in run(gpu.torch_linear_cross_entropy)]
    grads_bytes = (hidden.numel() + weight.numel()) * 2
    lines, notes, eager_ms = [], [], None
    for name, fn in progress(list(impls.items()), "linear + CE"):

        def check(fn=fn) -> None:
            for ours, ref in zip(run(fn), expected):
                torch.testing.assert_close(ours.float(), ref.float(), rtol=5e-2, atol=5e-2 * ref.abs().max().item())

        if not checked(name, check, notes, compile_reason):
            continue
        ms = gpu.time_ms(lambda fn=fn: run(fn), args.repeat)
        eager_ms = eager_ms or ms
        peak = gpu.peak_memory(lambda fn=fn: run(fn))
        beyond = None if peak is None else peak - grads_bytes
        report.rows.append({"section": "linear_ce", "N": n, "D": d, "V": v, "impl": name, "ms": ms, "peak_bytes": peak})
        lines.append([name, f"{ms:.2f}", f"{ms / eager_ms:.2f}", gib(peak), gib(beyond)])
    title = f"Linear + cross-entropy fwd+bwd, bf16, N={n} D={d} V={v}: time, ratio to eager, peak memory"
    report.table(title, ["impl", "ms", "x eager", "peak GiB", "beyond grads GiB"], lines)
    for note in notes:
        print(f"  note: {note}")


# ---------------------------------------------------------------- precision


def bench_precision(args: argparse.Namespace, report: Report) -> None:
    lines = []
    for v in progress(args.precision_sizes, "precision"):
        gen = torch.Generator().manual_seed(v)
        x = torch.randn(64, v, generator=gen, dtype=torch.float64) * 4
        t = torch.randint(0, v, (64,), generator=gen)
        exact = F.cross_entropy(x, t).item()
        line = [str(v)]
        for dtype in (torch.bfloat16, torch.float16):
            low = x.to(dtype)
            native = abs(F.cross_entropy(low, t).double().item() - exact) / exact
            upcast = abs(F.cross_entropy(low.float(), t).item() - exact) / exact
            report.rows.append(
                {"section": "precision", "V": v, "impl": str(dtype), "rel_err": native, "rel_err_upcast": upcast}
            )
            line += [f"{native:.1e}", f"{upcast:.1e}"]
        lines.append(line)
    header = ["V", "bf16", "bf16 -> fp32", "fp16", "fp16 -> fp32"]
    report.table(
        "Precision: relative error of the mean loss vs float64 (low-precision logits, loss in that dtype or upcast)",
        header,
        lines,
    )


# ---------------------------------------------------------------- main


def sizes(args: argparse.Namespace) -> None:
    """Problem sizes for this device and mode, stored on ``args``."""
    if ON_GPU:
        args.softmax_sizes = [1 << k for k in range(10, 19)]  # 1K .. 256K
        args.softmax_elements, args.ce_shape, args.linear_shape = 1 << 27, (8192, 131072), (8192, 4096, 131072)
        args.precision_sizes = [1 << k for k in range(10, 19, 2)]
    elif args.quick:
        args.softmax_sizes, args.softmax_elements = [256, 1024], 1 << 12
        args.ce_shape, args.linear_shape, args.precision_sizes = (16, 512), (32, 16, 256), [1024, 16384]
    else:
        args.softmax_sizes, args.softmax_elements = [256, 1024, 4096], 1 << 14
        args.ce_shape, args.linear_shape, args.precision_sizes = (64, 2048), (128, 64, 2048), [1024, 16384, 131072]
    if args.quick:
        args.softmax_sizes = (
            args.softmax_sizes[:: max(1, len(args.softmax_sizes) // 3)] if ON_GPU else args.softmax_sizes
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer, smaller sizes")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for results.md/.csv and the plot (default: a temp dir)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per measurement (median)")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 10 if ON_GPU else 3)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    sizes(args)
    compile_reason = (
        {"why": "skipped in --quick on the CPU (compiling takes ~20 s)"} if args.quick and not ON_GPU else {}
    )

    print(f"backend: {gpu.describe_backend()}")
    if not ON_GPU:
        torch.set_num_threads(1)  # tiny tensors: waking a thread pool costs more than the work
        print(
            "CPU sizes, torch single-threaded; the Triton kernels run in the interpreter (times show that they run, not speed)"
        )
    copy_bytes = min(args.softmax_elements * 4, 1 << 30)
    args.copy_rate = gpu.copy_bandwidth(copy_bytes, args.repeat)
    print(f"device-to-device copy of {copy_bytes / 2**10:.0f} KiB: {args.copy_rate / 1e9:.1f} GB/s (read + write)")
    report = Report()
    curves = bench_softmax(args, report, args.copy_rate, compile_reason)
    bench_cross_entropy(args, report)
    bench_linear(args, report, compile_reason)
    bench_precision(args, report)
    if compile_reason.get("why"):
        print(f"\ntorch.compile: {compile_reason['why']}")
    report.write(out)
    plot(curves, args.copy_rate, out)
    print(f"\nwrote {out / 'results.md'}, {out / 'results.csv'}, {out / 'softmax_copy_rate.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
