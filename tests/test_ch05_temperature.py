"""Chapter 5: the worked figures, the statistical check of sample_next, and the temperature explorer."""

from __future__ import annotations

import numpy as np
import pytest

from logits_to_loss import softmax, top_p_filter
from logits_to_loss.chapters import temperature as ch05
from logits_to_loss.checker import Case, CheckFailure
from logits_to_loss.explorers.svg import element
from logits_to_loss.explorers.temperature import LOGITS, TOKENS, TemperatureExplorer

SAMPLE_NEXT = ch05.SAMPLE_NEXT
SEEDS = 30


def test_temperature_figures_of_the_support_example():
    """[3, 1, 0] gives [0.980, 0.018, 0.002] at T = 0.5, [0.844, 0.114, 0.042] at T = 1, [0.629, 0.231, 0.140] at T = 2."""
    for temperature, expected in ((0.5, [0.980, 0.018, 0.002]), (1.0, [0.844, 0.114, 0.042]), (2.0, [0.629, 0.231, 0.140])):
        np.testing.assert_allclose(ch05.softmax_with_temperature(ch05.SUPPORT, temperature), expected, atol=5e-4)


def test_order_example_of_section_5_7():
    """On [3, 1, 0], T = 2, p = 0.8: temperature first keeps refund and reship (0.731, 0.269), top-p first only refund."""
    right = softmax(top_p_filter(ch05.SUPPORT / 2.0, 0.8))
    wrong = softmax(top_p_filter(ch05.SUPPORT, 0.8) / 2.0)
    np.testing.assert_allclose(right, [0.731, 0.269, 0.0], atol=5e-4)
    np.testing.assert_array_equal(wrong, [1.0, 0.0, 0.0])


def _gumbel_max(logits, rng, temperature=1.0, top_p=None):
    z = logits / temperature
    if top_p is not None:
        z = top_p_filter(z, top_p)
    return (z + rng.gumbel(size=z.shape)).argmax(axis=-1)  # argmax of z + Gumbel noise ~ softmax(z)


def _row_by_row(logits, rng, temperature=1.0, top_p=None):
    z = logits / temperature
    probs = softmax(z if top_p is None else top_p_filter(z, top_p))
    return np.array([rng.choice(probs.shape[-1], p=row) for row in probs])


@pytest.mark.parametrize("sampler, seeds", [(_gumbel_max, SEEDS), (_row_by_row, 3)], ids=["gumbel-max", "rng.choice"])
def test_any_correct_sampler_passes(sampler, seeds):
    """Samplers unlike the solution (Gumbel-max, rng.choice one row at a time) pass every part on every seed."""
    for part in SAMPLE_NEXT.parts:
        for seed in range(seeds):
            assert SAMPLE_NEXT.verdict(sampler, part, seed) is None, (part, seed)


def test_every_sampling_mistake_is_far_beyond_the_bound():
    """On a fixed case of each part it fails, every catalogued sampling mistake is off by more than 0.1 (the bound is 0.049)."""
    for mistake in SAMPLE_NEXT.mistakes[:5]:
        wrong = mistake.function(SAMPLE_NEXT)
        for part in mistake.parts or SAMPLE_NEXT.parts:
            fixed = [c for c in SAMPLE_NEXT.cases(part, 0) if c.args[1] is ch05.FIXED]
            gaps = [np.abs(SAMPLE_NEXT.observe(SAMPLE_NEXT._outcome(wrong, c), c) - SAMPLE_NEXT.expected(c)).max()
                    for c in fixed]
            assert max(gaps) > 0.1 and ch05.sampling_bound(fixed[0]) == pytest.approx(0.0495, abs=1e-4), (mistake.name, part)


def test_frequencies_reads_token_ids_only():
    """observe turns ids into shares and explains what else it cannot read."""
    case = Case((np.zeros((4, 3)), ch05.FIXED), "four rows")
    np.testing.assert_allclose(ch05.frequencies(np.array([0, 2, 2, 1]), case), [0.25, 0.25, 0.5])
    for wrong, message in ((np.array([0.5, 0.5, 0.0, 0.0]), "integers"), (np.array([0, 3, 1, 1]), "lie in"),
                           (np.array([0, 1]), "one token id per row")):
        with pytest.raises(ValueError, match=message):
            ch05.frequencies(wrong, case)


