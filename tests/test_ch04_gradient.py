"""Chapter 4: the gradient explorer's numbers and step button, the fairness and mistake catalogue of the checks, the quiz."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.checker import CheckFailure
from logits_to_loss.checks import gradient as check
from logits_to_loss.explorers.gradient import GradientExplorer

SEEDS = range(5)


# -- explorer ----------------------------------------------------------------------------------------


def test_explorer_shows_the_reship_example():
    """At its defaults: p = 0.844, 0.114, 0.042, gradient p - y = 0.844, -0.886, 0.042, loss 2.170."""
    state = GradientExplorer().state
    np.testing.assert_allclose(state["logits"], [3.0, 1.0, 0.0])
    assert state["target"] == "reship" and state["target_index"] == 1 and state["lr"] == 0.5
    np.testing.assert_allclose(state["probs"], [0.844, 0.114, 0.042], atol=5e-4)
    np.testing.assert_allclose(state["grad"], [0.844, -0.886, 0.042], atol=5e-4)
    np.testing.assert_allclose(state["grad"], state["probs"] - np.eye(3)[1])
    assert state["loss"] == pytest.approx(2.170, abs=5e-4)
    assert state["target_prob"] == pytest.approx(0.1142, abs=5e-5)
    np.testing.assert_allclose(state["next_logits"], [3.0, 1.0, 0.0] - 0.5 * state["grad"])


def test_update_returns_probs_grad_and_loss_headless():
    """update(...) recomputes for new logits, target and lr: uniform logits give grad 1/3 - y and loss ln 3."""
    explorer = GradientExplorer()
    state = explorer.update(refund=0.0, reship=0.0, escalate=0.0, target="escalate", lr=1.0)
    np.testing.assert_allclose(state["probs"], 1 / 3)
    np.testing.assert_allclose(state["grad"], [1 / 3, 1 / 3, -2 / 3])
    assert state["loss"] == pytest.approx(np.log(3))
    np.testing.assert_allclose(state["next_logits"], [-1 / 3, -1 / 3, 2 / 3])


def test_step_lifts_reship_and_cuts_the_loss():
    """One step with lr 0.5 lifts p(reship) 0.114 -> 0.230 and the loss 2.170 -> 1.469, in place."""
    explorer = GradientExplorer()
    fig, bar, arrows = explorer.fig, explorer.prob_bars[1], explorer.prob_arrows
    state = explorer.step()
    np.testing.assert_allclose(state["logits"], [2.5781, 1.4429, -0.0210], atol=5e-5)
    assert state["target_prob"] == pytest.approx(0.230, abs=5e-4)
    assert state["loss"] == pytest.approx(1.469, abs=5e-4)
    assert state["steps"] == 1 and explorer.state is state
    assert explorer.fig is fig and explorer.prob_bars[1] is bar and explorer.prob_arrows is arrows
    assert bar.get_height() == pytest.approx(state["target_prob"])
    assert explorer.png().startswith(b"\x89PNG")


def test_steps_keep_lowering_the_loss():
    """Ten steps reach p(reship) 0.856 and loss 0.156, the numbers of §4.3, each step lowering the loss."""
    explorer = GradientExplorer()
    losses = [explorer.state["loss"]] + [explorer.step()["loss"] for _ in range(10)]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert explorer.state["target_prob"] == pytest.approx(0.856, abs=5e-4)
    assert losses[-1] == pytest.approx(0.156, abs=5e-4)
    assert explorer.state["steps"] == 10


def test_moving_a_slider_restarts_the_step_count():
    """A hand-set logit starts a new descent; the step count goes back to 0."""
    explorer = GradientExplorer()
    explorer.step()
    explorer.step()
    assert explorer.state["steps"] == 2
    assert explorer.update(reship=2.0)["steps"] == 0


def test_arrows_point_from_p_to_the_target():
    """The probability arrows are -(p - y), so each ends at the one-hot target; the logit arrows are -lr (p - y)."""
    explorer = GradientExplorer()
    state = explorer.update(lr=0.25)
    np.testing.assert_allclose(explorer.prob_arrows.V, -state["grad"])
    np.testing.assert_allclose(explorer.prob_arrows.get_offsets()[:, 1] + explorer.prob_arrows.V, np.eye(3)[1])
    np.testing.assert_allclose(explorer.logit_arrows.V, -0.25 * state["grad"])
    np.testing.assert_allclose(explorer.logit_arrows.get_offsets()[:, 1], state["logits"])


def test_widget_has_a_step_button_that_moves_the_sliders():
    """The box is built once, ends its controls with a Button; a click steps and the sliders follow."""
    import ipywidgets as w

    explorer = GradientExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    controls = box.children[0].children
    assert isinstance(controls[-1], w.Button) and controls[-1].description == "take a step"
    before = explorer._image.value
    controls[-1].click()
    assert explorer.state["steps"] == 1 and explorer._image.value != before
    assert controls[0].value == pytest.approx(explorer.state["logits"][0])
    assert controls[1].value == pytest.approx(explorer.state["logits"][1])
    controls[3].value = "refund"  # the target dropdown
    assert explorer.state["target"] == "refund" and explorer.state["steps"] == 0


def test_step_stays_within_the_slider_range():
    """A huge learning rate cannot push a logit past the sliders' ±10."""
    explorer = GradientExplorer()
    explorer.update(lr=3.0, refund=9.9, reship=-9.9)
    for _ in range(5):
        state = explorer.step()
    assert np.all(np.abs(state["logits"]) <= 10.0)


