"""Chapter 3: the cross-entropy explorer's numbers, the fairness and mistake catalogue of the checks, the quiz."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.checker import CheckFailure
from logits_to_loss.checks import cross_entropy as check
from logits_to_loss.explorers.cross_entropy import CrossEntropyExplorer

SEEDS = range(5)


# -- explorer ----------------------------------------------------------------------------------------


def test_explorer_shows_the_cat_example():
    """At its defaults the explorer shows p = 0.609, 0.224, 0.136, 0.030 and the loss 0.495 for 'mat'."""
    state = CrossEntropyExplorer().state
    np.testing.assert_allclose(state["probs"], [0.609, 0.224, 0.136, 0.030], atol=5e-4)
    assert state["target"] == "mat" and state["target_index"] == 0
    assert state["target_prob"] == pytest.approx(0.6095, abs=5e-5)
    assert state["loss"] == pytest.approx(0.4952, abs=5e-5)
    assert state["loss"] == pytest.approx(-np.log(state["target_prob"]))


def test_explorer_confident_and_wrong_pays_seven_times_more():
    """Logits log[0.03, 0.9, 0.035, 0.035] (90% dog) cost 3.507 for 'mat', about 7× the cat example."""
    explorer = CrossEntropyExplorer()
    base = explorer.state["loss"]
    z = np.log([0.03, 0.90, 0.035, 0.035])
    state = explorer.update(mat=z[0], dog=z[1], floor=z[2], car=z[3])
    np.testing.assert_allclose(state["probs"], [0.03, 0.90, 0.035, 0.035])
    assert state["target_prob"] == pytest.approx(0.03)
    assert state["loss"] == pytest.approx(3.507, abs=5e-4)
    assert state["loss"] / base == pytest.approx(7.08, abs=0.01)


def test_explorer_target_dropdown_changes_the_scored_token():
    """Picking 'car' scores -log 0.0303 = 3.495; a uniform model pays ln 4 = 1.386 whatever the target."""
    explorer = CrossEntropyExplorer()
    state = explorer.update(target="car")
    assert state["target_index"] == 3
    assert state["loss"] == pytest.approx(3.4952, abs=5e-4)
    for token in ("mat", "dog", "floor", "car"):
        state = explorer.update(mat=0.0, dog=0.0, floor=0.0, car=0.0, target=token)
        assert state["loss"] == pytest.approx(np.log(4))


def test_explorer_moves_its_artists_in_place():
    """The point on the -log p curve and the bars move; the figure and artists are the same objects."""
    explorer = CrossEntropyExplorer()
    fig, point, bar = explorer.fig, explorer.point, explorer.bars[1]
    state = explorer.update(target="dog")
    assert explorer.fig is fig and explorer.point is point and explorer.bars[1] is bar
    x, y = point.get_data()
    assert x[0] == pytest.approx(state["target_prob"]) and y[0] == pytest.approx(state["loss"])
    assert bar.get_facecolor() != explorer.bars[0].get_facecolor()  # the target is highlighted
    assert explorer.png().startswith(b"\x89PNG")


def test_explorer_loss_stays_finite_at_the_slider_extremes():
    """With 'mat' at -6 and the others at +6 the loss is exact (logsumexp - z_y), and the axis makes room."""
    explorer = CrossEntropyExplorer()
    state = explorer.update(mat=-6.0, dog=6.0, floor=6.0, car=6.0)
    assert state["loss"] == pytest.approx(12.0 + np.log(3 + np.exp(-12.0)))
    assert explorer.ax_curve.get_ylim()[1] > state["loss"]


def test_explorer_widget_follows_the_controls():
    """The ipywidgets box is built once; moving the target dropdown re-renders the one Image."""
    explorer = CrossEntropyExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    before = explorer._image.value
    box.children[0].children[4].value = "floor"  # the target dropdown
    assert explorer.state["target"] == "floor" and explorer._image.value != before


def test_explorer_refuses_unknown_controls_and_targets():
    """update() names the valid controls, and an unknown target token is refused."""
    with pytest.raises(ValueError, match="unknown control"):
        CrossEntropyExplorer().update(cow=1.0)
    with pytest.raises(ValueError, match="target must be one of"):
        CrossEntropyExplorer().update(target="cow")


# -- the checks: reference and cases -------------------------------------------------------------------


def test_reference_is_torch_semantics_with_defaults():
    """The reference is ltl.cross_entropy: a (V,) row with an int target gives a 0-d loss, a batch the mean."""
    assert check.cross_entropy.reference is ltl.cross_entropy
    out = check.cross_entropy.reference(np.array([3.0, 1.0, 0.0]), 1)
    assert np.shape(out) == () and float(out) == pytest.approx(2.170, abs=5e-4)
    batch = np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0]])
    assert float(check.cross_entropy.reference(batch, np.array([1, 0]))) == pytest.approx((2.1698 + 0.3490) / 2, abs=1e-4)
    assert check.label_smoothed_targets.reference is ltl.label_smoothed_targets


def test_huge_part_breaks_every_unshifted_recipe():
    """Every case of 'huge logits' makes log(sum(exp(z))) non-finite, so only a max shift passes it."""
    for seed in SEEDS:
        for case in check.cross_entropy.cases("huge logits", seed=seed):
            logits, target = case.args
            with np.errstate(all="ignore"):
                naive = np.log(np.exp(logits).sum()) - logits[target]
            assert not np.isfinite(naive), case.label
            assert np.isfinite(check.cross_entropy.reference(*case.args))


def test_parts_are_separate_skills():
    """The first two parts use single rows (sum = mean there); the batch part uses B >= 2 rows."""
    for part in ("ordinary logits", "huge logits"):
        assert all(c.args[0].ndim == 1 and isinstance(c.args[1], int) for c in check.cross_entropy.cases(part, seed=0))
    assert all(c.args[0].ndim == 2 and len(c.args[0]) >= 2 for c in check.cross_entropy.cases("batch mean", seed=0))


# -- fairness: correct answers written differently pass every part -------------------------------------


def _ce_atleast_2d(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return (lse - z[np.arange(len(z)), t]).mean()


def _ce_loop_python_float(logits, targets):
    rows = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    ts = np.asarray(targets).reshape(-1)
    total = 0.0
    for row, t in zip(rows, ts):
        m = max(float(v) for v in row)
        total += m + np.log(sum(np.exp(float(v) - m) for v in row)) - float(row[int(t)])
    return float(total / len(rows))


def _ce_take_along_axis(logits, targets):
    z = np.asarray(logits, dtype=np.float64)  # float64 even for float32 input
    t = np.asarray(targets)
    log_probs = z - z.max(axis=-1, keepdims=True)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, t[..., None], axis=-1).mean()


def _ce_onehot(logits, targets):
    z = np.atleast_2d(logits)
    onehot = np.eye(z.shape[-1])[np.atleast_1d(targets)]  # (B, V)
    m = np.moveaxis(z, -1, 0).max(axis=0)[:, None]  # moveaxis instead of keepdims
    log_probs = z - m - np.log(np.exp(z - m).sum(axis=-1))[:, None]
    return -(onehot * log_probs).sum(axis=-1).mean()


def _ce_branches(logits, targets):
    if logits.ndim == 1:
        m = logits.max()
        return m + np.log(np.sum(np.exp(logits - m))) - logits[targets]
    m = logits.max(axis=1)
    lse = m + np.log(np.exp(logits - m[:, None]).sum(axis=1))
    return np.mean(lse - logits[range(len(targets)), targets])


@pytest.mark.parametrize(
    "fn", [_ce_atleast_2d, _ce_loop_python_float, _ce_take_along_axis, _ce_onehot, _ce_branches],
    ids=lambda f: f.__name__.removeprefix("_ce_"),
)
def test_correct_cross_entropies_pass_every_part(fn, capsys):
    """Loops, Python floats, float64 output, one-hot products, moveaxis and 1-D branches all pass."""
    for seed in SEEDS:
        check.cross_entropy(fn, seed=seed)
    assert "✓ cross_entropy" in capsys.readouterr().out


def _ls_eye(targets, num_classes, eps):
    return (1 - eps) * np.eye(num_classes)[targets] + eps / num_classes


def _ls_loop(targets, num_classes, eps):
    out = []
    for t in targets:
        out.append([(1 - eps) * (c == t) + eps / num_classes for c in range(num_classes)])
    return np.array(out)


def _ls_put_float32(targets, num_classes, eps):
    out = np.full((len(targets), num_classes), eps / num_classes, dtype=np.float32)
    np.put_along_axis(out, np.asarray(targets)[:, None], 1 - eps + eps / num_classes, axis=1)
    return out


@pytest.mark.parametrize("fn", [_ls_eye, _ls_loop, _ls_put_float32], ids=lambda f: f.__name__.removeprefix("_ls_"))
def test_correct_smoothed_targets_pass_every_part(fn, capsys):
    """np.eye, a Python loop and a float32 put_along_axis all pass."""
    for seed in SEEDS:
        check.label_smoothed_targets(fn, seed=seed)
    assert "✓ label_smoothed_targets" in capsys.readouterr().out


# -- every catalogued mistake is recognised in learner-written buggy code ------------------------------


def _stable_probs(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_probs(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _rows(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    return z, t, np.arange(len(z))


def _bug_log_of_softmax(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-np.log(_stable_probs(z)[r, t]))


def _bug_lse_no_shift(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(np.log(np.exp(z).sum(axis=-1)) - z[r, t])


def _bug_naive_softmax(logits, targets):
    z, t, r = _rows(logits, targets)
    e = np.exp(z)
    return np.mean(-np.log((e / e.sum(axis=-1, keepdims=True))[r, t]))


def _bug_probs_as_logits(logits, targets):
    z, t, r = _rows(logits, targets)
    p = _stable_probs(z)
    return np.mean(-_log_probs(p)[r, t])


def _bug_log_of_logits(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-np.log(z[r, t]))


def _bug_sign(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(_log_probs(z)[r, t])


def _bug_log10(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-np.log10(_stable_probs(z)[r, t]))


def _bug_log2(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-np.log2(_stable_probs(z)[r, t]))


def _bug_favourite(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-np.log(_stable_probs(z).max(axis=-1)))


def _bug_every_class(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.mean(-_log_probs(z).sum(axis=-1))


def _bug_sum(logits, targets):
    z, t, r = _rows(logits, targets)
    return np.sum(-_log_probs(z)[r, t])


def _bug_mean_over_entries(logits, targets):
    z, t, r = _rows(logits, targets)
    onehot = np.eye(z.shape[-1])[t]
    return np.mean(-onehot * _log_probs(z))


def _bug_per_row(logits, targets):
    if np.ndim(logits) == 1:
        return -_log_probs(logits)[targets]
    z, t, r = _rows(logits, targets)
    return -_log_probs(z)[r, t]


def _bug_square(logits, targets):
    return -_log_probs(logits)[..., targets]


def _bug_square_mean(logits, targets):
    return np.mean(-_log_probs(logits)[..., targets])


def _bug_take(logits, targets):
    return np.mean(-np.take(_log_probs(logits), targets))


def _bug_extra_axis(logits, targets):
    z, t, r = _rows(logits, targets)
    return (-_log_probs(z)[r, t]).mean(keepdims=True)


CE_BUGS = {
    "log of a softmax that underflowed": _bug_log_of_softmax,
    "log-sum-exp without the max shift": _bug_lse_no_shift,
    "log of a softmax without the max shift": _bug_naive_softmax,
    "probabilities passed where logits are expected": _bug_probs_as_logits,
    "-log taken of the logits, not of probabilities": _bug_log_of_logits,
    "sign flipped (log p instead of -log p)": _bug_sign,
    "log base 10 instead of the natural log": _bug_log10,
    "log base 2 instead of the natural log": _bug_log2,
    "scored the model's favourite token, not the target": _bug_favourite,
    "-log p summed over every class": _bug_every_class,
    "summed over the batch instead of averaged (forgot the 1/N)": _bug_sum,
    "averaged over every entry instead of every row": _bug_mean_over_entries,
    "per-row losses not averaged": _bug_per_row,
    "a (B, B) matrix from logits[:, targets]": _bug_square,
    "the mean of a (B, B) matrix from logits[:, targets]": _bug_square_mean,
    "np.take without an axis reads the first row": _bug_take,
    "an extra batch axis": _bug_extra_axis,
}


def _onehot(targets, num_classes):
    out = np.zeros((len(targets), num_classes))
    out[np.arange(len(targets)), targets] = 1.0
    return out


SMOOTHING_BUGS = {
    "eps/(V-1) on the other classes instead of eps/V":
        lambda t, v, eps: np.where(_onehot(t, v) == 1, 1 - eps, eps / (v - 1)),
    "eps/V added to the other classes only":
        lambda t, v, eps: np.where(_onehot(t, v) == 1, 1 - eps, eps / v),
    "forgot the (1 - eps) on the one-hot": lambda t, v, eps: _onehot(t, v) + eps / v,
    "eps instead of eps/V on every class": lambda t, v, eps: (1 - eps) * _onehot(t, v) + eps,
    "eps and 1 - eps swapped": lambda t, v, eps: eps * _onehot(t, v) + (1 - eps) / v,
    "eps ignored (a plain one-hot)": lambda t, v, eps: _onehot(t, v),
    "shape (V, B) instead of (B, V)": lambda t, v, eps: ((1 - eps) * _onehot(t, v) + eps / v).T,
}


def test_every_mistake_has_buggy_code():
    """Each catalogued Mistake is exercised by learner-style buggy code below."""
    assert {m.name for m in check.MISTAKES} == set(CE_BUGS)
    assert {m.name for m in check.SMOOTHING_MISTAKES} == set(SMOOTHING_BUGS)
    assert all("§3." in m.explanation for m in check.MISTAKES + check.SMOOTHING_MISTAKES)


@pytest.mark.parametrize("name", list(CE_BUGS))
def test_cross_entropy_mistake_is_named(name):
    """The buggy code fails the check, and at least one case names exactly this mistake."""
    for seed in SEEDS:
        messages = check.cross_entropy.failures(CE_BUGS[name], seed=seed)
        assert messages, f"{name}: passes every case"
        assert any(f": {name}. " in m for m in messages), f"{name} not named:\n" + "\n".join(messages)


@pytest.mark.parametrize("name", list(SMOOTHING_BUGS))
def test_smoothing_mistake_is_named(name):
    """The buggy label smoothing fails the check, and at least one case names exactly this mistake."""
    for seed in SEEDS:
        messages = check.label_smoothed_targets.failures(SMOOTHING_BUGS[name], seed=seed)
        assert messages, f"{name}: passes every case"
        assert any(f": {name}. " in m for m in messages), f"{name} not named:\n" + "\n".join(messages)


@pytest.mark.parametrize(
    "bug, part, mistake",
    [
        (_bug_lse_no_shift, "huge logits", "log-sum-exp without the max shift"),
        (_bug_naive_softmax, "huge logits", "log of a softmax without the max shift"),
        (_bug_log_of_softmax, "huge logits", "log of a softmax that underflowed"),
        (_bug_sum, "batch mean", "summed over the batch"),
        (_bug_square_mean, "batch mean", "the mean of a (B, B) matrix"),
        (_bug_probs_as_logits, "ordinary logits", "probabilities passed where logits are expected"),
    ],
)
def test_part_feedback_names_the_mistake_at_the_first_failure(bug, part, mistake):
    """What a test cell prints (its first failure) already names the right mistake."""
    with pytest.raises(CheckFailure, match=mistake.replace("(", r"\(").replace(")", r"\)")):
        check.cross_entropy(bug, part=part, seed=0)


@pytest.mark.parametrize("bug", [_bug_sum, _bug_square_mean, _bug_take, _bug_lse_no_shift, _bug_log_of_softmax])
def test_mistakes_of_one_skill_keep_the_other_parts(bug, capsys):
    """A batch-only or stability-only mistake still passes the parts that do not test that skill."""
    passed = 0
    for part in check.cross_entropy.parts:
        try:
            check.cross_entropy(bug, part=part, seed=1)
            passed += 1
        except CheckFailure:
            pass
    assert passed == 2


# -- quiz ----------------------------------------------------------------------------------------------


def test_quiz_grades_and_explains():
    """Right answers pass; a wrong one fails with that option's explanation; a missing one is named."""
    for qid, question in check.quiz.questions.items():
        check.quiz.check({qid: question.correct}, qid)
    with pytest.raises(CheckFailure, match="one bit"):
        check.quiz.check({"q1": "c"}, "q1")
    with pytest.raises(CheckFailure, match="unanswered"):
        check.quiz.check({}, "q2")
    assert 4 <= len(check.quiz.questions) <= 8
    assert all(len(q.options) >= 3 and all(o.explanation for o in q.options) for q in check.quiz.questions.values())


