"""Chapter 6: the explorer's numbers, and the claims the notebook's prose makes about what its cells compute.

The notebook prints its figures live; these tests rerun the same computations (same sources,
seeds and settings) and check the statements made about them in words.
"""

from __future__ import annotations

import numpy as np
import pytest

import logits_to_loss as ltl
from logits_to_loss.explorers.perplexity import MAX_VOCAB, PerplexityExplorer, equal_choices
from logits_to_loss.explorers.svg import element, label


def test_explorer_defaults_match_the_library():
    """At s = 1 over 10 tokens the explorer shows the entropy, bits and e^H of p ∝ 1/rank."""
    state = PerplexityExplorer().state
    p = 1 / np.arange(1, 11)
    p /= p.sum()
    assert state["entropy"] == pytest.approx(ltl.entropy(p))
    assert state["bits"] == pytest.approx(ltl.entropy(p) / np.log(2))
    assert state["perplexity"] == pytest.approx(np.exp(ltl.entropy(p)))


@pytest.mark.parametrize("vocab", [2, 7, MAX_VOCAB])
def test_explorer_uniform_and_sharp_extremes(vocab):
    """Sharpness 0 is uniform (perplexity V, entropy ln V); sharpness 4 over 2 tokens is nearly one choice."""
    explorer = PerplexityExplorer()
    state = explorer.update(sharpness=0.0, vocab=vocab)
    assert state["perplexity"] == pytest.approx(vocab)
    assert state["entropy"] == pytest.approx(np.log(vocab))
    heights, widths = state["heights"], state["widths"]
    assert (widths > 0).sum() == vocab and heights[0] == pytest.approx(1 / vocab)
    assert explorer.update(sharpness=4.0, vocab=2)["perplexity"] < 1.3


def test_equal_choices_has_a_partial_last_bar():
    """k = 2.5 draws two full bars and a half-width one, each of height 1/2.5; their areas sum to 1."""
    heights, widths = equal_choices(2.5)
    np.testing.assert_allclose(widths[:4], [0.8, 0.8, 0.4, 0.0])
    np.testing.assert_allclose(heights[:3], 0.4)
    assert (heights * widths / 0.8).sum() == pytest.approx(1.0)


def test_explorer_draws_the_equal_choices():
    """A uniform distribution over 4 tokens is drawn as 4 choices of height 1/4, and the title says 4.00."""
    explorer = PerplexityExplorer()
    explorer.update(sharpness=0.0, vocab=4)
    choices = explorer.figure.plots[1]
    height = float(element(explorer.svg, "choice-0").get("height"))
    assert height == pytest.approx(choices.sy(0.0) - choices.sy(0.25), abs=0.1)
    assert "4.00" in label(explorer.svg, "perplexity")


def test_scaling_table():
    """The brief's table: losses 2.94 ... 1.75 nats give perplexities 18.9 ... 5.8."""
    losses = [2.94, 2.68, 2.28, 2.18, 1.99, 1.75]
    expected = [18.9, 14.6, 9.8, 8.8, 7.3, 5.8]
    assert [round(ltl.perplexity(loss), 1) for loss in losses] == expected


def test_figures_quoted_in_the_quiz_and_the_feedback():
    """The quiz's options and the mistakes' explanations quote these values."""
    assert ltl.perplexity(np.log(50)) == pytest.approx(50) and np.log(50) == pytest.approx(3.91, abs=5e-3)
    assert 2 ** np.log(50) == pytest.approx(15, abs=0.1)  # "about 15"
    assert ltl.perplexity(np.array([0.1, 4.1])) == pytest.approx(8.2, abs=0.05)
    assert np.exp([0.1, 4.1]).mean() == pytest.approx(30.7, abs=0.05) and np.exp(4.2) == pytest.approx(66.7, abs=0.05)
    assert ltl.bits_per_character(700.0, 1000) == pytest.approx(1.01, abs=5e-3)
    assert 700 * np.log(2) / 1000 == pytest.approx(0.49, abs=5e-3)
    assert np.log(2) == pytest.approx(0.693, abs=5e-4) and 1 / np.log(2) == pytest.approx(1.44, abs=5e-3)


# -- the word source (§6.6, §6.11) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def words():
    source = ltl.MarkovSource.words()
    train, heldout = ltl.train_heldout_split(source.sample(60_000, np.random.default_rng(0)), 0.2)
    train = train[: train.rindex(" ") + 1]
    heldout = heldout[heldout.index(" ") + 1 : heldout.rindex(" ") + 1]
    symbol = {word: chr(0x100 + i) for i, word in enumerate(source.symbols)}

    def as_word_tokens(text):
        return "".join(symbol[word] for word in text.split())

    char_losses = ltl.CharNGram.fit(train, order=3, k=0.1).losses(heldout)
    word_losses = ltl.CharNGram.fit(as_word_tokens(train), order=2, k=0.1).losses(as_word_tokens(heldout))
    return source, train, heldout, char_losses, word_losses