def test_explorer_refuses_unknown_controls_targets_and_rates():
    """update() names the valid controls; an unknown target or a non-positive lr is refused."""
    with pytest.raises(ValueError, match="unknown control"):
        GradientExplorer().update(cow=1.0)
    with pytest.raises(ValueError, match="target must be one of"):
        GradientExplorer().update(target="cow")
    with pytest.raises(ValueError, match="lr must be a positive"):
        GradientExplorer().update(lr=0.0)


# -- the checks: references and cases -----------------------------------------------------------------


def test_references_are_the_library_defaults():
    """The references are ltl.cross_entropy_grad (batch mean) and ltl.numerical_gradient (eps 1e-5)."""
    assert check.cross_entropy_grad.reference is ltl.cross_entropy_grad
    assert check.numerical_gradient.reference is ltl.numerical_gradient
    row = check.cross_entropy_grad.reference(np.array([3.0, 1.0, 0.0]), 1)
    np.testing.assert_allclose(row, [0.8438, -0.8858, 0.0420], atol=5e-5)
    batch = np.array([[3.0, 1.0, 0.0], [1.0, 0.0, -2.0]])
    np.testing.assert_allclose(
        check.cross_entropy_grad.reference(batch, np.array([1, 0])), (ltl.softmax(batch) - np.eye(3)[[1, 0]]) / 2
    )


def test_huge_part_breaks_every_unshifted_softmax():
    """Every case of 'huge logits' overflows exp(z) (or underflows a whole row under one global max)."""
    for seed in SEEDS:
        for case in check.cross_entropy_grad.cases("huge logits", seed=seed):
            logits, targets = case.args
            with np.errstate(all="ignore"):
                naive = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
                global_max = np.exp(logits - logits.max())
                global_max = global_max / global_max.sum(axis=-1, keepdims=True)
            assert not (np.isfinite(naive).all() and np.isfinite(global_max).all()), case.label
            assert np.isfinite(check.cross_entropy_grad.reference(*case.args)).all()


def test_batch_part_has_a_square_batch_first_and_both_b_less_and_greater_than_v():
    """The square batch (transposed one-hot) comes first; other batches tell /B from /V."""
    cases = check.cross_entropy_grad.cases("batch mean", seed=0)
    assert cases[0].args[0].shape == (3, 3)
    shapes = [c.args[0].shape for c in cases[1:]]
    assert any(b < v for b, v in shapes) and any(b > v for b, v in shapes)


def test_test_functions_print_their_formula():
    """A numerical_gradient failure names f by its formula, not as a lambda."""
    f, x = check.numerical_gradient.cases("1-D x", seed=0)[1].args
    assert repr(f) == "f = cross_entropy(z, label reship)"
    assert f(x) == pytest.approx(2.1698, abs=5e-5)


def test_tolerance_separates_forward_from_central_differences():
    """Forward differences miss by more than rtol on every case of the first part; central ones do not."""
    for case in check.numerical_gradient.cases("1-D x", seed=0):
        f, x = case.args
        central = ltl.numerical_gradient(f, x)
        forward = check.GRADCHECK_MISTAKES[0].wrong(f, x)
        assert not np.allclose(forward, central, rtol=check.numerical_gradient.rtol, atol=check.numerical_gradient.atol)


