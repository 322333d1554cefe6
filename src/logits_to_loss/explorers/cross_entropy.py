"""The cross-entropy explorer: the model's distribution, the true next token, and the loss on the -log p curve."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from ..losses import cross_entropy
from ..normalisation import softmax
from .base import PALETTE, Explorer

TOKENS = ("mat", "dog", "floor", "car")
_CURVE_P = np.geomspace(1e-6, 1.0, 400)


class CrossEntropyExplorer(Explorer):
    """Logit sliders for mat/dog/floor/car and a target dropdown; probabilities and the -log p curve."""

    def __init__(self) -> None:
        super().__init__(figsize=(8.5, 3.4))

    def defaults(self) -> Mapping[str, Any]:
        return {"mat": 2.0, "dog": 1.0, "floor": 0.5, "car": -1.0, "target": "mat"}

    def make_controls(self) -> dict:
        import ipywidgets as w

        controls: dict = {t: w.FloatSlider(min=-6, max=6, step=0.1, description=t) for t in TOKENS}
        controls["target"] = w.Dropdown(options=list(TOKENS), description="target")
        return controls

    def setup(self, fig: Figure) -> None:
        self.ax_probs, self.ax_curve = fig.subplots(1, 2, width_ratios=(1, 1.3))
        self.bars = self.ax_probs.bar(TOKENS, np.zeros(len(TOKENS)), color=PALETTE[0])
        self.ax_probs.set_ylim(0, 1.1)
        self.ax_probs.set_title("probabilities p = softmax(z)")
        self.labels = [self.ax_probs.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in range(len(TOKENS))]

        ax = self.ax_curve
        ax.plot(_CURVE_P, -np.log(_CURVE_P), color="0.3", lw=1.5, label="loss = -log p")
        uniform = np.log(len(TOKENS))
        ax.axhline(uniform, color=PALETTE[2], ls="--", lw=1, label=f"uniform guess, ln {len(TOKENS)} = {uniform:.3f}")
        (self.point,) = ax.plot([], [], "o", color=PALETTE[1], ms=9, zorder=3)
        self.note = ax.text(0.97, 0.95, "", transform=ax.transAxes, ha="right", va="top", fontsize=10)
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("p(target)")
        ax.set_ylabel("loss (nats)")
        ax.set_title("the loss is the surprise -log p(target)")
        ax.legend(loc="center right", fontsize=8, frameon=False)

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

    def draw(self, state: Mapping[str, Any]) -> None:
        for i, (bar, label, p) in enumerate(zip(self.bars, self.labels, state["probs"])):
            bar.set_height(p)
            bar.set_color(PALETTE[1] if i == state["target_index"] else PALETTE[0])
            label.set_text(f"{p:.3f}")
            label.set_y(p)
        p, loss = state["target_prob"], state["loss"]
        self.point.set_data([p], [loss])
        self.ax_curve.set_ylim(0, max(5.0, loss * 1.15))
        self.note.set_text(f"target '{state['target']}'\np = {p:.3f}\nloss = {loss:.3f}")