def test_quiz_numbers_are_right():
    """The figures quoted in the quiz explanations are recomputed here."""
    assert -np.log(0.5) == pytest.approx(0.693, abs=5e-4)
    assert -np.log(0.01) == pytest.approx(4.6, abs=0.01)
    z = np.array([3.0, 1.0, 0.0])
    assert float(ltl.cross_entropy(z, 1)) == pytest.approx(2.170, abs=5e-4)
    assert float(ltl.cross_entropy(ltl.softmax(z), 1)) == pytest.approx(1.387, abs=5e-4)
    np.testing.assert_allclose(ltl.label_smoothed_targets(np.array([0]), 4, 0.1), [[0.925, 0.025, 0.025, 0.025]])
    assert -np.log(1e-9) == pytest.approx(20.7, abs=0.05)
    assert 0.1 * -np.log(1e-9) == pytest.approx(2.0, abs=0.1)
    assert np.isinf(ltl.kl_divergence(np.array([0.5, 0.5]), np.array([1.0, 0.0])))


def test_quiz_widget_gives_instant_feedback():
    """Picking an option in the widget shows its explanation and updates the answers line."""
    box = check.quiz.widget()
    first = box.children[0]
    first.children[1].value = "a"
    assert "Not quite" in first.children[2].value
    first.children[1].value = "b"
    assert "Right" in first.children[2].value
    assert '"q1": \'b\'' in box.children[-1].value
