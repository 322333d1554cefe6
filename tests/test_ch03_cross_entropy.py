"""Chapter 3: the explorer's numbers, the worked figures, and the checks' cases beyond the generic suite.

The generic suite runs the solution, the solution in float64 and the library on every part; here
the standard float32 formula ``logsumexp - z[target]`` runs on every case cast to float32, other
correct formulas pass, and the old catalogue's per-row submission is named by both its mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.chapter import load
from logits_to_loss.checker import Case, CheckFailure
from logits_to_loss.explorers.cross_entropy import CrossEntropyExplorer
from logits_to_loss.explorers.svg import element, label

CHAPTER = load("03-cross-entropy")
CE, SMOOTHING = CHAPTER.cross_entropy, CHAPTER.label_smoothed_targets
FAIR_DRAWS = 10_000
VARIANT_DRAWS = 1_000


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


def test_explorer_draws_the_point_and_highlights_the_target():
    """The point sits on the -log p curve at (p(target), loss), and the target's bar has its own colour."""
    explorer = CrossEntropyExplorer()
    state = explorer.update(target="dog")
    curve, point = explorer.figure.plots[1], element(explorer.svg, "point-0")
    assert float(point.get("cx")) == pytest.approx(curve.sx(state["target_prob"]), abs=0.1)
    assert float(point.get("cy")) == pytest.approx(curve.sy(state["loss"]), abs=0.1)
    assert element(explorer.svg, "bar-1").get("fill") != element(explorer.svg, "bar-0").get("fill")
    assert f"loss = {state['loss']:.3f}" in label(explorer.svg, "note")


def test_explorer_loss_stays_finite_at_the_slider_extremes():
    """With 'mat' at -6 and the others at +6 the loss is exact (logsumexp - z_y), and the axis makes room."""
    explorer = CrossEntropyExplorer()
    state = explorer.update(mat=-6.0, dog=6.0, floor=6.0, car=6.0)
    assert state["loss"] == pytest.approx(12.0 + np.log(3 + np.exp(-12.0)))
    assert explorer.figure.plots[1].ylim[1] > state["loss"]


def test_explorer_fits_a_narrow_notebook():
    """Every control is at most 300 px wide with its value shown, and the figure is wide rather than tall."""
    explorer = CrossEntropyExplorer()
    box = explorer.widget()
    panel, view = box.children
    for control in panel.children:
        assert int(control.layout.width.removesuffix("px")) <= 300
        assert control.style.description_width == "initial"
    width, height = explorer.figure.width, explorer.figure.height
    assert height / width < 0.5 and height <= 330
    assert box.layout.flex_flow == "row wrap" and view.layout.min_width == "0"  # the figure shrinks to fit
    assert "width:100%" in explorer.svg


def test_explorer_widget_follows_the_controls():
    """The ipywidgets box is built once; moving the target dropdown redraws the one HTML view."""
    explorer = CrossEntropyExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    view = box.children[1]
    before = view.value
    box.children[0].children[4].value = "floor"  # the target dropdown
    assert explorer.state["target"] == "floor" and view.value != before


def test_explorer_refuses_unknown_controls_and_targets():
    """update() names the valid controls, and an unknown target token is refused."""
    with pytest.raises(ValueError, match="unknown control"):
        CrossEntropyExplorer().update(cow=1.0)
    with pytest.raises(ValueError, match="target must be one of"):
        CrossEntropyExplorer().update(target="cow")


# -- the worked figures of the notebook -----------------------------------------------------------------