# -- fairness: correct answers written differently pass every part -------------------------------------


def _grad_branches(logits, targets):
    if logits.ndim == 1:
        e = np.exp(logits - logits.max())
        p = e / e.sum()
        p[targets] -= 1
        return p
    m = logits.max(axis=1)
    e = np.exp(logits - m[:, None])
    p = e / e.sum(axis=1)[:, None]
    p[np.arange(len(targets)), targets] -= 1
    return p / len(targets)


def _grad_loop_python_floats(logits, targets):
    rows = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    ts = np.asarray(targets).reshape(-1)
    out = []
    for row, t in zip(rows, ts):
        m = max(float(v) for v in row)
        exps = [np.exp(float(v) - m) for v in row]
        total = sum(exps)
        out.append([e / total - (1.0 if k == int(t) else 0.0) for k, e in enumerate(exps)])
    return (np.array(out) / len(rows)).reshape(np.shape(logits))


def _grad_moveaxis_float32(logits, targets):
    z = np.moveaxis(logits, -1, 0)  # (V, ...) class axis first
    e = np.exp(z - z.max(axis=0))
    p = np.moveaxis(e / e.sum(axis=0), 0, -1)
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, np.asarray(targets)[..., None], 1.0, axis=-1)
    rows = p.size // p.shape[-1]
    return ((p - onehot) / rows).astype(np.float32)  # float32 even for float64 input


