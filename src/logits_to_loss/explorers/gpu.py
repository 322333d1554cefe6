"""The bytes explorer: how long softmax kernels take when memory traffic is all that counts.

A softmax does a few flops per element, so at a given memory bandwidth its time is the bytes it
moves divided by that bandwidth. Each kernel reads the (N, V) logits some number of times and
writes the probabilities some number of times; a copy reads once and writes once, the least any
softmax can do. The explorer shows the time each kernel would take on N x V = 2^27 elements and
its share of the copy rate, 2 / (reads + writes). The fused kernel keeps a whole row in registers
and so handles V up to :data:`REGISTER_LIMIT` only.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .base import Explorer
from .svg import Figure, nice_ticks

ELEMENTS = 1 << 27  # N x V, as in a sweep that keeps the tensor's size fixed
REGISTER_LIMIT = 65536  # classes a fused one-row-per-program kernel holds (gpu.MAX_FUSED_V)
ITEMSIZE = {"float32": 4, "bfloat16": 2}
# kernel -> (reads, writes) of every element of the (N, V) tensor
PASSES = {
    "copy (the roofline)": (1, 1),
    "five kernels: max, x - max, exp, sum, divide": (5, 3),
    "fused, whole row in registers": (1, 1),
    "online: running (max, sum), then write": (2, 1),
    "split row, two launches": (2, 1),
    "split row, programs wait for each other": (1, 1),
}
COLOURS = ("#999999", "#D55E00", "#0072B2", "#E69F00", "#CC79A7", "#009E73")


def kernel_times(classes: int, dtype: str, bandwidth_tb_s: float) -> dict[str, dict[str, float]]:
    """Per kernel: bytes per element, time in microseconds and % of the copy rate (NaN if it cannot run)."""
    if dtype not in ITEMSIZE:
        raise ValueError(f"dtype must be one of {sorted(ITEMSIZE)}, got {dtype!r}")
    if bandwidth_tb_s <= 0:
        raise ValueError(f"bandwidth_tb_s must be > 0, got {bandwidth_tb_s}")
    out = {}
    for name, (reads, writes) in PASSES.items():
        fits = classes <= REGISTER_LIMIT or not name.startswith("fused")
        per_element = (reads + writes) * ITEMSIZE[dtype]  # bytes moved per logit
        seconds = ELEMENTS * per_element / (bandwidth_tb_s * 1e12)
        out[name] = {
            "bytes": float(per_element),
            "us": 1e6 * seconds if fits else np.nan,
            "pct_copy": 100 * 2 / (reads + writes) if fits else np.nan,
        }
    return out


class BytesExplorer(Explorer):
    """Sliders for V, the dtype and the bandwidth; one bar per kernel with its time and % of the copy rate."""

    def defaults(self) -> Mapping[str, Any]:
        return {"log2_classes": 15, "dtype": "float32", "bandwidth": 3.0}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "log2_classes": w.IntSlider(min=10, max=18, description="log2 V"),
            "dtype": w.Dropdown(options=list(ITEMSIZE), description="dtype"),
            "bandwidth": w.FloatSlider(min=0.5, max=8.0, step=0.1, description="TB/s"),
        }

    def compute(self, **values: Any) -> dict[str, Any]:
        classes = 1 << int(values["log2_classes"])
        kernels = kernel_times(classes, values["dtype"], float(values["bandwidth"]))
        return {"classes": classes, "rows": ELEMENTS // classes, "kernels": kernels,
                "row_kib": classes * ITEMSIZE[values["dtype"]] / 1024}

    def render(self, state: Mapping[str, Any]) -> Figure:
        kernels = list(state["kernels"].values())
        times = np.array([k["us"] for k in kernels])  # NaN where the kernel cannot run
        longest = np.nanmax(times)
        rows = np.arange(len(kernels))
        fig = Figure(765, 324)
        (plot,) = fig.row([((0.0, longest * 1.45), (len(kernels) - 0.5, -0.5))], left=236, top=30, right=16)
        plot.hbars(rows, np.nan_to_num(times), COLOURS, key="kernel")
        for i, (k, t) in enumerate(zip(kernels, times)):
            fits = np.isfinite(t)
            plot.text(t + 0.01 * longest if fits else 0.0, i, f"{t:.0f} µs, {k['pct_copy']:.0f}% of copy" if fits
                      else "row does not fit in registers", dy=3.5, anchor="start", size=9, key=f"label-{i}")
        plot.yticks(rows, list(PASSES), size=8.5)
        plot.xticks(nice_ticks(0.0, longest * 1.45))
        plot.xlabel("time at that bandwidth (µs)")
        plot.title(f"V = {state['classes']:,} ({state['row_kib']:.0f} KiB a row), {state['rows']:,} rows", size=10,
                   key="title")
        return fig