def test_worked_losses():
    """[3, 1, 0] costs 2.170 (reship) and 0.170 (refund); [1, 0, -2] 1.349 and 0.349; the batch mean 0.896."""
    z = np.array([3.0, 1.0, 0.0])
    assert float(ltl.cross_entropy(z, 1)) == pytest.approx(2.170, abs=5e-4)
    assert float(ltl.cross_entropy(z, 0)) == pytest.approx(0.170, abs=5e-4)
    assert float(ltl.cross_entropy(z + 997.0, 1)) == pytest.approx(2.170, abs=5e-4)
    z2 = np.array([1.0, 0.0, -2.0])
    assert float(ltl.cross_entropy(z2, 1)) == pytest.approx(1.349, abs=5e-4)
    assert float(ltl.cross_entropy(z2, 0)) == pytest.approx(0.349, abs=5e-4)
    batch, targets = np.stack([z, z2, z]), np.array([1, 0, 0])
    assert float(ltl.cross_entropy(batch, targets)) == pytest.approx(0.896, abs=5e-4)
    assert float(ltl.cross_entropy(batch, targets, reduction="sum")) == pytest.approx(2.689, abs=5e-4)


def test_probabilities_passed_as_logits():
    """Softmax outputs passed as logits give 1.387 instead of 2.170, and a certain model still pays 0.551."""
    assert float(ltl.cross_entropy(ltl.softmax(np.array([3.0, 1.0, 0.0])), 1)) == pytest.approx(1.387, abs=5e-4)
    assert float(ltl.cross_entropy(ltl.softmax(np.array([0.0, 20.0, 0.0])), 1)) == pytest.approx(0.551, abs=5e-4)


def test_label_smoothing_is_a_mixture_of_two_cross_entropies():
    """(1 - eps) CE(y, p) + eps CE(u, p) equals the smoothed loss: 0.6327 on the cat example, any logits too."""
    rng = np.random.default_rng(3)
    cases = [(np.array([2.0, 1.0, 0.5, -1.0]), np.array(0), 0.1)]
    cases += [(rng.normal(0, 3, size=(5, 7)), rng.integers(0, 7, size=5), rng.uniform(0, 1)) for _ in range(20)]
    for logits, targets, eps in cases:
        uniform = np.full(logits.shape, 1 / logits.shape[-1])  # (..., V) u
        mixture = (1 - eps) * ltl.cross_entropy(logits, targets) + eps * ltl.cross_entropy(logits, uniform)
        assert mixture == pytest.approx(ltl.cross_entropy(logits, targets, label_smoothing=eps), rel=1e-12)
    assert float(ltl.cross_entropy(cases[0][0], 0, label_smoothing=0.1)) == pytest.approx(0.6327, abs=5e-5)


# -- the cases --------------------------------------------------------------------------------------


def test_huge_part_breaks_every_unshifted_recipe():
    """Every case of 'huge logits' makes log(sum(exp(z))) non-finite, so only a max shift passes it."""
    for seed in range(20):
        for case in CE.cases("huge logits", seed=seed):
            logits, target = case.args
            with np.errstate(all="ignore"):
                naive = np.log(np.exp(logits).sum()) - logits[target]
            assert not np.isfinite(naive), case.label
            assert np.isfinite(CE.expected(case))


def test_parts_are_separate_skills():
    """The first two parts use single rows (sum = mean there); the batch part uses B >= 2 rows."""
    for part in ("ordinary logits", "huge logits"):
        assert all(c.args[0].ndim == 1 and isinstance(c.args[1], int) for c in CE.cases(part, seed=0))
    assert all(c.args[0].ndim == 2 and len(c.args[0]) >= 2 for c in CE.cases("batch mean", seed=0))


# -- fairness: correct answers written other ways ----------------------------------------------------------


def _ce_logsumexp(logits, targets):
    """The standard formula, computed in the input's dtype (float32 for float32 logits)."""
    z = np.atleast_2d(logits)                                      # (B, V)
    t = np.atleast_1d(targets)                                     # (B,)
    m = z.max(axis=-1, keepdims=True)                              # (B, 1)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))             # (B,) logsumexp
    return (lse - z[np.arange(len(z)), t]).mean()


def _as_float32(case: Case) -> Case:
    logits, targets = case.args
    return Case((logits.astype(np.float32), targets), case.label + ", in float32")