def _grad_log_softmax(logits, targets):
    z = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    t = np.atleast_1d(targets)
    log_p = z - z.max(axis=-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    grad = np.exp(log_p)
    grad[np.arange(len(z)), t] -= 1.0
    return (grad / len(z)).reshape(np.shape(logits))


@pytest.mark.parametrize(
    "fn", [_grad_branches, _grad_loop_python_floats, _grad_moveaxis_float32, _grad_log_softmax],
    ids=lambda f: f.__name__.removeprefix("_grad_"),
)
def test_correct_gradients_pass_every_part(fn, capsys):
    """1-D branches, loops of Python floats, moveaxis with float32 output and log-softmax all pass."""
    for seed in SEEDS:
        check.cross_entropy_grad(fn, seed=seed)
    assert "✓ cross_entropy_grad" in capsys.readouterr().out


def _num_copies(f, x, eps=1e-5):
    grad = np.zeros(np.shape(x))
    for i in np.ndindex(np.shape(x)):
        up = np.array(x, dtype=float)
        down = np.array(x, dtype=float)
        up[i] = up[i] + eps
        down[i] = down[i] - eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _num_save_restore(f, x, eps=1e-5):
    """The cs231n pattern: bump x itself, then put the exact old value back."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + eps
        up = f(x)
        x[ix] = old - eps
        down = f(x)
        x[ix] = old
        grad[ix] = (up - down) / (2 * eps)
        it.iternext()
    return grad


def _num_flat_onehot(f, x, eps=1e-5):
    flat = x.reshape(-1)
    grad = []
    for i in range(flat.size):
        step = np.zeros(flat.size)
        step[i] = eps
        grad.append((f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / 2 / eps)
    return np.array(grad).reshape(x.shape)


def _num_list_comprehension(f, x, eps=1e-5):
    def bumped(i, s):
        out = x.copy()
        out[i] += s
        return out

    return np.array([(f(bumped(i, eps)) - f(bumped(i, -eps))) / (2 * eps) for i in np.ndindex(x.shape)]).reshape(x.shape)


@pytest.mark.parametrize(
    "fn", [_num_copies, _num_save_restore, _num_flat_onehot, _num_list_comprehension],
    ids=lambda f: f.__name__.removeprefix("_num_"),
)
def test_correct_numerical_gradients_pass_every_part(fn, capsys):
    """Copies, save-and-restore in place, a flat one-hot step and a comprehension all pass."""
    for seed in SEEDS:
        check.numerical_gradient(fn, seed=seed)
    assert "✓ numerical_gradient" in capsys.readouterr().out


# -- every catalogued mistake is recognised in learner-written buggy code ------------------------------


def _probs(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rows(z):
    return 1 if z.ndim == 1 else len(z)


def _onehot(z, t):
    return np.eye(z.shape[-1])[t]


def _bug_unshifted(z, t):
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True) - _onehot(z, t)) / _rows(z)


def _bug_global_max(z, t):
    e = np.exp(z - z.max())
    return (e / e.sum(axis=-1, keepdims=True) - _onehot(z, t)) / _rows(z)


def _bug_sign(z, t):
    return (_onehot(z, t) - _probs(z)) / _rows(z)


def _bug_logits(z, t):
    return (z - _onehot(z, t)) / _rows(z)


def _bug_no_onehot(z, t):
    return _probs(z) / _rows(z)


def _bug_no_mean(z, t):
    return _probs(z) - _onehot(z, t)


def _bug_over_v(z, t):
    return (_probs(z) - _onehot(z, t)) / z.shape[-1]


def _bug_mean_entries(z, t):
    return (_probs(z) - _onehot(z, t)) / z.size


def _bug_onehot_axis(z, t):
    if z.ndim == 1:
        return _probs(z) - _onehot(z, t)
    return (_probs(z) - np.eye(z.shape[-1])[:, t]) / len(z)  # (V, B): only a square batch broadcasts


def _bug_axis0(z, t):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return (e / e.sum(axis=0, keepdims=True) - _onehot(z, t)) / _rows(z)


def _bug_extra_axis(z, t):
    z2, t2 = np.atleast_2d(z), np.atleast_1d(t)
    return (_probs(z2) - _onehot(z2, t2)) / len(z2)


GRAD_BUGS = {
    "softmax without the max shift": _bug_unshifted,
    "one global max for the whole batch": _bug_global_max,
    "sign flipped (y - p instead of p - y)": _bug_sign,
    "logits used in place of probabilities (z - y)": _bug_logits,
    "the one-hot target was never subtracted": _bug_no_onehot,
    "forgot the 1/B of the batch mean": _bug_no_mean,
    "divided by the number of classes V": _bug_over_v,
    "divided by B·V instead of B": _bug_mean_entries,
    "one-hot on the wrong axis": _bug_onehot_axis,
    "softmax over the batch axis": _bug_axis0,
    "an extra batch axis": _bug_extra_axis,
}


def _central(f, x, eps, lo, hi, width):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += hi * eps
        down[i] -= lo * eps
        grad[i] = (f(up) - f(down)) / (width * eps)
    return grad


def _bug_in_place(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        down = f(x)
        x[i] += eps  # "restores" x, but rounding can leave it off by one ulp
        grad[i] = (up - down) / (2 * eps)
    return grad


def _bug_every_entry(f, x, eps=1e-5):
    return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))


def _bug_rows(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def _bug_flat(f, x, eps=1e-5):
    return _central(f, x, eps, 1, 1, 2).ravel()


NUMGRAD_BUGS = {
    "forward differences instead of central": lambda f, x, eps=1e-5: _central(f, x, eps, 0, 1, 1),
    "backward differences instead of central": lambda f, x, eps=1e-5: _central(f, x, eps, 1, 0, 1),
    "forgot the factor 2 in central differences": lambda f, x, eps=1e-5: _central(f, x, eps, 1, 1, 1),
    "ignored the eps argument": lambda f, x, eps=1e-5: _central(f, x, 1e-5, 1, 1, 2),
    "a huge eps": lambda f, x, eps=1e-5: _central(f, x, 0.01, 1, 1, 2),
    "bumped every entry at once": _bug_every_entry,
    "bumped a whole row at a time": _bug_rows,
    "returned a flat array, not x's shape": _bug_flat,
}


def test_every_mistake_has_buggy_code():
    """Each catalogued Mistake is exercised by learner-style buggy code below, and points to a §4 section."""
    assert {m.name for m in check.MISTAKES} == set(GRAD_BUGS)
    assert {m.name for m in check.GRADCHECK_MISTAKES} == set(NUMGRAD_BUGS)
    assert all("§4." in m.explanation for m in check.MISTAKES + check.GRADCHECK_MISTAKES)


@pytest.mark.parametrize("name", list(GRAD_BUGS))
def test_gradient_mistake_is_named(name):
    """The buggy gradient fails the check, and at least one case names exactly this mistake."""
    for seed in SEEDS:
        messages = check.cross_entropy_grad.failures(GRAD_BUGS[name], seed=seed)
        assert messages, f"{name}: passes every case"
        assert any(f": {name}. " in m for m in messages), f"{name} not named:\n" + "\n".join(messages)


@pytest.mark.parametrize("name", list(NUMGRAD_BUGS))
def test_numerical_gradient_mistake_is_named(name):
    """The buggy finite differences fail the check, and at least one case names exactly this mistake."""
    for seed in SEEDS:
        messages = check.numerical_gradient.failures(NUMGRAD_BUGS[name], seed=seed)
        assert messages, f"{name}: passes every case"
        assert any(f": {name}. " in m for m in messages), f"{name} not named:\n" + "\n".join(messages)


def _bug_not_restored(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        grad[i] = (up - f(x)) / (2 * eps)
    return grad


@pytest.mark.parametrize("bug", [_bug_not_restored, _bug_in_place], ids=["not-restored", "restored-by-adding"])
def test_changing_x_in_place_is_explained_for_x(bug):
    """Leaving x changed, even by rounding, fails with a message about x and the exact restore."""
    with pytest.raises(CheckFailure, match="x changed in place") as failure:
        check.numerical_gradient(bug, seed=0)
    assert "x[i] = old" in str(failure.value) and "§4.6" in str(failure.value)


@pytest.mark.parametrize(
    "bug, part, mistake",
    [
        (_bug_unshifted, "huge logits", "softmax without the max shift"),
        (_bug_sign, "single row", "sign flipped"),
        (_bug_no_mean, "batch mean", "forgot the 1/B"),
        (_bug_onehot_axis, "batch mean", "one-hot on the wrong axis"),
        (_bug_over_v, "single row", "divided by the number of classes V"),
    ],
)
def test_gradient_part_feedback_names_the_mistake_at_the_first_failure(bug, part, mistake):
    """What a test cell prints (its first failure) already names the right mistake."""
    with pytest.raises(CheckFailure, match=mistake.replace("(", r"\(").replace(")", r"\)")):
        check.cross_entropy_grad(bug, part=part, seed=0)


@pytest.mark.parametrize(
    "name, part",
    [
        ("forward differences instead of central", "1-D x"),
        ("forgot the factor 2 in central differences", "1-D x"),
        ("a huge eps", "1-D x"),
        ("bumped a whole row at a time", "any shape"),
        ("ignored the eps argument", "eps argument"),
    ],
)
def test_numerical_gradient_part_feedback_names_the_mistake_at_the_first_failure(name, part):
    """What a numerical_gradient test cell prints already names the right mistake."""
    with pytest.raises(CheckFailure, match=name):
        check.numerical_gradient(NUMGRAD_BUGS[name], part=part, seed=0)


def test_shortcuts_are_refused():
    """Calling the reference or torch fails both exercises as not written from scratch."""
    with pytest.raises(CheckFailure, match="from scratch"):
        check.numerical_gradient(lambda f, x, eps=1e-5: ltl.numerical_gradient(f, x, eps), part="1-D x")
    with pytest.raises(CheckFailure, match="from scratch"):
        check.cross_entropy_grad(lambda z, t: ltl.cross_entropy_grad(z, t), part="single row")


# -- the quiz ------------------------------------------------------------------------------------------


def test_quiz_grades_and_explains():
    """A right answer passes, a wrong one fails with that option's explanation; seven questions."""
    assert len(check.quiz.questions) == 7
    check.quiz.check({"q1": "a"}, "q1")
    with pytest.raises(CheckFailure, match="p_reship alone"):
        check.quiz.check({"q1": "b"}, "q1")
    with pytest.raises(CheckFailure, match="SUM of the losses"):
        check.quiz.check({"q4": "a"}, "q4")


def test_quiz_numbers_are_the_chapters():
    """q1, q7 quote -0.886, -0.9997, -0.0007 and a ratio of about 1,500: recompute them."""
    assert ltl.cross_entropy_grad(np.array([3.0, 1.0, 0.0]), 1)[1] == pytest.approx(-0.886, abs=5e-4)
    z, y = np.array([8.0, 0.0, 0.0]), np.eye(3)[1]
    p = ltl.softmax(z)
    squared = p * ((p - y) - p @ (p - y))
    ce = ltl.cross_entropy_grad(z, 1)
    assert ce[1] == pytest.approx(-0.9997, abs=5e-5)
    assert squared[1] == pytest.approx(-0.0007, abs=5e-5)
    assert ce[1] / squared[1] == pytest.approx(1500, rel=0.01)
