"""The temperature explorer: temperature, top-k, top-p and min-p over a small vocabulary, and 1,000 draws."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..normalisation import softmax
from ..sampling import min_p_filter, top_k_filter, top_p_filter
from .base import Explorer
from .svg import Figure

TOKENS = ("mat", "dog", "sofa", "floor", "bed", "roof", "car", "moon")  # "The cat sat on the ..."
LOGITS = np.array([2.0, 1.0, 0.8, 0.5, 0.3, -0.5, -1.0, -2.0])  # mat, dog, floor, car as in chapter 1
DRAWS = 1_000
BLUE, GREY, VERMILLION = "#0072B2", "#BBBBBB", "#D55E00"  # Okabe-Ito


class TemperatureExplorer(Explorer):
    """Sliders for T, top-k, top-p and min-p; a "sample 1000" button.

    The left panel shows softmax(z / T) with the tokens that survive truncation in blue and the
    removed ones in grey, and the min-p threshold as a dashed line; the right panel shows the renormalised distribution that is sampled,
    and the frequencies of the last 1,000 draws as vermillion marks. ``top_k = 8``, ``top_p = 1``
    and ``min_p = 0`` switch a filter off. ``update(...)`` returns the numbers; ``sample()`` draws.
    """

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.frequencies: np.ndarray | None = None  # of the last draws, cleared when a control moves
        super().__init__()

    def defaults(self) -> Mapping[str, Any]:
        return {"temperature": 1.0, "top_k": len(TOKENS), "top_p": 1.0, "min_p": 0.0}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "temperature": w.FloatLogSlider(base=10, min=-1.3, max=1, step=0.05, description="T"),
            "top_k": w.IntSlider(min=1, max=len(TOKENS), description="top-k"),
            "top_p": w.FloatSlider(min=0.05, max=1.0, step=0.05, description="top-p"),
            "min_p": w.FloatSlider(min=0.0, max=0.5, step=0.01, description="min-p"),
        }

    def compute(self, **values: Any) -> dict[str, Any]:
        temperature, top_k = float(values["temperature"]), int(values["top_k"])
        top_p, min_p = float(values["top_p"]), float(values["min_p"])
        z = LOGITS / temperature  # (V,) temperature first
        filters = {"top_k": (top_k_filter, top_k, top_k < len(TOKENS)), "top_p": (top_p_filter, top_p, top_p < 1.0),
                   "min_p": (min_p_filter, min_p, min_p > 0.0)}
        filtered, alone = z, {}
        for name, (fn, value, on) in filters.items():  # in this order, each on what the previous ones kept
            alone[f"{name}_alone"] = np.isfinite(fn(z, value)) if on else np.ones(len(TOKENS), dtype=bool)  # (V,)
            filtered = fn(filtered, value) if on else filtered
        tempered, kept = softmax(z), np.isfinite(filtered)  # (V,), (V,) bool
        return {
            "tempered": tempered,
            **alone,  # the tokens each filter would keep on its own
            "kept": kept,
            "kept_mass": float(tempered[kept].sum()),
            "min_p_threshold": min_p * float(tempered.max()),  # min-p keeps p_i >= p_min * max p
            "probs": softmax(filtered),  # (V,) renormalised: removed tokens exactly 0
            "frequencies": self.frequencies,
            "temperature": temperature,
        }

    def render(self, state: Mapping[str, Any]) -> Figure:
        x, limits = np.arange(len(TOKENS)), ((-0.6, len(TOKENS) - 0.4), (0.0, 1.05))
        fig = Figure(765, 306)
        tempered, final = fig.row([limits, limits], top=44, bottom=50, gap=50)
        tempered.bars(x, state["tempered"], [BLUE if keep else GREY for keep in state["kept"]], key="tempered")
        if state["min_p_threshold"] > 0:
            tempered.hline(state["min_p_threshold"], VERMILLION, dash="5 3", key="threshold")
        tempered.legend([("dash", VERMILLION, "min-p threshold")])
        alone = ", ".join(f"{name.replace('_', '-')} {int(state[name + '_alone'].sum())}"
                          for name in ("top_k", "top_p", "min_p"))
        tempered.title(f"softmax(z / T), T = {state['temperature']:.2f}; alone: {alone}\n"
                       f"together {int(state['kept'].sum())} of {len(TOKENS)} kept, "
                       f"{state['kept_mass']:.0%} of the mass", size=10, key="note")

        final.bars(x, state["probs"], BLUE, key="final")
        if state["frequencies"] is not None:
            final.markers(x, state["frequencies"], VERMILLION, shape="diamond", size=10, key="frequency")
        final.legend([("marker", VERMILLION, f"frequency in {DRAWS:,} draws")])
        final.title("renormalised over the kept tokens", size=10)
        for plot in (tempered, final):
            plot.xticks(x, TOKENS, size=9, rotate=-45)
            plot.yticks()
        return fig

    def update(self, **values: Any) -> dict[str, Any]:
        if values:
            self.frequencies = None  # draws from another distribution would mislead
        return super().update(**values)

    def sample(self) -> dict[str, Any]:
        """Draw 1,000 tokens from the renormalised distribution and show their frequencies."""
        draws = self.rng.choice(len(TOKENS), size=DRAWS, p=self.state["probs"])  # (DRAWS,)
        self.frequencies = np.bincount(draws, minlength=len(TOKENS)) / DRAWS
        return super().update()

    def widget(self):
        """The sliders, a "sample 1000" button under them, and the figure."""
        if self._widget is None:
            import ipywidgets as w

            box = super().widget()
            button = w.Button(description=f"sample {DRAWS}", button_style="primary", icon="random")
            button.on_click(lambda _: self.sample())
            self.button = button
            controls, figure = box.children
            box.children = (w.VBox([*controls.children, button]), figure)
        return self._widget
