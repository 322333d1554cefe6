"""Chapter 2: the stability explorer's numbers, the fairness and mistake catalogue of the checks, the quiz."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.checker import CheckFailure
from logits_to_loss.checks import stability as check
from logits_to_loss.explorers.stability import StabilityExplorer

SEEDS = range(5)
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
    assert not state["naive_ok"] and "sum overflowed" in explorer.status[0].get_text()
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


def test_explorer_marks_nan_in_red_and_updates_in_place():
    """NaN results get a red 'NaN' label and a zero-height bar; the figure and artists are the same objects."""
    explorer = StabilityExplorer()
    fig, bar, label = explorer.fig, explorer.bars[0][0], explorer.labels[0][0]
    assert label.get_text() == "NaN" and label.get_color() == "tab:red" and bar.get_height() == 0
    assert "broken" in explorer.status[0].get_text()
    state = explorer.update(c=0.0)
    assert explorer.fig is fig and explorer.bars[0][0] is bar and explorer.labels[0][0] is label
    assert label.get_text() == "0.844" and label.get_color() == "black"
    assert bar.get_height() == pytest.approx(state["naive"][0])
    assert explorer.png().startswith(b"\x89PNG")


def test_explorer_widget_follows_the_controls():
    """The ipywidgets box is built once; the dtype dropdown and the c slider re-render the one Image."""
    explorer = StabilityExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    slider, dropdown = box.children[0].children
    before = explorer._image.value
    slider.value = 0.0
    assert explorer.state["c"] == 0.0 and explorer.state["naive_ok"] and explorer._image.value != before
    dropdown.value = "float16"
    assert explorer.state["logits"].dtype == np.float16


def test_explorer_refuses_unknown_controls_and_dtypes():
    """update() names the valid controls, and an unknown dtype is refused."""
    with pytest.raises(ValueError, match="unknown control"):
        StabilityExplorer().update(temperature=1.0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        StabilityExplorer().update(dtype="bfloat16")


# -- the checks: references and cases -----------------------------------------------------------------


def test_references_are_the_library():
    """The references are ltl.softmax, ltl.logsumexp (axis removed) and ltl.log_softmax."""
    assert check.stable_softmax.reference is ltl.softmax
    assert check.logsumexp.reference is ltl.logsumexp
    assert check.log_softmax.reference is ltl.log_softmax
    assert np.shape(ltl.logsumexp(np.zeros(3))) == () and np.shape(ltl.logsumexp(np.zeros((2, 3)))) == (2,)
    assert float(ltl.logsumexp(np.array([3.0, 1.0, 0.0]))) == pytest.approx(3.1698, abs=5e-5)


@pytest.mark.parametrize("exercise", [check.stable_softmax, check.logsumexp, check.log_softmax], ids=lambda e: e.name)
def test_large_part_breaks_an_unshifted_exp(exercise):
    """Every 'large logits' case but [10, -800] makes exp(z) overflow or fully underflow; all are 1-D rows."""
    for seed in SEEDS:
        for case in exercise.cases("large logits", seed=seed):
            (logits,) = case.args
            assert logits.ndim == 1 and not case.kwargs
            with np.errstate(all="ignore"):
                total = np.exp(logits).sum()
            if case.label.startswith("[10, -800]"):
                assert np.isfinite(total) and np.exp(np.float64(-810.0)) == 0  # only the shifted recipes differ here
            else:
                assert not np.isfinite(total) or total == 0, case.label


@pytest.mark.parametrize("exercise", [check.stable_softmax, check.logsumexp, check.log_softmax], ids=lambda e: e.name)
def test_batched_part_needs_one_max_per_row_but_no_more(exercise):
    """In 'batched rows far apart' plain exp stays finite, yet one global max underflows a whole row to 0."""
    for seed in SEEDS:
        for case in exercise.cases("batched rows far apart", seed=seed):
            (logits,) = case.args
            axis = case.kwargs.get("axis", -1)
            with np.errstate(all="ignore"):
                assert np.isfinite(np.exp(logits)).all() and (np.exp(logits).sum(axis=axis) > 0).all(), case.label
                assert (np.exp(logits - logits.max()).sum(axis=axis) == 0).any(), case.label


# -- fairness: correct answers written differently pass every part -------------------------------------


def _softmax_loop(logits, axis=-1):
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = [float(v) for v in x[idx]]
        top = max(row)
        exps = [np.exp(v - top) for v in row]
        out[idx] = [e / sum(exps) for e in exps]
    return np.moveaxis(out, -1, axis)  # float64 even for float32 input


def _softmax_moveaxis(logits, axis=-1):
    z = np.moveaxis(logits, axis, -1)
    e = np.exp(z - z.max(axis=-1)[..., None])
    return np.moveaxis(e / e.sum(axis=-1)[..., None], -1, axis)


def _softmax_expand_dims_float32(logits, axis=-1):
    m = np.expand_dims(np.max(logits, axis=axis), axis)
    e = np.exp((logits - m).astype(np.float32))
    return e / np.expand_dims(e.sum(axis=axis), axis)


def _softmax_via_log(logits, axis=-1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return np.exp(shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True)))


@pytest.mark.parametrize(
    "fn", [_softmax_loop, _softmax_moveaxis, _softmax_expand_dims_float32, _softmax_via_log],
    ids=lambda f: f.__name__.removeprefix("_softmax_"),
)
def test_correct_softmaxes_pass_every_part(fn, capsys):
    """A loop with float64 output, moveaxis, expand_dims with float32 output and exp(log_softmax) all pass."""
    for seed in SEEDS:
        check.stable_softmax(fn, seed=seed)
    assert "✓ stable_softmax" in capsys.readouterr().out


def _lse_loop_python_float(logits, axis=-1):
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    if x.ndim == 1:
        top = max(float(v) for v in x)
        return float(top + np.log(sum(np.exp(float(v) - top) for v in x)))  # a Python float for one row
    out = np.empty(x.shape[:-1])
    for idx in np.ndindex(x.shape[:-1]):
        top = x[idx].max()
        out[idx] = top + np.log(np.exp(x[idx] - top).sum())
    return out


def _lse_squeeze_m(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m.squeeze(axis) + np.log(np.exp(logits - m).sum(axis=axis))


def _lse_logaddexp(logits, axis=-1):
    return np.logaddexp.reduce(np.asarray(logits, dtype=np.float64), axis=axis)


def _lse_moveaxis(logits, axis=-1):
    z = np.moveaxis(logits, axis, -1)
    m = z.max(axis=-1)
    return m + np.log(np.exp(z - m[..., None]).sum(axis=-1))


@pytest.mark.parametrize(
    "fn", [_lse_loop_python_float, _lse_squeeze_m, _lse_logaddexp, _lse_moveaxis],
    ids=lambda f: f.__name__.removeprefix("_lse_"),
)
def test_correct_logsumexps_pass_every_part(fn, capsys):
    """A loop returning a Python float, m.squeeze, np.logaddexp.reduce and moveaxis all pass."""
    for seed in SEEDS:
        check.logsumexp(fn, seed=seed)
    assert "✓ logsumexp" in capsys.readouterr().out


def _my_logsumexp(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True)), axis=axis)


def _logsm_minus_own_logsumexp(logits, axis=-1):
    return logits - np.expand_dims(_my_logsumexp(logits, axis=axis), axis)  # z - logsumexp(z), the learner's own helper


def _logsm_loop(logits, axis=-1):
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        top = row.max()
        out[idx] = row - top - np.log(np.sum(np.exp(row - top)))
    return np.moveaxis(out, -1, axis)


def _logsm_float32_kept(logits, axis=-1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return (shifted - lse).astype(logits.dtype)


@pytest.mark.parametrize(
    "fn", [_logsm_minus_own_logsumexp, _logsm_loop, _logsm_float32_kept],
    ids=lambda f: f.__name__.removeprefix("_logsm_"),
)
def test_correct_log_softmaxes_pass_every_part(fn, capsys):
    """z minus the learner's own logsumexp (even in float32), a float64 loop and the shifted form all pass."""
    for seed in SEEDS:
        check.log_softmax(fn, seed=seed)
    assert "✓ log_softmax" in capsys.readouterr().out


