"""Chapter 4: the gradient explorer's numbers and step button, and the figures the chapter quotes."""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.chapters.gradient import NUMERICAL
from logits_to_loss.explorers.gradient import CLASSES, GradientExplorer
from logits_to_loss.explorers.svg import element, label

RESHIP = 1


def _descent(steps, logits=(3.0, 1.0, 0.0), lr=0.5):
    """``steps`` exact steps z <- z - lr·(p - y) with the library's gradient."""
    z = np.array(logits)
    for _ in range(steps):
        z = z - lr * ltl.cross_entropy_grad(z, RESHIP)
    return z


def test_explorer_shows_the_reship_example():
    """At its defaults: p = 0.844, 0.114, 0.042, gradient p - y = 0.844, -0.886, 0.042, loss 2.170."""
    state = GradientExplorer().state
    np.testing.assert_allclose(state["logits"], [3.0, 1.0, 0.0])
    assert state["target"] == "reship" and state["target_index"] == RESHIP and state["lr"] == 0.5
    np.testing.assert_allclose(state["probs"], [0.844, 0.114, 0.042], atol=5e-4)
    np.testing.assert_allclose(state["grad"], [0.844, -0.886, 0.042], atol=5e-4)
    assert state["loss"] == pytest.approx(2.170, abs=5e-4)
    np.testing.assert_allclose(state["next_logits"], _descent(1))


def test_update_uniform_logits_give_a_third_minus_y():
    """Uniform logits with target escalate and lr 1: grad 1/3 - y, loss ln 3."""
    state = GradientExplorer().update(refund=0.0, reship=0.0, escalate=0.0, target="escalate", lr=1.0)
    np.testing.assert_allclose(state["grad"], [1 / 3, 1 / 3, -2 / 3])
    assert state["loss"] == pytest.approx(np.log(3))
    np.testing.assert_allclose(state["next_logits"], [-1 / 3, -1 / 3, 2 / 3])


def test_steps_give_the_numbers_of_section_4_3():
    """One step: p(reship) 0.114 -> 0.230, loss 2.170 -> 1.469; ten steps: 0.856 and 0.156, the loss falling each time."""
    explorer = GradientExplorer()
    losses = [explorer.state["loss"]] + [explorer.step()["loss"] for _ in range(10)]
    assert losses[1] == pytest.approx(1.469, abs=5e-4)
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert explorer.state["target_prob"] == pytest.approx(0.856, abs=5e-4)
    assert losses[-1] == pytest.approx(0.156, abs=5e-4)
    assert explorer.state["steps"] == 10
    np.testing.assert_allclose(explorer.state["logits"], _descent(10), rtol=1e-12)


def test_three_clicks_show_three_exact_steps_despite_the_slider_echo():
    """Three clicks, each answered by the browser echoing the sliders' rounded values: "steps 3" and exact logits."""
    explorer = GradientExplorer()
    box = explorer.widget()
    controls = box.children[0].children
    sliders, button = controls[: len(CLASSES)], controls[-1]
    assert [s.description for s in sliders] == list(CLASSES) and button.description == "take a step"
    for _ in range(3):
        button.click()
        for slider in sliders:  # what the front end sends back: the value rounded to the slider's step
            slider.value = round(slider.value / slider.step) * slider.step
    assert explorer.state["steps"] == 3
    assert label(explorer.svg, "note").endswith("steps 3")
    np.testing.assert_allclose(explorer.state["logits"], _descent(3), rtol=1e-12)
    np.testing.assert_allclose([s.value for s in sliders], _descent(3), atol=0.005)


def test_moving_a_slider_or_the_target_by_hand_restarts_the_count():
    """A hand-set logit (beyond half a slider step) or another target starts a new descent."""
    explorer = GradientExplorer()
    box = explorer.widget()
    controls = box.children[0].children
    controls[-1].click()
    controls[-1].click()
    controls[1].value = 2.0  # the reship slider
    assert explorer.state["steps"] == 0 and explorer.state["logits"][1] == 2.0
    controls[-1].click()
    controls[3].value = "refund"  # the target dropdown
    assert explorer.state["target"] == "refund" and explorer.state["steps"] == 0


def _tip(explorer, key: str) -> float:
    """The pixel height of an arrow's tip: the last corner of its head."""
    head = element(explorer.svg, key).find("{http://www.w3.org/2000/svg}polygon")
    return float(head.get("points").split()[-1].split(",")[1])


def test_arrows_point_from_p_to_the_target():
    """The probability arrows are -(p - y), so each ends on the one-hot target; the logit arrows are -lr·(p - y)."""
    explorer = GradientExplorer()
    state = explorer.update(lr=0.25)
    logits, probs = explorer.figure.plots
    for i, y in enumerate(np.eye(3)[RESHIP]):
        assert _tip(explorer, f"grad-{i}") == pytest.approx(probs.sy(y), abs=0.1)
    for i in (0, 1):  # the escalate step is shorter than an arrow head, so it is left out
        assert _tip(explorer, f"step-{i}") == pytest.approx(logits.sy(state["logits"][i] - 0.25 * state["grad"][i]), abs=0.1)


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


def test_central_differences_figures_of_section_4_6():
    """At eps 1e-2 forward differences miss by 6.6e-4 and central ones by 1.5e-6; at 1e-5 central ones by about 2e-11."""
    logits, grad = np.array([3.0, 1.0, 0.0]), ltl.cross_entropy_grad(np.array([3.0, 1.0, 0.0]), RESHIP)

    def loss(z):
        return ltl.cross_entropy(z, RESHIP)

    forward = np.array([(loss(logits + 1e-2 * e) - loss(logits)) / 1e-2 for e in np.eye(3)])
    assert np.abs(forward - grad).max() == pytest.approx(6.6e-4, rel=0.05)
    assert np.abs(ltl.numerical_gradient(loss, logits, eps=1e-2) - grad).max() == pytest.approx(1.5e-6, rel=0.05)
    assert np.abs(ltl.numerical_gradient(loss, logits) - grad).max() < 1e-10


def test_rounding_tolerance_sits_between_rounding_and_truncation():
    """The numerical_gradient tolerance is far above float64 rounding over eps, far below a forward difference's error."""
    for case in NUMERICAL.cases("1-D x", seed=0):
        f, x = case.args
        tol = NUMERICAL.tolerance(case)
        assert 1e-11 < tol < 1e-7, case.label  # rounding ~ u/eps = 2e-11; forward differences miss by ~eps = 1e-5
        assert repr(f).startswith("f = "), "a failure message shows f as its formula"


def test_quiz_figures_are_the_chapters():
    """The quiz quotes -0.886, -0.9997, -0.0007 and a ratio of about 1,500: recompute them."""
    assert ltl.cross_entropy_grad(np.array([3.0, 1.0, 0.0]), RESHIP)[RESHIP] == pytest.approx(-0.886, abs=5e-4)
    z, y = np.array([8.0, 0.0, 0.0]), np.eye(3)[RESHIP]
    p = ltl.softmax(z)
    squared = p * ((p - y) - p @ (p - y))  # the softmax Jacobian times d(squared error)/dp
    ce = ltl.cross_entropy_grad(z, RESHIP)
    assert ce[RESHIP] == pytest.approx(-0.9997, abs=5e-5)
    assert squared[RESHIP] == pytest.approx(-0.0007, abs=5e-5)
    assert ce[RESHIP] / squared[RESHIP] == pytest.approx(1500, rel=0.01)
