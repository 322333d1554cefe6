"""The stability explorer: add a constant to the logits [3, 1, 0] and watch the naive softmax break.

The logits are ``[3 + c, 1 + c, 0 + c]`` stored in the chosen dtype. The left panel shows the
textbook ``exp(z) / sum exp(z)`` (``naive_softmax``), the right one the max-shifted softmax; a
result that is not finite is marked with a red label ("NaN", "inf") instead of a bar.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from ..normalisation import naive_softmax, softmax
from .base import PALETTE, Explorer

CLASSES = ("refund", "reship", "escalate")
BASE_LOGITS = np.array([3.0, 1.0, 0.0])
DTYPES = ("float16", "float32", "float64")
_OK, _BAD = PALETTE[2], PALETTE[3]


def _label(value: float) -> str:
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.3f}"


class StabilityExplorer(Explorer):
    """A slider for the constant c added to every logit and a dtype dropdown; naive vs stable softmax."""

    def __init__(self) -> None:
        super().__init__(figsize=(8.5, 3.6))

    def defaults(self) -> Mapping[str, Any]:
        return {"c": 997.0, "dtype": "float64"}  # [3, 1, 0] shifted to [1000, 998, 997]

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "c": w.FloatSlider(min=-1000, max=1000, step=0.5, description="c", continuous_update=False),
            "dtype": w.Dropdown(options=list(DTYPES), description="dtype"),
        }

    def setup(self, fig: Figure) -> None:
        self.axes = fig.subplots(1, 2, sharey=True)
        titles = ("naive: exp(z) / sum exp(z)", "stable: exp(z - max z) / sum")
        self.bars, self.labels, self.status = [], [], []
        for ax, title in zip(self.axes, titles):
            self.bars.append(ax.bar(CLASSES, np.zeros(len(CLASSES)), color=PALETTE[0]))
            self.labels.append([ax.text(i, 0, "", ha="center", va="bottom", fontsize=10) for i in range(len(CLASSES))])
            self.status.append(ax.text(0.5, 0.93, "", transform=ax.transAxes, ha="center", va="top", fontsize=10))
            ax.set_title(title, fontsize=10)
            ax.set_ylim(0, 1.15)
        self.axes[0].set_ylabel("probability")
        self.header = fig.suptitle("", fontsize=10)

    def compute(self, **values: Any) -> dict[str, Any]:
        dtype = values["dtype"]
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        c = float(values["c"])
        with np.errstate(over="ignore"):
            logits = (BASE_LOGITS + c).astype(dtype)  # what the model would hand over in this dtype
        finfo = np.finfo(dtype)
        with np.errstate(over="ignore", under="ignore"):
            exps = np.exp(logits)
            total = exps.sum()  # in the dtype, as naive_softmax sums
        naive = naive_softmax(logits)
        stable = softmax(logits) if np.isfinite(logits).all() else np.full(len(CLASSES), np.nan, dtype=dtype)
        with np.errstate(invalid="ignore"):
            error = float(np.max(np.abs(naive.astype(np.float64) - stable.astype(np.float64))))
        return {
            "c": c,
            "dtype": dtype,
            "logits": logits,
            "exps": exps,  # e^z of the naive recipe: inf above the overflow threshold, 0 far below
            "total": total,
            "shifted": logits - logits.max(),
            "naive": naive,
            "stable": stable,
            "overflow_above": float(np.log(finfo.max)),
            "naive_error": error,  # largest |naive - stable|; nan when the naive result is not finite
            "naive_ok": bool(np.isfinite(naive).all() and error <= finfo.eps),
            "stable_ok": bool(np.isfinite(stable).all()),
        }

    def draw(self, state: Mapping[str, Any]) -> None:
        for panel, key in enumerate(("naive", "stable")):
            probs = state[key]
            for bar, label, p in zip(self.bars[panel], self.labels[panel], probs):
                finite = bool(np.isfinite(p))
                bar.set_height(float(p) if finite else 0.0)
                label.set_text(_label(float(p)))
                label.set_y(float(p) if finite else 0.02)
                label.set_color("black" if finite else _BAD)
                label.set_fontweight("normal" if finite else "bold")
            total = float(np.sum(probs.astype(np.float64)))
            if state[f"{key}_ok"]:
                message, colour = f"sums to {total:.3f}", _OK
            elif key == "naive" and np.isinf(state["exps"]).any():
                message, colour = "broken: e^z overflowed to inf", _BAD
            elif key == "naive" and state["total"] == 0:
                message, colour = "broken: every e^z underflowed, 0 / 0", _BAD
            elif key == "naive" and np.isinf(state["total"]):
                message, colour = f"wrong: the sum overflowed, sums to {total:.3f}", _BAD
            elif np.isfinite(probs).all():
                message, colour = f"inexact: off by up to {state['naive_error']:.4f}", _BAD
            else:
                message, colour = "broken: not finite", _BAD
            self.status[panel].set_text(message)
            self.status[panel].set_color(colour)
        logits = ", ".join(_label(float(z)).replace(".000", "") for z in state["logits"])
        exps = ", ".join(f"{float(e):.3g}" for e in state["exps"])
        self.header.set_text(
            f"logits [{logits}] in {state['dtype']}   (exp overflows above {state['overflow_above']:.2f})\n"
            f"naive e^z = [{exps}], their sum {float(state['total']):.3g}"
        )
