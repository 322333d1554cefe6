"""The softmax explorer: four logits, their exponentials and the softmax probabilities."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..normalisation import softmax
from .base import PALETTE, Explorer
from .svg import Figure

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

    def compute(self, **values: Any) -> dict[str, Any]:
        logits = np.array([values[t] for t in TOKENS])
        temperature = values["temperature"]
        exps = np.exp(logits / temperature)
        return {"logits": logits, "exps": exps, "total": exps.sum(), "probs": softmax(logits, temperature=temperature)}

    def render(self, state: Mapping[str, Any]) -> Figure:
        x, logits, exps, probs = np.arange(len(TOKENS)), state["logits"], state["exps"], state["probs"]
        fig = Figure(720, 306)
        xlim = (-0.6, len(TOKENS) - 0.4)
        z_range = (min(-1.0, logits.min() - 0.5), max(1.0, logits.max() + 0.5))
        limits = [(xlim, z_range), (xlim, (0.0, exps.max() * 1.15)), (xlim, (0.0, 1.12))]
        titles = ("logits z", "e^(z/T)", "probabilities p")
        for plot, title, heights in zip(fig.row(limits, top=30, gap=50), titles, (logits, exps, probs)):
            plot.bars(x, heights, PALETTE[0], key=title.split()[0])
            plot.title(title)
            plot.xticks(x, TOKENS)
            plot.yticks()
        fig.plots[0].hline(0.0, "#808080", width=0.8)
        for i, p in enumerate(probs):
            fig.plots[2].text(i, p, f"{p:.3f}", dy=-3, size=10, key=f"p-{i}")
        return fig
