"""cross_entropy, nll_loss and cross_entropy_grad.

Differential tests against ``torch.nn.functional`` over every combination of weight,
ignore_index, reduction, label_smoothing and target kind on 1-D, 2-D and 3-D logits;
gradients against torch autograd and central finite differences; properties; float16;
and the worked figures of chapters 3 and 4.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from logits_to_loss import cross_entropy, cross_entropy_grad, log_softmax, nll_loss, softmax

V = 5  # enough classes for the custom ignore_index 3 to be a real class
CUSTOM_IGNORE = 3
SHAPES = {1: (V,), 2: (6, V), 3: (2, 4, V)}  # the 3-D case is (B, T, V)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

WEIGHTS = ["none", "random"]
IGNORES = ["absent", "default_-100", "custom_3"]
REDUCTIONS = ["mean", "sum", "none"]
SMOOTHINGS = [0.0, 0.1]
TARGET_KINDS = ["index", "probs"]
NDIMS = [1, 2, 3]
DTYPES = [np.float32, np.float64]


def make_case(ndim, dtype, weight_kind, ignore_kind, target_kind, seed=0):
    """Logits, target and keyword options for one point of the option grid."""
    rng = np.random.default_rng([ndim, IGNORES.index(ignore_kind), WEIGHTS.index(weight_kind), seed])
    shape = SHAPES[ndim]
    logits = (rng.normal(size=shape) * 3).astype(dtype)
    kwargs = {}
    if weight_kind == "random":
        kwargs["weight"] = rng.uniform(0.2, 3.0, size=V).astype(dtype)
    if target_kind == "probs":
        target = rng.dirichlet(np.ones(V), size=shape[:-1]).astype(dtype)
        # as in torch, a negative ignore_index has no effect on probability targets and
        # ignore_index >= 0 is refused (see probs_refuse_ignore_index)
        kwargs["ignore_index"] = {"absent": -100, "default_-100": -100, "custom_3": CUSTOM_IGNORE}[ignore_kind]
        return logits, target, kwargs
    target = rng.integers(0, V, size=shape[:-1])
    if ignore_kind == "default_-100":
        flat = target.reshape(-1)
        flat[::2] = -100  # the first row is ignored; with ndim >= 2 others are kept
    elif ignore_kind == "custom_3":
        kwargs["ignore_index"] = CUSTOM_IGNORE
        flat = target.reshape(-1)
        flat[::2] = CUSTOM_IGNORE
        flat[1::2] = np.where(flat[1::2] == CUSTOM_IGNORE, 0, flat[1::2])
    return logits, target, kwargs


def probs_refuse_ignore_index(target, kwargs):
    return target.dtype.kind == "f" and kwargs.get("ignore_index", -100) >= 0


def all_ignored(target, kwargs):
    return target.dtype.kind == "i" and (target == kwargs.get("ignore_index", -100)).all()


def to_torch(logits, target, kwargs):
    """Torch wants the class axis at dim 1: flatten ``(..., V)`` to ``(N, V)``; 1-D stays unbatched."""
    x = torch.from_numpy(logits.reshape(-1, V) if logits.ndim > 1 else logits.copy())
    t = target.reshape(-1, V) if target.dtype.kind == "f" else target.reshape(-1)
    t = torch.from_numpy(np.ascontiguousarray(t)) if logits.ndim > 1 else torch.tensor(target)
    kw = dict(kwargs)
    if "weight" in kw:
        kw["weight"] = torch.from_numpy(kw["weight"])
    return x, t, kw


def torch_result(fn, logits, target, kwargs, reduction, **extra):
    x, t, kw = to_torch(logits, target, kwargs)
    out = fn(x, t, reduction=reduction, **kw, **extra).detach().numpy()
    return out.reshape(target.shape[: logits.ndim - 1]) if reduction == "none" else out


GRID = list(itertools.product(NDIMS, WEIGHTS, IGNORES, REDUCTIONS, SMOOTHINGS, TARGET_KINDS))


def grid_id(case):
    ndim, weight, ignore, reduction, eps, kind = case
    return f"{ndim}d-w_{weight}-ign_{ignore}-{reduction}-ls{eps}-{kind}"


# --- differential: loss -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", GRID, ids=[grid_id(c) for c in GRID])
def test_cross_entropy_matches_torch(case, dtype):
    ndim, weight_kind, ignore_kind, reduction, eps, kind = case
    logits, target, kwargs = make_case(ndim, dtype, weight_kind, ignore_kind, kind)
    if probs_refuse_ignore_index(target, kwargs):
        with pytest.raises(RuntimeError, match="ignore_index"):
            torch_result(F.cross_entropy, logits, target, kwargs, reduction, label_smoothing=eps)
        with pytest.raises(ValueError, match="ignore_index"):
            cross_entropy(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
        return
    expected = torch_result(F.cross_entropy, logits, target, kwargs, reduction, label_smoothing=eps)
    if reduction == "mean" and all_ignored(target, kwargs):
        assert np.isnan(expected)  # torch gives nan; we refuse to
        with pytest.raises(ValueError, match="reduction='mean'"):
            cross_entropy(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
        return
    ours = cross_entropy(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
    assert np.asarray(ours).dtype == dtype
    assert np.shape(ours) == np.shape(expected)
    np.testing.assert_allclose(ours, expected, **TOL[dtype])


NLL_GRID = list(itertools.product(NDIMS, WEIGHTS, IGNORES, REDUCTIONS))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", NLL_GRID, ids=["{}d-w_{}-ign_{}-{}".format(*c) for c in NLL_GRID])
def test_nll_loss_matches_torch(case, dtype):
    ndim, weight_kind, ignore_kind, reduction = case
    logits, target, kwargs = make_case(ndim, dtype, weight_kind, ignore_kind, "index")
    log_probs = log_softmax(logits)
    expected = torch_result(F.nll_loss, log_probs, target, kwargs, reduction)
    if reduction == "mean" and all_ignored(target, kwargs):
        assert np.isnan(expected)
        with pytest.raises(ValueError, match="reduction='mean'"):
            nll_loss(log_probs, target, reduction=reduction, **kwargs)
        return
    ours = nll_loss(log_probs, target, reduction=reduction, **kwargs)
    assert np.asarray(ours).dtype == dtype
    np.testing.assert_allclose(ours, expected, **TOL[dtype])
    # cross_entropy is log_softmax followed by nll_loss
    np.testing.assert_allclose(ours, cross_entropy(logits, target, reduction=reduction, **kwargs), **TOL[dtype])


# --- differential: gradient -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", GRID, ids=[grid_id(c) for c in GRID])
def test_cross_entropy_grad_matches_torch_autograd(case, dtype):
    ndim, weight_kind, ignore_kind, reduction, eps, kind = case
    logits, target, kwargs = make_case(ndim, dtype, weight_kind, ignore_kind, kind, seed=1)
    if probs_refuse_ignore_index(target, kwargs):
        with pytest.raises(ValueError, match="ignore_index"):
            cross_entropy_grad(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
        return
    if reduction == "mean" and all_ignored(target, kwargs):
        with pytest.raises(ValueError, match="reduction='mean'"):
            cross_entropy_grad(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
        return
    x, t, kw = to_torch(logits, target, kwargs)
    x.requires_grad_(True)
    loss = F.cross_entropy(x, t, reduction=reduction, label_smoothing=eps, **kw)
    (loss if reduction == "mean" else loss.sum()).backward()  # none/sum: the gradient of the sum
    ours = cross_entropy_grad(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
    assert ours.dtype == dtype and ours.shape == logits.shape
    np.testing.assert_allclose(ours, x.grad.numpy().reshape(logits.shape), **TOL[dtype])


def numerical_grad(f, logits, h=1e-6):
    """Central differences ``(f(z + h e_i) - f(z - h e_i)) / 2h`` of a scalar function, float64."""
    grad = np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


@pytest.mark.parametrize(
    "ndim, weight_kind, ignore_kind, reduction, eps, kind",
    [
        (2, "none", "absent", "mean", 0.0, "index"),
        (1, "none", "absent", "sum", 0.0, "index"),
        (3, "random", "custom_3", "mean", 0.1, "index"),
        (2, "random", "default_-100", "none", 0.1, "index"),
        (2, "random", "absent", "mean", 0.1, "probs"),
        (3, "none", "absent", "sum", 0.0, "probs"),
    ],
)
def test_cross_entropy_grad_matches_finite_differences(ndim, weight_kind, ignore_kind, reduction, eps, kind):
    logits, target, kwargs = make_case(ndim, np.float64, weight_kind, ignore_kind, kind, seed=2)

    def total_loss(z):
        return float(np.sum(cross_entropy(z, target, reduction=reduction, label_smoothing=eps, **kwargs)))

    expected = numerical_grad(total_loss, logits)
    ours = cross_entropy_grad(logits, target, reduction=reduction, label_smoothing=eps, **kwargs)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-8)


def test_grad_of_none_and_sum_is_per_row_gradient_of_own_loss():
    logits, target, _ = make_case(2, np.float64, "none", "absent", "index", seed=3)
    grad_none = cross_entropy_grad(logits, target, reduction="none")
    np.testing.assert_array_equal(grad_none, cross_entropy_grad(logits, target, reduction="sum"))
    np.testing.assert_allclose(grad_none, softmax(logits) - np.eye(V)[target], atol=1e-15)
    np.testing.assert_allclose(
        cross_entropy_grad(logits, target, reduction="mean"), grad_none / len(target), rtol=1e-14
    )


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def logits_and_index_targets(draw, low=-50.0, high=50.0):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    lo, hi = float(dtype(low)), float(dtype(high))
    logits = draw(arrays(dtype, shape, elements=st.floats(lo, hi, width=np.finfo(dtype).bits)))
    target = draw(arrays(np.int64, shape[:-1], elements=st.integers(0, shape[-1] - 1)))
    return logits, target


@PROPERTY
@given(logits_and_index_targets(), st.sampled_from([0.0, 0.1, 1.0]))
def test_loss_is_non_negative_and_grad_rows_sum_to_zero(case, eps):
    logits, target = case
    losses = cross_entropy(logits, target, reduction="none", label_smoothing=eps)
    assert losses.shape == target.shape and losses.dtype == logits.dtype
    assert (losses >= -1e-6).all()
    grad = cross_entropy_grad(logits, target, reduction="none", label_smoothing=eps)
    np.testing.assert_allclose(grad.sum(axis=-1), 0.0, atol=1e-5 if logits.dtype == np.float32 else 1e-12)
    assert (grad >= -1 - 1e-6).all() and (grad <= 1 + 1e-6).all()


@PROPERTY
@given(logits_and_index_targets())
def test_index_loss_is_logsumexp_minus_target_logit(case):
    logits, target = case
    x = logits.astype(np.float64)
    lse = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1)) + x.max(-1)
    expected = lse - np.take_along_axis(x, target[..., None], axis=-1)[..., 0]
    tol = 1e-5 if logits.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(cross_entropy(logits, target, reduction="none"), expected, rtol=tol, atol=tol)
    one_hot = np.eye(logits.shape[-1], dtype=logits.dtype)[target]
    np.testing.assert_allclose(
        cross_entropy(logits, one_hot, reduction="none"), expected, rtol=tol, atol=tol
    )  # a one-hot probability target is the index target


@PROPERTY
@given(logits_and_index_targets(-1e30, 1e30), st.sampled_from(REDUCTIONS), st.sampled_from([0.0, 0.1]))
def test_huge_finite_logits_give_finite_loss_and_grad(case, reduction, eps):
    logits, target = case
    assert np.isfinite(cross_entropy(logits, target, reduction=reduction, label_smoothing=eps)).all()
    assert np.isfinite(cross_entropy_grad(logits, target, reduction=reduction, label_smoothing=eps)).all()


def test_label_smoothing_one_is_uniform_target():
    logits = np.random.default_rng(4).normal(size=(3, V))
    uniform = np.full((3, V), 1 / V)
    np.testing.assert_allclose(
        cross_entropy(logits, np.array([0, 1, 2]), label_smoothing=1.0), cross_entropy(logits, uniform), rtol=1e-14
    )


def test_weight_zero_class_does_not_count_in_mean():
    logits = np.random.default_rng(5).normal(size=(4, 3))
    target = np.array([0, 1, 2, 2])
    weight = np.array([1.0, 1.0, 0.0])
    expected = cross_entropy(logits[:2], target[:2])
    np.testing.assert_allclose(cross_entropy(logits, target, weight=weight), expected, rtol=1e-14)


def test_cross_entropy_does_not_modify_inputs():
    logits, target, kwargs = make_case(2, np.float64, "random", "custom_3", "index")
    copies = logits.copy(), target.copy(), kwargs["weight"].copy()
    cross_entropy(logits, target, label_smoothing=0.1, **kwargs)
    cross_entropy_grad(logits, target, label_smoothing=0.1, **kwargs)
    for before, after in zip(copies, (logits, target, kwargs["weight"])):
        np.testing.assert_array_equal(before, after)


# --- float16 and promotion --------------------------------------------------------------------


def test_float16_mean_over_many_rows_does_not_overflow():
    # 70_000 rows of loss log(4) sum to ~97_000 > 65504 (float16 max): the sum must be float32
    logits = np.zeros((70_000, 4), dtype=np.float16)
    target = np.zeros(70_000, dtype=np.int64)
    for weight in (None, np.ones(4, dtype=np.float16)):
        loss = cross_entropy(logits, target, weight=weight)
        assert loss.dtype == np.float16
        assert float(loss) == pytest.approx(np.log(4), rel=1e-3)
    grad = cross_entropy_grad(logits[:8], target[:8])
    assert grad.dtype == np.float16
    np.testing.assert_allclose(grad.astype(np.float64), cross_entropy_grad(logits[:8].astype(np.float64), target[:8]), atol=1e-3)


def test_float16_large_vocabulary():
    vocab = 200_000
    logits = np.zeros((2, vocab), dtype=np.float16)
    loss = cross_entropy(logits, np.array([0, 5]))
    assert loss.dtype == np.float16
    assert float(loss) == pytest.approx(np.log(vocab), rel=1e-3)


def test_integer_and_list_inputs_are_promoted_to_float64():
    loss = cross_entropy([[3, 1, 0], [1, 0, -2]], [1, 1])
    assert np.asarray(loss).dtype == np.float64
    assert loss == cross_entropy(np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0]]), np.array([1, 1]))
    assert float(loss) == pytest.approx((2.1698460 + 1.3490122) / 2, rel=1e-6)
    assert cross_entropy_grad([[3, 1, 0]], [1]).dtype == np.float64
    assert np.asarray(nll_loss(np.log([[0.5, 0.5]]).tolist(), [0])).dtype == np.float64


# --- worked figures of the course -------------------------------------------------------------


def test_worked_figures_chapter_3_loss():
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    # exact -log p_0 = logsumexp - 2 = 0.4952; the course's 0.496 is -log of the rounded 0.609
    assert round(float(cross_entropy(logits, np.array(0))), 3) == 0.495
    assert round(-np.log(0.609), 3) == 0.496
    assert round(float(cross_entropy([3.0, 1.0, 0.0], np.array(1))), 3) == 2.170
    assert round(float(cross_entropy([3.0, 1.0, 0.0], np.array(0))), 3) == 0.170
    assert round(float(cross_entropy([1003.0, 1001.0, 1000.0], np.array(1))), 3) == 2.170
    assert round(float(cross_entropy([1.0, 0.0, -2.0], np.array(1))), 3) == 1.349
    assert round(float(cross_entropy([1.0, 0.0, -2.0], np.array(0))), 3) == 0.349


@pytest.mark.parametrize("p, expected", [(0.5, 0.693), (0.01, 4.605)])
def test_worked_figures_minus_log_p(p, expected):
    log_probs = np.log([[p, 1 - p]])
    assert round(float(nll_loss(log_probs, np.array([0]))), 3) == expected
    assert round(float(cross_entropy(log_probs, np.array([0]))), 3) == expected  # log-probs are valid logits


def test_worked_figures_chapter_4_gradient():
    grad = cross_entropy_grad([3.0, 1.0, 0.0], np.array(1))
    np.testing.assert_array_equal(np.round(grad, 3), [0.844, -0.886, 0.042])
    np.testing.assert_allclose(cross_entropy_grad([1003.0, 1001.0, 1000.0], np.array(1)), grad, rtol=1e-12)


def test_worked_figures_probabilities_fed_as_logits():
    """The classic bug: softmax applied twice. The loss is wrong and the gradient shrinks."""
    logits = torch.tensor([3.0, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    probs = softmax(logits.detach().numpy())
    assert round(float(cross_entropy(probs, np.array(1))), 3) == 1.387
    # d loss / d logits through the extra softmax: J_softmax^T (softmax(probs) - onehot)
    g_probs = cross_entropy_grad(probs, np.array(1))
    g_logits = probs * (g_probs - probs @ g_probs)
    assert round(float(g_logits[1]), 3) == -0.127
    F.cross_entropy(torch.softmax(logits, -1), torch.tensor(1)).backward()
    np.testing.assert_allclose(g_logits, logits.grad.numpy(), rtol=1e-12)
    assert round(float(cross_entropy_grad([3.0, 1.0, 0.0], np.array(1))[1]), 3) == -0.886


def test_worked_figures_one_gradient_step():
    logits = np.array([3.0, 1.0, 0.0])
    target = np.array(1)
    stepped = logits - 0.5 * cross_entropy_grad(logits, target)
    assert round(float(softmax(logits)[1]), 3) == 0.114
    assert round(float(softmax(stepped)[1]), 2) == 0.23
    assert round(float(cross_entropy(logits, target)), 3) == 2.170
    assert round(float(cross_entropy(stepped, target)), 3) == 1.469
