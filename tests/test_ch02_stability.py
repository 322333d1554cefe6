"""Chapter 2: the stability explorer's numbers, the worked figures of the notebook and quiz, and the old catalogue's
submissions that the shared mistakes and cheats now catch."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp as scipy_logsumexp

import logits_to_loss as ltl
from logits_to_loss.chapters.stability import CHAPTER, LARGE, ORDINARY
from logits_to_loss.checker import CheckFailure
from logits_to_loss.explorers.base import PALETTE
from logits_to_loss.explorers.stability import StabilityExplorer
from logits_to_loss.explorers.svg import element, label

WORKED = [0.844, 0.114, 0.042]  # softmax([3, 1, 0]), to 3 decimals


# -- explorer ----------------------------------------------------------------------------------------


def test_explorer_default_is_the_worked_figure():
    """At its defaults ([1000, 998, 997] in float64) the naive softmax is all NaN, the stable one [0.844, 0.114, 0.042]."""
    state = StabilityExplorer().state
    assert state["c"] == 997.0 and state["dtype"] == "float64"
    np.testing.assert_array_equal(state["logits"], [1000.0, 998.0, 997.0])
    assert np.isinf(state["exps"]).all() and np.isinf(state["total"])
    assert np.isnan(state["naive"]).all() and not state["naive_ok"]
    np.testing.assert_allclose(state["stable"], WORKED, atol=5e-4)
    np.testing.assert_array_equal(state["shifted"], [0.0, -2.0, -3.0])
    assert state["overflow_above"] == pytest.approx(709.78, abs=5e-3)


@pytest.mark.parametrize(
    "dtype, threshold, last_ok, first_bad",
    [("float16", 11.09, 7.5, 8.5), ("float32", 88.72, 85.5, 86.0), ("float64", 709.78, 706.5, 707.0)],
)
def test_explorer_naive_breaks_at_the_overflow_threshold(dtype, threshold, last_ok, first_bad):
    """exp overflows just above ln(max): 11.09 (float16), 88.72 (float32), 709.78 (float64); 3 + c crosses it."""
    explorer = StabilityExplorer()
    state = explorer.update(c=last_ok, dtype=dtype)
    assert state["overflow_above"] == pytest.approx(threshold, abs=5e-3)
    assert state["naive_ok"] and 3 + last_ok < threshold
    np.testing.assert_allclose(state["naive"], WORKED, atol=1e-3)
    state = explorer.update(c=first_bad)
    assert np.isinf(state["exps"][0]) and np.isnan(state["naive"][0]) and not state["naive_ok"]
    np.testing.assert_allclose(state["stable"], WORKED, atol=1e-3)


@pytest.mark.parametrize("dtype, c", [("float16", -25.0), ("float32", -107.0), ("float64", -749.0)])
def test_explorer_naive_breaks_when_everything_underflows(dtype, c):
    """Far below 0 every e^z is 0 and the naive softmax is 0/0 = NaN; the stable one is unchanged."""
    state = StabilityExplorer().update(c=c, dtype=dtype)
    assert (state["exps"] == 0).all() and state["total"] == 0
    assert np.isnan(state["naive"]).all()
    np.testing.assert_allclose(state["stable"], WORKED, atol=1e-3)


def test_explorer_float16_sum_overflow_and_coarse_exponentials():
    """float16: at c = 8 each e^z is finite but their sum overflows (naive sums to 0); at c = -15 it is off by 0.001."""
    explorer = StabilityExplorer()
    state = explorer.update(c=8.0, dtype="float16")
    assert np.isfinite(state["exps"]).all() and np.isinf(state["total"])
    np.testing.assert_array_equal(state["naive"], 0.0)
    assert not state["naive_ok"] and "sum overflowed" in label(explorer.svg, "naive-status")
    state = explorer.update(c=-15.0)
    assert np.isfinite(state["naive"]).all() and not state["naive_ok"]
    assert 1e-3 <= state["naive_error"] < 2e-3  # "off in the third decimal"
    assert round(float(state["naive"][2]), 3) != round(float(state["stable"][2]), 3)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_explorer_stable_panel_never_moves(dtype):
    """Over the whole slider range (-1000..1000, step 0.5) the stable softmax stays [0.844, 0.114, 0.042]."""
    explorer = StabilityExplorer()
    for c in np.arange(-1000.0, 1000.5, 12.5):
        state = explorer.compute(c=c, dtype=dtype)
        assert state["stable_ok"]
        np.testing.assert_allclose(state["stable"], WORKED, atol=1e-3)


def test_explorer_marks_nan_in_red():
    """NaN results get a bold red 'NaN' label and a zero-height bar; finite ones a black label and their bar."""
    explorer = StabilityExplorer()
    mark = element(explorer.svg, "naive-label-0")
    assert label(explorer.svg, "naive-label-0") == "NaN" and mark.get("fill") == PALETTE[3] and mark.get("font-weight")
    assert float(element(explorer.svg, "naive-bar-0").get("height")) == 0
    assert "broken" in label(explorer.svg, "naive-status")
    state = explorer.update(c=0.0)
    mark = element(explorer.svg, "naive-label-0")
    assert label(explorer.svg, "naive-label-0") == "0.844" and mark.get("fill") == "black"
    naive = explorer.figure.plots[0]
    height = float(element(explorer.svg, "naive-bar-0").get("height"))
    assert height == pytest.approx(naive.sy(0.0) - naive.sy(state["naive"][0]), abs=0.1)


def test_explorer_widget_follows_the_controls():
    """The ipywidgets box is built once; the dtype dropdown and the c slider redraw the one HTML view."""
    explorer = StabilityExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    slider, dropdown = box.children[0].children
    view = box.children[1]
    before = view.value
    slider.value = 0.0
    assert explorer.state["c"] == 0.0 and explorer.state["naive_ok"] and view.value != before
    dropdown.value = "float16"
    assert explorer.state["logits"].dtype == np.float16


def test_explorer_refuses_unknown_controls_and_dtypes():
    """update() names the valid controls, and an unknown dtype is refused."""
    with pytest.raises(ValueError, match="unknown control"):
        StabilityExplorer().update(temperature=1.0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        StabilityExplorer().update(dtype="bfloat16")




# -- the declaration --------------------------------------------------------------------------------


def test_references_are_the_library():
    """The references are ltl.softmax, ltl.logsumexp (axis removed) and ltl.log_softmax."""
    assert [e.reference for e in CHAPTER.exercises] == [ltl.softmax, ltl.logsumexp, ltl.log_softmax]
    assert np.shape(ltl.logsumexp(np.zeros(3))) == () and np.shape(ltl.logsumexp(np.zeros((2, 3)))) == (2,)


@pytest.mark.parametrize("exercise", CHAPTER.exercises, ids=lambda e: e.name)
def test_float32_row_breaks_a_mean_and_a_min_shift(exercise):
    """In float32 one logit 200 above the rest (max - mean = 167 > 88.7) overflows a mean and a min shift."""
    case = next(c for c in exercise.cases(LARGE, seed=0) if c.label.startswith("random float32 row of 6"))
    assert case.args[0].dtype == np.float32
    for name in ("shifted by the mean instead of the max", "shifted by the min instead of the max"):
        wrong = next(m for m in exercise.mistakes if m.name == name).function(exercise)
        with pytest.raises(CheckFailure):
            exercise.check_case(wrong, case, diagnose=False)


# -- the old catalogue's submissions, now caught by the shared mistakes and cheats ------------------


def _softmax_axis_ignored(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_in_place(logits, axis=-1):
    logits -= logits.max(axis=axis, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)


def test_old_submissions_are_named():
    """Ignoring `axis` is named as the shared wrong axis; `logits -= ...` as an in-place edit, in every part."""
    softmax = CHAPTER.stable_softmax
    for seed in range(5):
        assert "reduced along the wrong axis" in str(softmax.verdict(_softmax_axis_ignored, "batched rows far apart", seed))
        assert softmax.passes(_softmax_axis_ignored, ORDINARY, seed) and softmax.passes(_softmax_axis_ignored, LARGE, seed)
        for part in softmax.parts:
            assert "changed its input in place" in str(softmax.verdict(_softmax_in_place, part, seed))


def _softmax_calls_library(logits, axis=-1):
    return ltl.softmax(logits, axis=axis)


def _softmax_calls_torch(logits, axis=-1):
    import torch

    return torch.softmax(torch.as_tensor(logits), dim=axis).numpy()


def _softmax_hard_coded(logits, axis=-1):
    return np.array([0.844, 0.114, 0.042])


def _logsumexp_calls_torch(logits, axis=-1):
    import torch

    return torch.logsumexp(torch.as_tensor(logits), dim=axis).numpy()


def _logsumexp_calls_scipy(logits, axis=-1):
    return scipy_logsumexp(logits, axis=axis)


def _log_softmax_calls_library(logits, axis=-1):
    return ltl.log_softmax(logits, axis=axis)


@pytest.mark.parametrize("name, cheat, message", [
    ("stable_softmax", _softmax_calls_library, "from logits_to_loss"),
    ("stable_softmax", _softmax_calls_torch, "from torch"),
    ("stable_softmax", _softmax_hard_coded, "returned"),
    ("logsumexp", _logsumexp_calls_torch, "from torch"),
    ("logsumexp", _logsumexp_calls_scipy, "from scipy"),
    ("log_softmax", _log_softmax_calls_library, "from logits_to_loss"),
], ids=lambda x: getattr(x, "__name__", None))
def test_old_cheats_fail_every_part(name, cheat, message):
    """Calling the library, torch or scipy, or the hard-coded worked answer, fails every part with its reason."""
    exercise = CHAPTER.exercise(name)
    for part in exercise.parts:
        with pytest.raises(CheckFailure, match=message):
            exercise.check(cheat, part)


# -- worked figures ---------------------------------------------------------------------------------


def test_notebook_and_quiz_figures():
    """The figures quoted in the notebook's prose and try-it cells, the quiz and the mistakes are recomputed here."""
    import torch

    assert np.log(float(np.finfo(np.float32).max)) == pytest.approx(88.72, abs=5e-3)
    assert np.log(float(np.finfo(np.float16).max)) == pytest.approx(11.09, abs=5e-3)
    assert np.log(float(np.finfo(np.float64).max)) == pytest.approx(709.78, abs=5e-3)
    assert float(np.finfo(np.float32).max) == pytest.approx(3.4e38, rel=1e-2) and float(np.finfo(np.float16).max) == 65504
    assert np.log(float(np.finfo(np.float64).smallest_subnormal)) == pytest.approx(-744.4, abs=0.05)
    batch = np.array([[1000.0, 998.0, 997.0], [3.0, 1.0, 0.0]])
    with np.errstate(all="ignore"):
        assert np.isnan(ltl.naive_softmax(batch[0])).all()
        assert (np.exp(np.array([-400.0, -402.0, -403.0]) - 400.0) == 0).all()
        assert np.log(ltl.softmax(np.array([10.0, -800.0])))[1] == -np.inf
    np.testing.assert_allclose(ltl.softmax(batch), [[0.844, 0.114, 0.042]] * 2, atol=5e-4)
    np.testing.assert_allclose(ltl.logsumexp(batch), [1000.1698, 3.1698], atol=5e-5)
    np.testing.assert_allclose(ltl.log_softmax(batch), [[-0.170, -2.170, -3.170]] * 2, atol=5e-4)
    np.testing.assert_allclose(ltl.log_softmax(np.array([10.0, -800.0])), [0.0, -810.0])
    assert np.log(1 + np.exp(-2) + np.exp(-3)) == pytest.approx(0.17, abs=5e-3) and 3.170 < 3 + np.log(3)
    assert 1000 * 7 / 8 == 875 > 709.78  # §2.5: a mean shift of one logit 1000 above 7 others
    info = torch.finfo(torch.bfloat16)
    assert info.eps == 2**-7 and round(info.eps, 4) == 0.0078 and 1 - int(np.log2(info.eps)) == 8
    assert float(info.max) == pytest.approx(3.4e38, rel=1e-2) and np.log(info.max) == pytest.approx(88.7, abs=0.05)
    total = torch.tensor(0.0, dtype=torch.bfloat16)
    for _ in range(300):
        total = total + 1.0
    assert total.item() == 256.0
    assert torch.tensor([10.0, 9.99]).to(torch.bfloat16).tolist() == [10.0, 10.0]
