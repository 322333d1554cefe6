"""Chapter 1: the softmax explorer shows the worked example and follows its sliders."""

from __future__ import annotations

import numpy as np
import pytest

from logits_to_loss.explorers.softmax import SoftmaxExplorer
from logits_to_loss.explorers.svg import element, label


def test_explorer_shows_the_cat_example():
    """At its defaults the explorer shows e^z = 7.389, 2.718, 1.649, 0.368 and p = 0.609, 0.224, 0.136, 0.030."""
    state = SoftmaxExplorer().state
    np.testing.assert_allclose(state["exps"], [7.389, 2.718, 1.649, 0.368], atol=5e-4)
    assert state["total"] == pytest.approx(12.124, abs=5e-4)
    np.testing.assert_allclose(state["probs"], [0.609, 0.224, 0.136, 0.030], atol=5e-4)


def test_explorer_draws_what_it_computes():
    """Moving a slider changes the numbers and the figure: bars of height p = 0.25 labelled 0.250."""
    explorer = SoftmaxExplorer()
    state = explorer.update(mat=0.0, dog=0.0, floor=0.0, car=0.0)
    np.testing.assert_allclose(state["probs"], 0.25)
    probs = explorer.figure.plots[2]
    bar = element(explorer.svg, "probabilities-2")
    assert float(bar.get("height")) == pytest.approx(probs.sy(0.0) - probs.sy(0.25), abs=0.1)
    assert label(explorer.svg, "p-2") == "0.250"
    assert explorer.svg.startswith("<svg") and explorer.panels == 3


def test_explorer_temperature_flattens():
    """T = 2 on [3, 1, 0, -inf-ish] matches softmax(z / 2); T divides the logits."""
    state = SoftmaxExplorer().update(mat=3.0, dog=1.0, floor=0.0, car=-5.0, temperature=2.0)
    z = np.array([3.0, 1.0, 0.0, -5.0]) / 2
    np.testing.assert_allclose(state["probs"], np.exp(z) / np.exp(z).sum())


def test_explorer_widget_is_built_once_and_follows_sliders():
    """The ipywidgets box reuses one HTML view whose SVG changes when a slider moves."""
    explorer = SoftmaxExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    view = box.children[1]
    before = view.value
    box.children[0].children[0].value = -4.0  # the mat slider
    assert explorer.state["logits"][0] == -4.0 and box.children[1] is view and view.value != before
    assert view.value == explorer.svg


def test_unknown_control_is_refused():
    """update() names the valid controls when given a wrong one."""
    with pytest.raises(ValueError, match="unknown control"):
        SoftmaxExplorer().update(cow=1.0)
