"""The stability explorer: add a constant to the logits [3, 1, 0] and watch the naive softmax break.

The logits are ``[3 + c, 1 + c, 0 + c]`` stored in the chosen dtype. The left panel shows the
textbook ``exp(z) / sum exp(z)`` (``naive_softmax``), the right one the max-shifted softmax; a
result that is not finite is marked with a red label ("NaN", "inf") instead of a bar.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..normalisation import naive_softmax, softmax
from .base import PALETTE, Explorer
from .svg import Figure, Plot

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

    def defaults(self) -> Mapping[str, Any]:
        return {"c": 997.0, "dtype": "float64"}  # [3, 1, 0] shifted to [1000, 998, 997]

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "c": w.FloatSlider(min=-1000, max=1000, step=0.5, description="c", continuous_update=False),
            "dtype": w.Dropdown(options=list(DTYPES), description="dtype"),
        }

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

    def render(self, state: Mapping[str, Any]) -> Figure:
        fig = Figure(765, 324)
        x, limits = np.arange(len(CLASSES)), ((-0.6, len(CLASSES) - 0.4), (0.0, 1.15))
        titles = ("naive: exp(z) / sum exp(z)", "stable: exp(z - max z) / sum")
        for plot, key, title in zip(fig.row([limits, limits], top=70), ("naive", "stable"), titles):
            self._panel(plot, key, state)
            plot.title(title, size=10)
            plot.xticks(x, CLASSES)
            plot.yticks()
        fig.plots[0].ylabel("probability")
        logits = ", ".join(_label(float(z)).replace(".000", "") for z in state["logits"])
        exps = ", ".join(f"{float(e):.3g}" for e in state["exps"])
        fig.text(fig.width / 2, 16, f"logits [{logits}] in {state['dtype']}   (exp overflows above "
                 f"{state['overflow_above']:.2f})\nnaive e^z = [{exps}], their sum {float(state['total']):.3g}",
                 size=10, key="header")
        return fig

    def _panel(self, plot: Plot, key: str, state: Mapping[str, Any]) -> None:
        """Bars of one softmax; a value that is not finite gets no bar and a bold red label."""
        probs = state[key].astype(np.float64)
        finite = np.isfinite(probs)
        plot.bars(range(len(CLASSES)), np.where(finite, probs, 0.0), PALETTE[0], key=f"{key}-bar")
        for i, (p, ok) in enumerate(zip(probs, finite)):
            plot.text(i, p if ok else 0.02, _label(p), dy=-3, size=10, color="black" if ok else _BAD, bold=not ok,
                      key=f"{key}-label-{i}")
        message, colour = self._verdict(key, state)
        plot.text(0.5, 0.93, message, axes=True, dy=10, size=10, color=colour, key=f"{key}-status")

    @staticmethod
    def _verdict(key: str, state: Mapping[str, Any]) -> tuple[str, str]:
        """What one panel's result is worth: sums to 1, broken (and why), wrong or inexact; and its colour."""
        probs = state[key]
        total = float(np.sum(probs.astype(np.float64)))
        if state[f"{key}_ok"]:
            return f"sums to {total:.3f}", _OK
        if key == "naive" and np.isinf(state["exps"]).any():
            return "broken: e^z overflowed to inf", _BAD
        if key == "naive" and state["total"] == 0:
            return "broken: every e^z underflowed, 0 / 0", _BAD
        if key == "naive" and np.isinf(state["total"]):
            return f"wrong: the sum overflowed, sums to {total:.3f}", _BAD
        if np.isfinite(probs).all():
            return f"inexact: off by up to {state['naive_error']:.4f}", _BAD
        return "broken: not finite", _BAD