def test_a_sampler_returning_probabilities_fails():
    """Returning the probabilities instead of token ids is refused, with the reason."""
    failure = SAMPLE_NEXT.verdict(lambda logits, rng, temperature=1.0, top_p=None: softmax(logits), "plain", 0)
    assert isinstance(failure, CheckFailure) and "one token id per row" in str(failure)


def test_learner_top_p_template_is_a_correct_solution():
    """The learner code that the top-p mistakes change one line of passes every part itself."""
    namespace = {"np": np}
    exec(ch05.learner_top_p(), namespace)
    for part in ch05.TOP_P_FILTER.parts:
        for seed in range(SEEDS):
            assert ch05.TOP_P_FILTER.verdict(namespace["top_p_filter"], part, seed) is None


def test_explorer_defaults_show_the_plain_softmax():
    """At T = 1 with every filter off, all eight tokens survive and the distribution is softmax(z)."""
    state = TemperatureExplorer().state
    assert state["kept"].all() and state["kept_mass"] == pytest.approx(1.0)
    np.testing.assert_allclose(state["probs"], softmax(LOGITS))
    assert state["frequencies"] is None


def test_explorer_truncates_after_the_temperature_and_renormalises():
    """T = 0.5 then top-k 3 keeps mat, dog, sofa: softmax(z / 0.5) over those three, the others exactly 0."""
    state = TemperatureExplorer().update(temperature=0.5, top_k=3)
    np.testing.assert_array_equal(state["kept"], np.arange(len(TOKENS)) < 3)
    tempered = np.exp(LOGITS / 0.5)
    np.testing.assert_allclose(state["probs"][:3], tempered[:3] / tempered[:3].sum())
    assert (state["probs"][3:] == 0).all()
    assert state["kept_mass"] == pytest.approx(tempered[:3].sum() / tempered.sum())


def test_explorer_top_p_and_min_p():
    """top-p 0.5 at T = 1 keeps mat and dog (mass before dog 0.41 < 0.5); min-p 0.5 keeps tokens within a factor 2 of mat."""
    explorer = TemperatureExplorer()
    np.testing.assert_array_equal(np.flatnonzero(explorer.update(top_p=0.5)["kept"]), [0, 1])
    state = explorer.update(top_p=1.0, min_p=0.5)
    np.testing.assert_array_equal(state["kept"], LOGITS >= LOGITS.max() + np.log(0.5))


def test_explorer_sample_1000_matches_the_distribution_and_resets():
    """1,000 draws land within 7 standard deviations of the renormalised probabilities; moving a slider clears them."""
    explorer = TemperatureExplorer(seed=3)
    explorer.update(temperature=2.0, top_p=0.9)
    state = explorer.sample()
    probs, frequencies = state["probs"], state["frequencies"]
    assert (frequencies[probs == 0] == 0).all()
    assert (np.abs(frequencies - probs) <= 7 * np.sqrt(probs * (1 - probs) / 1000) + 1e-12).all()
    final = explorer.figure.plots[1]
    for i, f in enumerate(frequencies):  # a diamond's first corner is its top, half its size above the value
        top = float(element(explorer.svg, f"frequency-{i}").get("points").split()[0].split(",")[1])
        assert top + 5 == pytest.approx(final.sy(f), abs=0.1)
    assert explorer.update(temperature=1.0)["frequencies"] is None and "frequency-0" not in explorer.svg


def test_explorer_widget_has_the_sample_button():
    """The widget is built once, with a "sample 1000" button that redraws the same HTML view."""
    explorer = TemperatureExplorer()
    box = explorer.widget()
    assert explorer.widget() is box
    view = box.children[1]
    before = view.value
    explorer.button.click()
    assert explorer.state["frequencies"] is not None and view.value != before