def test_per_token_and_per_character_verdicts_disagree(words):
    """§6.6: the character model has the smaller per-token perplexity, the word model far fewer bits per character."""
    _, _, heldout, char_losses, word_losses = words
    assert ltl.perplexity(char_losses) < ltl.perplexity(word_losses)
    char_bpc = ltl.bits_per_character(char_losses.sum(), len(heldout))
    word_bpc = ltl.bits_per_character(word_losses.sum(), len(heldout))
    assert word_bpc < 0.6 * char_bpc


def test_every_model_stays_above_the_floor_and_longer_contexts_close_the_gap(words):
    """§6.11: held-out losses of character 1- to 5-grams fall towards the entropy rate and stay above it; the word bigram is almost on it."""
    source, train, heldout, _, word_losses = words
    floor = source.entropy_rate_per_char()
    losses = [ltl.CharNGram.fit(train, order=n, k=0.1).losses(heldout).mean() for n in (1, 2, 3, 4, 5)]
    assert all(a > b for a, b in zip(losses, losses[1:])) and losses[-1] > floor
    assert floor < word_losses.sum() / len(heldout) < floor + 0.01


def test_character_bigram_reaches_the_floor_within_noise():
    """§6.11: on the character chain the bigram's held-out loss is within two standard errors of the floor."""
    source = ltl.MarkovSource.characters()
    train, heldout = ltl.train_heldout_split(source.sample(100_000, np.random.default_rng(1)), 0.5)
    floor = source.entropy_rate_per_char()
    unigram = ltl.CharNGram.fit(train, order=1, k=0.1).losses(heldout)
    bigram = ltl.CharNGram.fit(train, order=2, k=0.1).losses(heldout)
    assert abs(bigram.mean() - floor) < 2 * bigram.std() / np.sqrt(bigram.size)
    assert unigram.mean() > floor + 0.5


# -- the course prose (§6.12 to §6.14) --------------------------------------------------------------


@pytest.fixture(scope="module")
def prose():
    return ltl.train_heldout_split(ltl.course_prose(), 0.1)


def test_train_heldout_gap_grows_with_the_order(prose):
    """§6.12: higher orders fit the training prose better, and the held-out gap widens with every order."""
    train, heldout = prose
    fits = [ltl.CharNGram.fit(train, order=n, k=0.1) for n in (1, 2, 3, 4)]
    train_losses = [m.losses(train).mean() for m in fits]
    heldout_losses = [m.losses(heldout).mean() for m in fits]
    gaps = [h - t for h, t in zip(heldout_losses, train_losses)]
    assert all(a > b for a, b in zip(train_losses, train_losses[1:]))
    assert all(a > b for a, b in zip(heldout_losses, heldout_losses[1:]))
    assert all(a < b for a, b in zip(gaps, gaps[1:]))


def test_loss_curves_plateau_and_overfit(prose):
    """§6.13: all data, the curves fall and flatten together near the counted bigram; 2,000 characters, held-out turns up."""
    train, heldout = prose
    _, full = ltl.train_bigram(train, heldout, steps=600, learning_rate=20.0)
    counted = ltl.CharNGram.fit(train, order=2, k=1e-3).losses(train).mean()
    assert (np.diff(full.heldout) <= 0).all() and (np.diff(full.train) <= 0).all()
    assert full.train[-1] - counted < 0.06 and full.heldout[-1] - full.train[-1] < 0.1
    assert full.train[300] - full.train[-1] < 0.05  # the last half of the run gains little: a plateau
    _, small = ltl.train_bigram(train[:2000], heldout, steps=1000, learning_rate=20.0)
    best = small.heldout.argmin()
    assert best < 500 and small.heldout[-1] > small.heldout[best] + 0.05
    assert small.train[-1] < small.train[best]


def _calibration(train_text, heldout, eps):
    model, curves = ltl.train_bigram(train_text, heldout, steps=1000, learning_rate=20.0, label_smoothing=eps)
    probs = ltl.softmax(model.sequence_logits(heldout))
    targets = model.targets(heldout)
    accuracy = (probs.argmax(axis=-1) == targets).mean()
    return ltl.expected_calibration_error(probs, targets), probs.max(axis=-1).mean(), accuracy, curves.heldout[-1]


def test_label_smoothing_calibrates_the_tiny_model_and_overshoots_with_all_data(words):
    """§6.14: 500 characters, over-confident and ECE falling with ε; all the text, under-confident and ECE rising."""
    _, train, heldout, _, _ = words
    ece, confidence, accuracy, loss = zip(*(_calibration(train[:500], heldout, eps) for eps in (0.0, 0.1, 0.2)))
    assert confidence[0] > accuracy[0] and ece[0] > ece[1] > ece[2]
    assert loss[0] < loss[1] < loss[2]
    tiny_ece = ece[0]
    ece, confidence, accuracy, loss = zip(*(_calibration(train, heldout, eps) for eps in (0.0, 0.1, 0.2)))
    assert ece[0] < tiny_ece / 2 and ece[0] < ece[1] < ece[2]
    assert confidence[1] < accuracy[1] and confidence[2] < accuracy[2]
    assert loss[0] < loss[1] < loss[2]
