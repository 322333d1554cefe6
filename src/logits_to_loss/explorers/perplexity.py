"""The perplexity explorer: a Zipf-shaped distribution, its entropy, and the k equally likely tokens it is worth."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..information import entropy
from ..normalisation import softmax
from .base import Explorer
from .svg import Figure, nice_ticks

MAX_VOCAB = 30
BLUE, ORANGE = "#0072B2", "#E69F00"  # Okabe-Ito


def zipf_logits(sharpness: float, vocab: int) -> np.ndarray:
    """``(vocab,)`` logits ``-s log(rank)``: softmax gives ``p_r ∝ rank^-s`` (uniform at s = 0)."""
    return -sharpness * np.log(np.arange(1, vocab + 1))


def equal_choices(k: float) -> tuple[np.ndarray, np.ndarray]:
    """Heights and widths ``(MAX_VOCAB,)`` of ``k`` bars of probability ``1/k``; the last one partial when k is fractional."""
    ranks = np.arange(MAX_VOCAB)  # (MAX_VOCAB,)
    widths = np.clip(k - ranks, 0.0, 1.0) * 0.8  # full bars, then the fractional remainder, then none
    return np.where(widths > 0, 1.0 / k, 0.0), widths


class PerplexityExplorer(Explorer):
    """Sliders for the sharpness (Zipf exponent) and vocabulary size; bars for p and for e^H equal choices."""

    def defaults(self) -> Mapping[str, Any]:
        return {"sharpness": 1.0, "vocab": 10}

    def make_controls(self) -> dict:
        import ipywidgets as w

        return {
            "sharpness": w.FloatSlider(min=0.0, max=4.0, step=0.05, description="sharpness s"),
            "vocab": w.IntSlider(min=2, max=MAX_VOCAB, step=1, description="vocabulary V"),
        }

    def compute(self, **values: Any) -> dict[str, Any]:
        probs = softmax(zipf_logits(values["sharpness"], values["vocab"]))  # (V,)
        h = float(entropy(probs))
        heights, widths = equal_choices(np.exp(h))
        return {"probs": probs, "entropy": h, "bits": h / np.log(2), "perplexity": float(np.exp(h)),
                "heights": heights, "widths": widths}

    def render(self, state: Mapping[str, Any]) -> Figure:
        vocab = len(state["probs"])
        ranks, limits = np.arange(1, vocab + 1), ((0.3, vocab + 0.7), (0.0, 1.05))
        fig = Figure(720, 306)
        probs, choices = fig.row([limits, limits], top=30)
        probs.bars(ranks, state["probs"], BLUE, key="p")
        probs.title(f"p: H = {state['entropy']:.3f} nats = {state['bits']:.3f} bits", key="entropy")
        choices.bars(np.arange(1, MAX_VOCAB + 1), state["heights"], ORANGE, width=state["widths"], key="choice")
        choices.title(f"perplexity e^H = {state['perplexity']:.2f} choices of 1/{state['perplexity']:.2f}",
                      key="perplexity")
        for plot, label in zip((probs, choices), ("token rank", "equally likely tokens")):
            plot.xticks(nice_ticks(1, vocab, count=min(vocab - 1, 6)).astype(int))
            plot.yticks()
            plot.xlabel(label)
        probs.ylabel("probability")
        return fig
