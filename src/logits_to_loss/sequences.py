"""Sequences: teacher forcing, masked sequence loss, the causal mask of attention, and DPO.

One forward pass scores every position because the targets are the inputs shifted by one;
padding and prompt tokens are masked out of the mean; attention masks future keys with
``-inf`` (``e^-inf = 0``), never with 0. The DPO loss scores preference pairs with the
sequence log-probabilities of a policy and a reference model.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import as_float_array, as_logits
from .losses import cross_entropy
from .normalisation import softmax


def next_token_pairs(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets) = (tokens[..., :-1], tokens[..., 1:])``: position t predicts token t+1.

    Teacher forcing: one forward pass scores every position.
    """
    tokens = np.asarray(tokens)
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"tokens must be integer token ids, got dtype {tokens.dtype}")
    if tokens.ndim == 0 or tokens.shape[-1] < 2:
        raise ValueError(f"tokens needs at least 2 positions along its last axis, got shape {tokens.shape}")
    return tokens[..., :-1], tokens[..., 1:]


def sequence_cross_entropy(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean cross-entropy over the positions where ``mask`` is true.

    ``logits`` ``(B, T, V)``, ``targets`` ``(B, T)``, ``mask`` ``(B, T)`` bool (True = counts);
    masked positions (padding, or the prompt in SFT) are left out of both sum and count.
    """
    targets = np.asarray(targets)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True where the loss counts), got dtype {mask.dtype}")
        if mask.shape != targets.shape:
            raise ValueError(f"mask has shape {mask.shape} but targets {targets.shape}; they must match")
        targets = np.where(mask, targets, -100)
    return cross_entropy(logits, targets, ignore_index=-100, reduction="mean")


def causal_mask(T: int) -> np.ndarray:
    """``(T, T)`` boolean lower-triangular mask: query t may attend to keys 0..t."""
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"T must be an int >= 1 (the sequence length), got {T!r}")
    return np.tril(np.ones((T, T), dtype=bool))


def attention_weights(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax over keys (last axis) of ``(..., Tq, Tk)`` scores, masked keys set to ``-inf``.

    ``mask`` is boolean, True = may attend, broadcastable to ``scores``. Setting a masked
    score to 0 would still give it weight e^0; ``-inf`` gives exactly 0. Scale the scores
    by ``1/sqrt(d_k)`` before calling.
    """
    scores = as_logits(scores, "scores")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(
                f"mask must be boolean (True = may attend), got dtype {mask.dtype}; "
                "an additive 0/1 mask does not block attention"
            )
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError:
            raise ValueError(f"mask of shape {mask.shape} does not broadcast to scores {scores.shape}") from None
        if not mask.any(axis=-1).all():
            raise ValueError("mask leaves a query row with no key to attend to; every row needs at least one True")
        scores = np.where(mask, scores, -np.inf).astype(scores.dtype)
    return softmax(scores, axis=-1)


def masked_attention_weights(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`attention_weights` with a mask that must be given: softmax over keys, masked keys at 0.

    ``scores`` ``(..., Tq, Tk)``, ``mask`` boolean (True = may attend) broadcastable to it, e.g.
    ``causal_mask(T)``. A query row with every key masked raises ``ValueError`` (its softmax
    would be 0/0).
    """
    if mask is None:
        raise TypeError("mask is required (True = may attend), e.g. causal_mask(T); for no mask use attention_weights")
    return attention_weights(scores, mask)


def _log_probs(x: object, name: str) -> np.ndarray:
    arr = as_float_array(x, name).astype(np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if (arr > 0).any():
        raise ValueError(
            f"{name} must be log-probabilities (<= 0), the summed log_softmax of the response tokens; "
            "got a positive value, so probabilities or logits were passed"
        )
    return arr


def _check_beta(beta: float) -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise TypeError(f"beta must be a number, got {beta!r}")
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be finite and > 0, got {beta!r}; 0.1 is a common choice")
    return float(beta)


def dpo_loss(
    policy_chosen_logps: np.ndarray,
    policy_rejected_logps: np.ndarray,
    ref_chosen_logps: np.ndarray,
    ref_rejected_logps: np.ndarray,
    beta: float = 0.1,
) -> float:
    """Direct Preference Optimisation loss (Rafailov et al. 2023), the mean over preference pairs.

    Per pair, ``-log sigmoid(beta * ((pc - rc) - (pr - rr)))``: how much more the policy than the
    reference raised the chosen response's log-probability over the rejected one's. Each input
    is ``(N,)`` sequence log-probabilities (``log pi(y | x)``, summed over the response tokens).
    ``-log sigmoid(x) = log(1 + e^-x) = logaddexp(0, -x)`` stays finite for any margin.
    """
    pc = _log_probs(policy_chosen_logps, "policy_chosen_logps")
    pr = _log_probs(policy_rejected_logps, "policy_rejected_logps")
    rc = _log_probs(ref_chosen_logps, "ref_chosen_logps")
    rr = _log_probs(ref_rejected_logps, "ref_rejected_logps")
    if not pc.shape == pr.shape == rc.shape == rr.shape:
        raise ValueError(
            "the four log-probability arrays must have one shape (one entry per pair), got "
            f"{pc.shape}, {pr.shape}, {rc.shape}, {rr.shape}"
        )
    if pc.size == 0:
        raise ValueError("dpo_loss needs at least one preference pair, got empty arrays")
    margin = (pc - rc) - (pr - rr)  # (N,) the implicit reward difference, in units of 1/beta
    return float(np.logaddexp(0.0, -_check_beta(beta) * margin).mean())
