"""The softmax explorer: four logits, their exponentials and the softmax probabilities."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure

from ..normalisation import softmax
from .base import PALETTE, Explorer

TOKENS = ("mat", "dog", "floor", "car")  # "The cat sat on the ..." of the worked example


class SoftmaxExplorer(Explorer):
    """Sliders for the logits of mat/dog/floor/car and a temperature; bars for z, e^(z/T) and p."""

    def defaults(self) -> Mapping[str, Any]:
        return {"mat": 2.0, "dog": 1.0, "floor": 0.5, "car": -1.0, "temperature": 1.0}

    def make_controls(self) -> dict:
        import ipywidgets as w

        sliders = {t: w.FloatSlider(min=-5, max=5, step=0.1, description=t) for t in TOKENS}
        sliders["temperature"] = w.FloatLogSlider(base=10, min=-1, max=1, step=0.05, description="T")
        return sliders

    def setup(self, fig: Figure) -> None:
        self.axes = fig.subplots(1, 3)
        titles = ("logits z", "e^(z/T)", "probabilities p")
        self.bars = []
        for ax, title in zip(self.axes, titles):
            self.bars.append(ax.bar(TOKENS, np.zeros(len(TOKENS)), color=PALETTE[0]))
            ax.set_title(title)
        self.axes[0].axhline(0, color="0.5", lw=0.8)
        self.axes[2].set_ylim(0, 1)
        self.labels = [self.axes[2].text(i, 0, "", ha="center", va="bottom") for i in range(len(TOKENS))]

    def compute(self, **values: Any) -> dict[str, Any]:
        logits = np.array([values[t] for t in TOKENS])
        temperature = values["temperature"]
        exps = np.exp(logits / temperature)
        return {"logits": logits, "exps": exps, "total": exps.sum(), "probs": softmax(logits, temperature=temperature)}

    def draw(self, state: Mapping[str, Any]) -> None:
        for bars, key in zip(self.bars, ("logits", "exps", "probs")):
            for bar, h in zip(bars, state[key]):
                bar.set_height(h)
        self.axes[0].set_ylim(min(-1, state["logits"].min() - 0.5), max(1, state["logits"].max() + 0.5))
        self.axes[1].set_ylim(0, state["exps"].max() * 1.15)
        for label, p in zip(self.labels, state["probs"]):
            label.set_text(f"{p:.3f}")
            label.set_y(p)
