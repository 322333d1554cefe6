"""Tests of logits_to_loss.streaming: the online softmax against the reference softmax."""

from __future__ import annotations

import numpy as np
import pytest

from logits_to_loss import softmax
from logits_to_loss.streaming import online_softmax, running_max_sum

SHAPES = [(1,), (7,), (100,), (3, 50), (2, 3, 33)]
BLOCKS = [1, 3, 16, 32, 1000]  # 3 and 16 do not divide 50, 100 or 33; 1000 is one block


def logits_for(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 4, size=shape).astype(dtype)
    x[..., 1::5] = -np.inf  # masked classes; entry 0 stays finite
    x[-1] += 1e4  # the last row (all of a 1-D input) far from 0: a naive exp overflows
    return x


def tolerance(dtype: type) -> dict[str, float]:
    eps = float(np.finfo(dtype).eps)  # the blocked sum rounds differently from the one-shot sum
    return {"rtol": 64 * eps, "atol": 64 * eps}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", BLOCKS)
def test_online_softmax_matches_softmax(shape, block_size, dtype):
    x = logits_for(shape, dtype, seed=sum(shape) + block_size)
    out = online_softmax(x, block_size)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_allclose(out, softmax(x), **tolerance(dtype))


def test_online_softmax_of_ordinary_logits_is_a_distribution():
    x = np.random.default_rng(1).normal(0, 1, size=(4, 30)).astype(np.float32)
    p = online_softmax(x, 7)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p, softmax(x), rtol=1e-6, atol=1e-7)


def test_online_softmax_accepts_lists_and_ints():
    np.testing.assert_allclose(online_softmax([1, 2, 3], 2), softmax(np.array([1.0, 2.0, 3.0])))


@pytest.mark.parametrize("bad", [0, -1, 2.0, "4", None, True])
def test_bad_block_size_is_rejected_by_name(bad):
    with pytest.raises((TypeError, ValueError), match="block_size"):
        online_softmax(np.zeros(4), bad)


@pytest.mark.parametrize(
    ("row", "message"),
    [([-np.inf, -np.inf], "all -inf"), ([0.0, np.nan], "NaN"), ([0.0, np.inf], r"\+inf")],
)
def test_undefined_rows_raise_like_softmax(row, message):
    with pytest.raises(ValueError, match=message):
        online_softmax(np.array([[0.0, 1.0], row]), 1)
    with pytest.raises(ValueError):
        softmax(np.array([[0.0, 1.0], row]))


def test_running_max_sum_reads_each_element_once():
    """The normaliser consumes an iterator of blocks: it cannot go back, so each block is read once."""
    x = logits_for((3, 50), np.float64, seed=2)
    seen = []

    def blocks():
        for start in range(0, 50, 16):
            seen.append(start)
            yield x[:, start : start + 16]

    m, s = running_max_sum(blocks())
    assert seen == [0, 16, 32, 48]  # every block exactly once, in order
    np.testing.assert_array_equal(m, x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(s, np.exp(x - m).sum(axis=-1, keepdims=True), rtol=1e-12)


def test_running_max_sum_rejects_no_blocks():
    with pytest.raises(ValueError, match="blocks"):
        running_max_sum(iter([]))


def forgets_to_rescale(x: np.ndarray, block_size: int) -> np.ndarray:
    """WRONG on purpose: the running sum is not rescaled by exp(m - m') when the max grows."""
    m = np.full(x.shape[:-1] + (1,), -np.inf)
    s = np.zeros_like(m)
    for start in range(0, x.shape[-1], block_size):
        block = x[..., start : start + block_size]
        m = np.maximum(m, block.max(axis=-1, keepdims=True))
        s = s + np.exp(block - m).sum(axis=-1, keepdims=True)  # old terms still relative to the old max
    return np.exp(x - m) / s


def test_the_comparison_catches_a_sum_that_is_not_rescaled():
    x = np.array([[0.0, 1.0, 2.0, 5.0, 3.0, 9.0]])  # the max grows from block to block
    wrong = forgets_to_rescale(x, 2)
    assert not np.allclose(wrong, softmax(x), **tolerance(np.float64))
    np.testing.assert_allclose(online_softmax(x, 2), softmax(x), **tolerance(np.float64))
    # with one block there is nothing to rescale, which is why the tests use several block sizes
    np.testing.assert_allclose(forgets_to_rescale(x, 6), softmax(x))