# -- every catalogued mistake is recognised in learner-written buggy code ------------------------------


def _bug_softmax_no_shift(logits, axis=-1):
    e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)


def _bug_softmax_global_max(logits, axis=-1):
    e = np.exp(logits - logits.max())
    return e / e.sum(axis=axis, keepdims=True)


def _bug_softmax_sum_shift(logits, axis=-1):
    e = np.exp(logits - np.sum(logits, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _bug_softmax_max_no_keepdims(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis))
    return e / e.sum(axis=axis, keepdims=True)


def _bug_softmax_axis_ignored(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _bug_softmax_sum_no_keepdims(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis)


def _bug_softmax_whole_batch(logits, axis=-1):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum()


def _bug_softmax_not_normalised(logits, axis=-1):
    return np.exp(logits - logits.max(axis=axis, keepdims=True))


def _bug_softmax_atleast_2d(logits, axis=-1):
    z = np.atleast_2d(logits)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


SOFTMAX_BUGS = {
    "no max shift": _bug_softmax_no_shift,
    "one global max for the whole batch": _bug_softmax_global_max,
    "shifted by the sum instead of the max": _bug_softmax_sum_shift,
    "row maxima broadcast along the wrong axis": _bug_softmax_max_no_keepdims,
    "normalised along the wrong axis": _bug_softmax_axis_ignored,
    "row sums broadcast along the wrong axis": _bug_softmax_sum_no_keepdims,
    "normalised over the whole batch": _bug_softmax_whole_batch,
    "not normalised": _bug_softmax_not_normalised,
    "an extra batch axis": _bug_softmax_atleast_2d,
}


def _bug_lse_no_shift(logits, axis=-1):
    return np.log(np.sum(np.exp(logits), axis=axis))


def _bug_lse_global_max(logits, axis=-1):
    m = np.max(logits)
    return m + np.log(np.sum(np.exp(logits - m), axis=axis))


def _bug_lse_sum_shift(logits, axis=-1):
    s = logits.sum(axis=axis)
    return s + np.log(np.exp(logits - np.expand_dims(s, axis)).sum(axis=axis))


def _bug_lse_no_add_back(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return np.log(np.exp(logits - m).sum(axis=axis))


def _bug_lse_minus_m(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return np.log(np.exp(logits - m).sum(axis=axis)) - m.squeeze(axis)


def _bug_lse_max_no_keepdims(logits, axis=-1):
    m = logits.max(axis=axis)
    return m + np.log(np.exp(logits - m).sum(axis=axis))


def _bug_lse_axis_ignored(logits, axis=-1):
    m = logits.max(axis=-1, keepdims=True)
    return m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))


def _bug_lse_keepdims(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))


def _bug_lse_log10(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m.squeeze(axis) + np.log10(np.exp(logits - m).sum(axis=axis))


def _bug_lse_log2(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m.squeeze(axis) + np.log2(np.exp(logits - m).sum(axis=axis))


def _bug_lse_mean(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    return m.squeeze(axis) + np.log(np.mean(np.exp(logits - m), axis=axis))


LOGSUMEXP_BUGS = {
    "log-sum-exp without the max shift": _bug_lse_no_shift,
    "one global max for the whole batch": _bug_lse_global_max,
    "shifted by the sum instead of the max": _bug_lse_sum_shift,
    "the max not added back": _bug_lse_no_add_back,
    "the max subtracted instead of added back": _bug_lse_minus_m,
    "row maxima broadcast along the wrong axis": _bug_lse_max_no_keepdims,
    "reduced along the wrong axis": _bug_lse_axis_ignored,
    "the reduced axis kept": _bug_lse_keepdims,
    "log base 10 instead of the natural log": _bug_lse_log10,
    "log base 2 instead of the natural log": _bug_lse_log2,
    "averaged the exponentials instead of summing them": _bug_lse_mean,
}


def _stable(logits, axis):
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _shifted_and_sum(logits, axis):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted, np.exp(shifted).sum(axis=axis, keepdims=True)


def _bug_logsm_log_of_softmax(logits, axis=-1):
    return np.log(_stable(logits, axis))


def _bug_logsm_log_of_naive(logits, axis=-1):
    e = np.exp(logits)
    return np.log(e / e.sum(axis=axis, keepdims=True))


def _bug_logsm_lse_no_shift(logits, axis=-1):
    return logits - np.log(np.exp(logits).sum(axis=axis, keepdims=True))


def _bug_logsm_global_max(logits, axis=-1):
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _bug_logsm_no_add_back(logits, axis=-1):
    _, s = _shifted_and_sum(logits, axis)
    return logits - np.log(s)


def _bug_logsm_twice(logits, axis=-1):
    m = logits.max(axis=axis, keepdims=True)
    lse = m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))
    return (logits - m) - lse


def _bug_logsm_max_no_keepdims(logits, axis=-1):
    shifted = logits - logits.max(axis=axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _bug_logsm_sum_no_keepdims(logits, axis=-1):
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis))


def _bug_logsm_axis_ignored(logits, axis=-1):
    shifted, s = _shifted_and_sum(logits, -1)
    return shifted - np.log(s)


def _bug_logsm_log10(logits, axis=-1):
    shifted, s = _shifted_and_sum(logits, axis)
    return shifted - np.log10(s)


def _bug_logsm_log2(logits, axis=-1):
    shifted, s = _shifted_and_sum(logits, axis)
    return shifted - np.log2(s)


def _bug_logsm_log10_of_probs(logits, axis=-1):
    shifted, s = _shifted_and_sum(logits, axis)
    return (shifted - np.log(s)) / np.log(10)  # np.log10(p) computed without forming p


def _bug_logsm_probs(logits, axis=-1):
    return _stable(logits, axis)


def _bug_logsm_sign(logits, axis=-1):
    shifted, s = _shifted_and_sum(logits, axis)
    return np.log(s) - shifted


LOG_SOFTMAX_BUGS = {
    "log of a softmax that underflowed": _bug_logsm_log_of_softmax,
    "log of a softmax without the max shift": _bug_logsm_log_of_naive,
    "log-sum-exp without the max shift": _bug_logsm_lse_no_shift,
    "one global max for the whole batch": _bug_logsm_global_max,
    "the max not added back": _bug_logsm_no_add_back,
    "the max subtracted twice": _bug_logsm_twice,
    "row maxima broadcast along the wrong axis": _bug_logsm_max_no_keepdims,
    "row log-sums broadcast along the wrong axis": _bug_logsm_sum_no_keepdims,
    "normalised along the wrong axis": _bug_logsm_axis_ignored,
    "log base 10 instead of the natural log": _bug_logsm_log10,
    "log base 2 instead of the natural log": _bug_logsm_log2,
    "log10 of the probabilities": _bug_logsm_log10_of_probs,
    "probabilities instead of log-probabilities": _bug_logsm_probs,
    "sign flipped (-log p instead of log p)": _bug_logsm_sign,
}

EXERCISES = {
    "stable_softmax": (check.stable_softmax, SOFTMAX_BUGS),
    "logsumexp": (check.logsumexp, LOGSUMEXP_BUGS),
    "log_softmax": (check.log_softmax, LOG_SOFTMAX_BUGS),
}
ALL_BUGS = [(name, mistake) for name, (_, bugs) in EXERCISES.items() for mistake in bugs]


def test_every_mistake_has_buggy_code():
    """Each catalogued Mistake is exercised by learner-style buggy code below and cites a §2 section."""
    assert {m.name for m in check.SOFTMAX_MISTAKES} == set(SOFTMAX_BUGS)
    assert {m.name for m in check.LOGSUMEXP_MISTAKES} == set(LOGSUMEXP_BUGS)
    assert {m.name for m in check.LOG_SOFTMAX_MISTAKES} == set(LOG_SOFTMAX_BUGS)
    for mistakes in (check.SOFTMAX_MISTAKES, check.LOGSUMEXP_MISTAKES, check.LOG_SOFTMAX_MISTAKES):
        assert all("§2." in m.explanation for m in mistakes)
        assert len({m.name for m in mistakes}) == len(mistakes)


@pytest.mark.parametrize("exercise_name, mistake", ALL_BUGS, ids=[f"{e}: {m}" for e, m in ALL_BUGS])
def test_mistake_is_named(exercise_name, mistake):
    """The buggy code fails the check, and at least one case names exactly this mistake."""
    exercise, bugs = EXERCISES[exercise_name]
    for seed in SEEDS:
        messages = exercise.failures(bugs[mistake], seed=seed)
        assert messages, f"{mistake}: passes every case"
        assert any(f": {mistake}. " in m for m in messages), f"{mistake} not named:\n" + "\n".join(messages)


PART_OUTCOMES = [
    # (exercise, bug, the parts it fails, the mistake its first failure names in each failed part)
    ("stable_softmax", _bug_softmax_no_shift, {"large logits": "no max shift"}),
    ("stable_softmax", _bug_softmax_global_max, {"batched rows far apart": "one global max for the whole batch"}),
    (
        "stable_softmax", _bug_softmax_sum_shift,
        {"large logits": "shifted by the sum instead of the max", "batched rows far apart": None},
    ),
    ("stable_softmax", _bug_softmax_axis_ignored, {"batched rows far apart": "normalised along the wrong axis"}),
    ("logsumexp", _bug_lse_no_shift, {"large logits": "log-sum-exp without the max shift"}),
    ("logsumexp", _bug_lse_global_max, {"batched rows far apart": "one global max for the whole batch"}),
    ("logsumexp", _bug_lse_sum_shift, {"large logits": "shifted by the sum instead of the max", "batched rows far apart": None}),
    ("log_softmax", _bug_logsm_log_of_softmax, {"large logits": "log of a softmax that underflowed"}),
    ("log_softmax", _bug_logsm_log_of_naive, {"large logits": "log of a softmax without the max shift"}),
    ("log_softmax", _bug_logsm_lse_no_shift, {"large logits": "log-sum-exp without the max shift"}),
    ("log_softmax", _bug_logsm_global_max, {"batched rows far apart": "one global max for the whole batch"}),
]


@pytest.mark.parametrize(
    "exercise_name, bug, failed", PART_OUTCOMES, ids=[f"{e}-{b.__name__.removeprefix('_bug_')}" for e, b, _ in PART_OUTCOMES]
)
def test_partial_credit_by_skill(exercise_name, bug, failed, capsys):
    """A stability-only or batch-only mistake fails exactly its parts, and the first failure names it."""
    exercise, _ = EXERCISES[exercise_name]
    for seed in SEEDS:
        for part in exercise.parts:
            if part in failed:
                with pytest.raises(CheckFailure) as info:
                    exercise(bug, part=part, seed=seed)
                if failed[part]:
                    assert f": {failed[part]}. " in str(info.value), str(info.value)
            else:
                exercise(bug, part=part, seed=seed)


def test_in_place_shift_is_caught():
    """`logits -= logits.max(...)` changes the caller's array; the check says so."""

    def in_place(logits, axis=-1):
        logits -= logits.max(axis=axis, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=axis, keepdims=True)

    with pytest.raises(CheckFailure, match="changed its input in place"):
        check.stable_softmax(in_place, part="ordinary logits", seed=0)


@pytest.mark.parametrize(
    "exercise, cheat, banned",
    [
        (check.stable_softmax, lambda logits, axis=-1: ltl.softmax(logits, axis=axis), "logits_to_loss"),
        (check.logsumexp, lambda logits, axis=-1: ltl.logsumexp(logits, axis=axis), "logits_to_loss"),
        (check.log_softmax, lambda logits, axis=-1: ltl.log_softmax(logits, axis=axis), "logits_to_loss"),
    ],
)
def test_calling_the_reference_is_refused(exercise, cheat, banned):
    """Calling the reference library counts as no work, even though its values are right."""
    with pytest.raises(CheckFailure, match=f"from {banned}"):
        exercise(cheat, seed=0)


# -- quiz ----------------------------------------------------------------------------------------------


def test_quiz_grades_and_explains():
    """Right answers pass; a wrong one fails with that option's explanation; a missing one is named."""
    for qid, question in check.quiz.questions.items():
        check.quiz.check({qid: question.correct}, qid)
    with pytest.raises(CheckFailure, match="float16's limit"):
        check.quiz.check({"q1": "a"}, "q1")
    with pytest.raises(CheckFailure, match="unanswered"):
        check.quiz.check({}, "q2")
    assert 4 <= len(check.quiz.questions) <= 8
    assert all(len(q.options) >= 3 and all(o.explanation for o in q.options) for q in check.quiz.questions.values())


def test_quiz_numbers_are_right():
    """The figures quoted in the quiz explanations (and the check messages) are recomputed here."""
    import torch

    assert np.log(float(np.finfo(np.float32).max)) == pytest.approx(88.72, abs=5e-3)
    assert np.log(float(np.finfo(np.float16).max)) == pytest.approx(11.09, abs=5e-3)
    assert np.log(float(np.finfo(np.float64).max)) == pytest.approx(709.78, abs=5e-3)
    assert float(np.finfo(np.float32).max) == pytest.approx(3.4e38, rel=1e-2)
    assert float(np.finfo(np.float16).max) == 65504
    assert np.log(float(np.finfo(np.float64).smallest_subnormal)) == pytest.approx(-744.4, abs=0.05)
    with np.errstate(all="ignore"):
        assert np.isnan(ltl.naive_softmax(np.array([1000.0, 998.0, 997.0]))).all()
        e = np.exp(np.array([-400.0, -402.0, -403.0]) - 400.0)
        assert (e == 0).all()
        assert np.log(ltl.softmax(np.array([10.0, -800.0])))[1] == -np.inf
    np.testing.assert_allclose(ltl.log_softmax(np.array([10.0, -800.0])), [0.0, -810.0])
    assert float(ltl.logsumexp(np.array([3.0, 1.0, 0.0]))) == pytest.approx(3.170, abs=5e-4)
    assert np.log(1 + np.exp(-2) + np.exp(-3)) == pytest.approx(0.17, abs=5e-3)
    assert 3.170 < 3 + np.log(3)
    info = torch.finfo(torch.bfloat16)
    assert info.eps == 2**-7 and round(info.eps, 4) == 0.0078 and 1 - int(np.log2(info.eps)) == 8
    assert float(info.max) == pytest.approx(3.4e38, rel=1e-2) and np.log(info.max) == pytest.approx(88.7, abs=0.05)
    total = torch.tensor(0.0, dtype=torch.bfloat16)
    for _ in range(300):
        total = total + 1.0
    assert total.item() == 256.0
    assert torch.tensor([10.0, 9.99]).to(torch.bfloat16).tolist() == [10.0, 10.0]


def test_quiz_widget_gives_instant_feedback():
    """Picking an option in the widget shows its explanation and updates the answers line."""
    box = check.quiz.widget()
    first = box.children[0]
    first.children[1].value = "a"
    assert "Not quite" in first.children[2].value
    first.children[1].value = "b"
    assert "Right" in first.children[2].value
    assert '"q1": \'b\'' in box.children[-1].value
