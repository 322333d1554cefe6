"""Sequence explorers: causal attention weights under a -inf or a 0 mask, and per-position losses under masks."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..corpus import course_prose
from ..ngram import UNK, CharNGram
from ..normalisation import softmax
from ..sequences import causal_mask
from .base import Explorer

BLUE, ORANGE, VERMILLION, PURPLE = "#0072B2", "#E69F00", "#D55E00", "#CC79A7"  # Okabe-Ito
MAX_T = 10
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

    def setup(self, fig: Figure) -> None:
        self.heat_ax, self.leak_ax = fig.subplots(1, 2, width_ratios=(1.2, 1))
        self.image = self.heat_ax.imshow(np.zeros((MAX_T, MAX_T)), vmin=0, vmax=1, cmap="viridis")
        fig.colorbar(self.image, ax=self.heat_ax, shrink=0.8)
        self.heat_ax.set_xlabel("key")
        self.heat_ax.set_ylabel("query")
        self.cells = [[self.heat_ax.text(j, i, "", ha="center", va="center", fontsize=7) for j in range(MAX_T)]
                      for i in range(MAX_T)]
        self.bars = self.leak_ax.bar(range(MAX_T), np.zeros(MAX_T), color=VERMILLION)
        self.leak_ax.set_ylim(0, 1)
        self.leak_ax.set_xlabel("query")
        self.leak_ax.set_title("weight on future keys")

    def compute(self, **values: Any) -> dict[str, Any]:
        T = values["length"]
        Q, K = np.random.default_rng(values["seed"]).normal(size=(2, T, D_K))  # (T, d_k) each
        scores = Q @ K.T / (np.sqrt(D_K) if values["scaled"] else 1.0)  # (T, T): query rows, key columns
        allowed = causal_mask(T)
        weights = softmax(np.where(allowed, scores, float(values["mask_value"])), axis=-1)  # per query row
        leak = np.where(allowed, 0.0, weights).sum(axis=-1)  # (T,) weight that reached the future
        return {"scores": scores, "weights": weights, "leak": leak}

    def draw(self, state: Mapping[str, Any]) -> None:
        weights, T = state["weights"], len(state["leak"])
        self.image.set_data(weights)
        self.image.set_extent((-0.5, T - 0.5, T - 0.5, -0.5))
        self.heat_ax.set_xlim(-0.5, T - 0.5)
        self.heat_ax.set_ylim(T - 0.5, -0.5)
        self.heat_ax.set_xticks(range(T))
        self.heat_ax.set_yticks(range(T))
        for i, row in enumerate(self.cells):
            for j, label in enumerate(row):
                label.set_text(f"{weights[i, j]:.2f}" if i < T and j < T else "")
                label.set_color("white" if i < T and j < T and weights[i, j] < 0.5 else "black")
        for i, bar in enumerate(self.bars):
            bar.set_height(state["leak"][i] if i < T else 0.0)
        self.leak_ax.set_xlim(-0.5, T - 0.5)
        self.leak_ax.set_xticks(range(T))
        self.heat_ax.set_title(f"attention weights (mask value {self.values['mask_value']})")
        self.leak_ax.set_title(f"weight on future keys: mean {state['leak'].mean():.3f}")


PROMPT = "question: what does softmax return? answer: "
RESPONSE = "a distribution over the next token."
MAX_PADDING = 20
ROLE_COLOURS = {"prompt": ORANGE, "response": BLUE, "padding": PURPLE}


class PositionLossExplorer(Explorer):
    """Per-position losses of a character bigram on a prompt, its response and padding; toggles mask each out."""

    def __init__(self, model: CharNGram | None = None) -> None:
        self.model = model or CharNGram.fit(course_prose(), order=2)
        super().__init__(figsize=(8.0, 3.0))

    def defaults(self) -> Mapping[str, Any]:
        return {"mask_prompt": False, "mask_padding": False, "padding": 8}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "mask_prompt": w.Checkbox(description="mask the prompt"),
            "mask_padding": w.Checkbox(description="mask the padding"),
            "padding": w.IntSlider(min=0, max=MAX_PADDING, description="padding tokens"),
        }

    def setup(self, fig: Figure) -> None:
        self.ax = fig.subplots()
        n = len(PROMPT) + len(RESPONSE) + MAX_PADDING
        self.bars = self.ax.bar(range(n), np.zeros(n), width=0.9)
        self.mean_line = self.ax.axhline(0.0, color="black", lw=1.2, ls="--", label="mean of the counted")
        self.ax.set_xlabel("position (prompt, response, padding)")
        self.ax.set_ylabel("loss (nats)")
        roles = [Patch(color=c, label=r) for r, c in ROLE_COLOURS.items()]
        self.ax.legend(handles=[self.mean_line, *roles], fontsize=7, loc="upper left")

    def compute(self, **values: Any) -> dict[str, Any]:
        text = PROMPT + RESPONSE + UNK * values["padding"]  # padding reads as <unk>: a token the model never saw
        losses = self.model.losses(text)  # (T,) teacher forcing: every position in one lookup
        roles = np.repeat(["prompt", "response", "padding"], [len(PROMPT), len(RESPONSE), values["padding"]])
        counted = ~((values["mask_prompt"] & (roles == "prompt")) | (values["mask_padding"] & (roles == "padding")))
        return {"losses": losses, "roles": roles, "counted": counted, "count": int(counted.sum()),
                "mean": float(losses[counted].mean())}

    def draw(self, state: Mapping[str, Any]) -> None:
        for i, bar in enumerate(self.bars):
            inside = i < len(state["losses"])
            bar.set_height(state["losses"][i] if inside else 0.0)
            if inside:
                bar.set_color(ROLE_COLOURS[state["roles"][i]])
                bar.set_alpha(1.0 if state["counted"][i] else 0.2)
        self.mean_line.set_ydata([state["mean"], state["mean"]])
        self.ax.set_xlim(-1, len(state["losses"]))
        self.ax.set_ylim(0, max(state["losses"].max(), 1.0) * 1.1)
        self.ax.set_title(f"mean over {state['count']} counted positions: {state['mean']:.3f} nats")
