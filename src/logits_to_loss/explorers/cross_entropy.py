"""The cross-entropy explorer: the model's distribution, the true next token, and the loss on the -log p curve."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..losses import cross_entropy
from ..normalisation import softmax
from .base import PALETTE, Explorer
from .svg import Figure, nice_ticks

TOKENS = ("mat", "dog", "floor", "car")
_CURVE_P = np.geomspace(1e-6, 1.0, 160)


class CrossEntropyExplorer(Explorer):
    """Logit sliders for mat/dog/floor/car and a target dropdown; probabilities and the -log p curve."""

    def defaults(self) -> Mapping[str, Any]:
        return {"mat": 2.0, "dog": 1.0, "floor": 0.5, "car": -1.0, "target": "mat"}

    def make_controls(self) -> dict:
        import ipywidgets as w

        controls: dict = {t: w.FloatSlider(min=-6, max=6, step=0.1, description=t) for t in TOKENS}
        controls["target"] = w.Dropdown(options=list(TOKENS), description="target")
        return controls

    def compute(self, **values: Any) -> dict[str, Any]:
        target = values["target"]
        if target not in TOKENS:
            raise ValueError(f"target must be one of {TOKENS}, got {target!r}")
        logits = np.array([float(values[t]) for t in TOKENS])
        index = TOKENS.index(target)
        probs = softmax(logits)
        return {
            "logits": logits,
            "probs": probs,
            "target": target,
            "target_index": index,
            "target_prob": float(probs[index]),
            "loss": float(cross_entropy(logits, index)),  # logsumexp(z) - z_y: finite even when p underflows
        }

    def render(self, state: Mapping[str, Any]) -> Figure:
        fig = Figure(765, 306)
        p, loss, index = state["target_prob"], state["loss"], state["target_index"]
        probs_plot, curve = fig.row([((-0.6, len(TOKENS) - 0.4), (0.0, 1.1)), ((0.0, 1.02), (0.0, max(5.0, loss * 1.15)))],
                                    ratios=(1, 1.3), top=30, gap=64)
        x = np.arange(len(TOKENS))
        colours = [PALETTE[1] if i == index else PALETTE[0] for i in x]  # the target is highlighted
        probs_plot.bars(x, state["probs"], colours, key="bar")
        for i, q in enumerate(state["probs"]):
            probs_plot.text(i, q, f"{q:.3f}", dy=-3, size=9, key=f"p-{i}")
        probs_plot.title("probabilities p = softmax(z)")
        probs_plot.xticks(x, TOKENS)
        probs_plot.yticks()

        uniform = np.log(len(TOKENS))
        curve.line(_CURVE_P, -np.log(_CURVE_P), "#4D4D4D")
        curve.hline(uniform, PALETTE[2], dash="5 3")
        curve.markers([p], [loss], PALETTE[1], size=12, key="point")
        curve.text(0.97, 0.95, f"target '{state['target']}'\np = {p:.3f}\nloss = {loss:.3f}", axes=True, dy=10,
                   anchor="end", size=10, key="note")
        curve.legend([("line", "#4D4D4D", "loss = -log p"),
                      ("dash", PALETTE[2], f"uniform guess, ln {len(TOKENS)} = {uniform:.3f}")], corner="upper right",
                     top=0.45)
        curve.title("the loss is the surprise -log p(target)")
        curve.xticks(nice_ticks(0.0, 1.0))
        curve.yticks()
        curve.xlabel("p(target)")
        curve.ylabel("loss (nats)", offset=34)
        return fig
