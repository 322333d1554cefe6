"""Sequence explorers: causal attention weights under a -inf or a 0 mask, and per-position losses under masks."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from ..corpus import course_prose
from ..ngram import UNK, CharNGram
from ..normalisation import softmax
from ..sequences import causal_mask
from .base import Explorer
from .svg import Figure, nice_ticks

BLUE, ORANGE, VERMILLION, PURPLE = "#0072B2", "#E69F00", "#D55E00", "#CC79A7"  # Okabe-Ito
MAX_T = 10
VIRIDIS = [to_hex(c) for c in colormaps["viridis"](np.linspace(0.0, 1.0, 256))]  # weight w -> VIRIDIS[int(255 w)]
COLOURBAR_STEPS = 32
D_K = 16


class CausalAttentionExplorer(Explorer):
    """Attention weights softmax(QK^T / sqrt(d_k)) of random queries and keys, future keys masked with -inf or 0."""

    def defaults(self) -> Mapping[str, Any]:
        return {"mask_value": "-inf", "length": 6, "seed": 0, "scaled": True}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "mask_value": w.ToggleButtons(options=[("−∞", "-inf"), ("0", "0")], description="mask with",
                                          style={"button_width": "70px"}),
            "length": w.IntSlider(min=2, max=MAX_T, description="T"),
            "seed": w.IntSlider(min=0, max=20, description="seed (Q, K)"),
            "scaled": w.Checkbox(description="divide by √d_k"),
        }

    def compute(self, **values: Any) -> dict[str, Any]:
        T = values["length"]
        Q, K = np.random.default_rng(values["seed"]).normal(size=(2, T, D_K))  # (T, d_k) each
        scores = Q @ K.T / (np.sqrt(D_K) if values["scaled"] else 1.0)  # (T, T): query rows, key columns
        allowed = causal_mask(T)
        weights = softmax(np.where(allowed, scores, float(values["mask_value"])), axis=-1)  # per query row
        leak = np.where(allowed, 0.0, weights).sum(axis=-1)  # (T,) weight that reached the future
        return {"scores": scores, "weights": weights, "leak": leak}

    def render(self, state: Mapping[str, Any]) -> Figure:
        weights, leak = state["weights"], state["leak"]
        T = len(leak)
        square = (-0.5, T - 0.5)
        fig = Figure(720, 306)
        heat, bar, bars = fig.row([(square, square[::-1]), ((0.0, 1.0), (0.0, 1.0)), (square, (0.0, 1.0))],
                                  ratios=(1.2, 0.08, 1.0), top=30, gap=42)
        heat.cells([[VIRIDIS[int(w * 255)] for w in row] for row in weights], key="weight")
        for i, row in enumerate(weights):
            for j, w in enumerate(row):
                heat.text(j, i, f"{w:.2f}", dy=2.5, size=7, color="white" if w < 0.5 else "black")
        heat.xticks(range(T))
        heat.yticks(range(T))
        heat.xlabel("key")
        heat.ylabel("query", offset=30)
        heat.title(f"attention weights (mask value {self.values['mask_value']})", size=10)
        levels = (np.arange(COLOURBAR_STEPS) + 0.5) / COLOURBAR_STEPS
        bar.hbars(levels, np.ones(COLOURBAR_STEPS), [VIRIDIS[int(v * 255)] for v in levels],
                  height=1 / COLOURBAR_STEPS)
        bar.yticks()
        bars.bars(range(T), leak, VERMILLION, key="leak")
        bars.xticks(range(T))
        bars.yticks()
        bars.xlabel("query")
        bars.title(f"weight on future keys: mean {leak.mean():.3f}", size=10, key="mean")
        return fig


PROMPT = "question: what does softmax return? answer: "
RESPONSE = "a distribution over the next token."
MAX_PADDING = 20
ROLE_COLOURS = {"prompt": ORANGE, "response": BLUE, "padding": PURPLE}


class PositionLossExplorer(Explorer):
    """Per-position losses of a character bigram on a prompt, its response and padding; toggles mask each out."""

    def __init__(self, model: CharNGram | None = None) -> None:
        self.model = model or CharNGram.fit(course_prose(), order=2)
        super().__init__()

    def defaults(self) -> Mapping[str, Any]:
        return {"mask_prompt": False, "mask_padding": False, "padding": 8}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "mask_prompt": w.Checkbox(description="mask the prompt"),
            "mask_padding": w.Checkbox(description="mask the padding"),
            "padding": w.IntSlider(min=0, max=MAX_PADDING, description="padding tokens"),
        }

    def compute(self, **values: Any) -> dict[str, Any]:
        text = PROMPT + RESPONSE + UNK * values["padding"]  # padding reads as <unk>: a token the model never saw
        losses = self.model.losses(text)  # (T,) teacher forcing: every position in one lookup
        roles = np.repeat(["prompt", "response", "padding"], [len(PROMPT), len(RESPONSE), values["padding"]])
        counted = ~((values["mask_prompt"] & (roles == "prompt")) | (values["mask_padding"] & (roles == "padding")))
        return {"losses": losses, "roles": roles, "counted": counted, "count": int(counted.sum()),
                "mean": float(losses[counted].mean())}

    def render(self, state: Mapping[str, Any]) -> Figure:
        losses, counted = state["losses"], state["counted"]
        fig = Figure(720, 270)
        (plot,) = fig.row([((-1.0, len(losses)), (0.0, max(losses.max(), 1.0) * 1.1))], top=30, right=20)
        plot.bars(range(len(losses)), losses, [ROLE_COLOURS[r] for r in state["roles"]], width=0.9,
                  opacity=np.where(counted, 1.0, 0.2), key="loss")
        plot.hline(state["mean"], "black", width=1.2, dash="5 3", key="mean")
        plot.legend([("dash", "black", "mean of the counted"), *(("bar", c, r) for r, c in ROLE_COLOURS.items())],
                    corner="upper left")
        plot.title(f"mean over {state['count']} counted positions: {state['mean']:.3f} nats", key="title")
        plot.xticks(nice_ticks(0, len(losses) - 1).astype(int))
        plot.yticks()
        plot.xlabel("position (prompt, response, padding)")
        plot.ylabel("loss (nats)")
        return fig
