"""Perplexity and bits per character: summarising a loss in nats as a number people can read.

Chapter 6 (``06-perplexity``): perplexity is ``exp(mean loss)``, the "effective number of
equally likely choices"; bits per character does not depend on the tokenizer.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validate import as_float_array


def perplexity(losses: np.ndarray | float) -> float:
    """``exp(mean(losses))`` for per-token losses in nats (a scalar mean loss is accepted).

    The exponential of the mean, not the mean of the exponentials. Uniform over V
    classes gives V; a perfect model gives 1. Chapter 6 (``06-perplexity``).
    """
    arr = as_float_array(losses, "losses").astype(np.float64)
    if arr.size == 0:
        raise ValueError("losses is empty; perplexity needs at least one per-token loss")
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError("losses must be non-negative per-token losses in nats (no NaN)")
    return float(np.exp(arr.mean()))


def bits_per_character(total_loss_nats: float, num_chars: int) -> float:
    """``total nats / (num_chars * ln 2)``: comparable across tokenizers. Chapter 6 (``06-perplexity``)."""
    if isinstance(num_chars, bool) or not isinstance(num_chars, numbers.Integral) or num_chars <= 0:
        raise ValueError(f"num_chars must be a positive int (characters in the text), got {num_chars!r}")
    total = float(total_loss_nats)
    if not math.isfinite(total) or total < 0:
        raise ValueError(f"total_loss_nats must be a finite, non-negative sum of losses in nats, got {total_loss_nats!r}")
    return total / (num_chars * math.log(2))