def _failures(exercise, fns, draws, cast=lambda case: case):
    """Every failure of ``fns`` over ``draws`` seeds of every part, each distinct case judged once."""
    failures, seen = [], set()
    for seed in range(draws):
        for part in exercise.parts:
            for case in map(cast, exercise.cases(part, seed)):
                key = (part, case.label, *(a.tobytes() if isinstance(a, np.ndarray) else repr(a) for a in case.args))
                if key in seen:
                    continue
                seen.add(key)
                answer = exercise.expected(case), exercise.tolerance(case)
                for fn in fns:
                    try:
                        exercise.check_case(fn, case, diagnose=False, answer=answer)
                    except CheckFailure as failure:
                        failures.append(f"{fn.__name__}, seed {seed}: {failure}")
    return failures


def test_float32_logsumexp_passes_every_case_in_float32():
    """logsumexp(z) - z[target] passes 10,000 draws of every part with every case cast to float32."""
    failures = _failures(CE, [_ce_logsumexp], FAIR_DRAWS, _as_float32)
    assert not failures, f"{len(failures)} failures, e.g. {failures[:3]}"


def _ce_loop_python_float(logits, targets):
    rows = np.asarray(logits, dtype=np.float64).reshape(-1, np.shape(logits)[-1])
    total = 0.0
    for row, t in zip(rows, np.asarray(targets).reshape(-1)):
        m = max(float(v) for v in row)
        total += m + np.log(sum(np.exp(float(v) - m) for v in row)) - float(row[int(t)])
    return float(total / len(rows))


def _ce_take_along_axis(logits, targets):
    z = np.asarray(logits, dtype=np.float64)  # float64 even for float32 input
    log_probs = z - z.max(axis=-1, keepdims=True)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, np.asarray(targets)[..., None], axis=-1).mean()


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


def test_other_correct_cross_entropies_pass():
    """Loops over Python floats, float64 output, one-hot products, moveaxis and 1-D branches pass 1,000 draws."""
    fns = [_ce_loop_python_float, _ce_take_along_axis, _ce_onehot, _ce_branches]
    failures = _failures(CE, fns, VARIANT_DRAWS)
    assert not failures, f"{len(failures)} failures, e.g. {failures[:3]}"


def _ls_loop(targets, num_classes, eps):
    return np.array([[(1 - eps) * (c == t) + eps / num_classes for c in range(num_classes)] for t in targets])


def _ls_put_float32(targets, num_classes, eps):
    out = np.full((len(targets), num_classes), eps / num_classes, dtype=np.float32)
    np.put_along_axis(out, np.asarray(targets)[:, None], 1 - eps + eps / num_classes, axis=1)
    return out


def test_other_correct_smoothed_targets_pass():
    """A Python loop and a float32 put_along_axis pass 1,000 draws (the tolerance accepts float32 targets)."""
    failures = _failures(SMOOTHING, [_ls_loop, _ls_put_float32], VARIANT_DRAWS)
    assert not failures, f"{len(failures)} failures, e.g. {failures[:3]}"


# -- the old catalogue's per-row submission ---------------------------------------------------------------

PER_ROW_BATCH_OF_ONE = '''
def cross_entropy(logits, targets):
    z = np.atleast_2d(logits)
    t = np.atleast_1d(targets)
    m = z.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=-1))
    return lse - z[np.arange(len(z)), t]
'''


@pytest.mark.parametrize("part, name", [("ordinary logits", "an extra batch axis"),
                                        ("huge logits", "an extra batch axis"),
                                        ("batch mean", "per-row losses not averaged")])
def test_per_row_losses_of_a_batch_of_one_are_named(part, name):
    """Per-row losses after np.atleast_2d: shape (1,) for one row (an extra axis), (B,) for a batch."""
    namespace = {"np": np}
    exec(PER_ROW_BATCH_OF_ONE, namespace)
    for seed in range(20):
        shown = CE.verdict(namespace["cross_entropy"], part, seed)
        assert shown is not None and name in str(shown)
