"""MarkovSource, plain_text, course_prose and train_heldout_split.

Entropy rates of small chains worked by hand; the built-in sources' samples agree with their
exact rates within standard errors derived from the sample size; the prose extractor keeps
words and drops markup; the held-out split is a contiguous tail.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from logits_to_loss.corpus import (
    CHARACTERS,
    WORDS,
    MarkovSource,
    course_prose,
    find_course_root,
    plain_text,
    train_heldout_split,
)

TWO_STATE = np.array([[0.9, 0.1], [0.5, 0.5]])
# stationary: pi_0 * 0.1 = pi_1 * 0.5, so pi = (5/6, 1/6)
TWO_STATE_RATE = 5 / 6 * -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) + 1 / 6 * math.log(2)


def test_two_state_character_chain_by_hand():
    source = MarkovSource(("a", "b"), TWO_STATE)
    np.testing.assert_allclose(source.stationary, [5 / 6, 1 / 6], rtol=1e-14)
    assert TWO_STATE_RATE == pytest.approx(0.386428, abs=1e-6)
    assert source.entropy_rate_per_symbol() == pytest.approx(TWO_STATE_RATE, rel=1e-14)
    assert source.chars_per_symbol() == 1.0
    assert source.entropy_rate_per_char() == pytest.approx(TWO_STATE_RATE, rel=1e-14)


def test_two_state_word_chain_divides_by_the_mean_word_length_with_its_space():
    source = MarkovSource(("ab", "c"), TWO_STATE, separator=" ")
    # "ab " has 3 characters, "c " has 2: 5/6 * 3 + 1/6 * 2 = 17/6
    assert source.chars_per_symbol() == pytest.approx(17 / 6, rel=1e-14)
    assert source.entropy_rate_per_char() == pytest.approx(TWO_STATE_RATE / (17 / 6), rel=1e-14)


def test_a_deterministic_cycle_has_rate_zero_and_uniform_stationary():
    source = MarkovSource(("x", "y", "z"), np.roll(np.eye(3), 1, axis=1))  # x -> y -> z -> x
    np.testing.assert_allclose(source.stationary, [1 / 3] * 3, rtol=1e-14)
    assert source.entropy_rate_per_char() == 0.0
    assert source.sample(7, np.random.default_rng(0)) in {"xyzxyzx", "yzxyzxy", "zxyzxyz"}


@pytest.mark.parametrize("factory", [MarkovSource.words, MarkovSource.characters])
def test_built_in_sources_are_valid_chains(factory):
    source = factory()
    P, pi = source.transition, source.stationary
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-14)
    assert (pi > 0).all() and pi.sum() == pytest.approx(1.0, abs=1e-14)
    assert (np.linalg.matrix_power(P, len(P) ** 2) > 0).all(), "irreducible and aperiodic"
    # the rate is below the uniform bound and a seed changes the chain
    assert 0 < source.entropy_rate_per_symbol() < math.log(len(P))
    assert not np.array_equal(P, factory(seed=1).transition)
    np.testing.assert_array_equal(P, factory().transition)


def test_built_in_vocabularies():
    assert MarkovSource.words().symbols == tuple(WORDS) and 20 <= len(WORDS) <= 40
    assert all(w.isalpha() and w.islower() and len(w) <= 5 for w in WORDS)
    assert MarkovSource.characters().symbols == tuple(CHARACTERS)


def cut_into_symbols(source, text):
    """The symbol ids of ``text`` (the last piece, possibly cut short, is dropped)."""
    pieces = text.split(source.separator)[:-1] if source.separator else list(text)
    index = {s: i for i, s in enumerate(source.symbols)}
    return np.array([index[s] for s in pieces])


@pytest.mark.parametrize("factory", [MarkovSource.words, MarkovSource.characters])
def test_samples_match_the_exact_rate_and_the_stationary_distribution(factory):
    """Ergodic averages over one long sample converge to the exact figures.

    Standard errors are computed as if the draws were independent; the chains forget their
    state within a few steps, which at most doubles them here, so 8 of them is a safe margin.
    """
    source = factory()
    states = cut_into_symbols(source, source.sample(150_000, np.random.default_rng(2024)))
    surprisal = -np.log(source.transition[states[:-1], states[1:]])  # (n - 1,) nats per transition
    assert np.isfinite(surprisal).all(), "every transition in the sample has P > 0"
    se = surprisal.std() / math.sqrt(surprisal.size)
    assert abs(surprisal.mean() - source.entropy_rate_per_symbol()) < 8 * se
    lengths = np.array([len(s) + len(source.separator) for s in source.symbols])[states]  # (n,)
    assert abs(lengths.mean() - source.chars_per_symbol()) <= 8 * lengths.std() / math.sqrt(lengths.size)
    pi = source.stationary
    freq = np.bincount(states, minlength=pi.size) / states.size
    assert (np.abs(freq - pi) < 8 * np.sqrt(pi * (1 - pi) / states.size)).all()


def test_sample_length_start_and_reproducibility():
    source = MarkovSource.words()
    text = source.sample(1000, np.random.default_rng(5))
    assert len(text) == 1000 and text.split(" ")[0] in WORDS
    assert set(text) <= set("".join(WORDS) + " ")
    assert text == source.sample(1000, np.random.default_rng(5))
    assert text != source.sample(1000, np.random.default_rng(6))
    assert len(source.sample(1, np.random.default_rng(0))) == 1


def test_reported_figures_of_the_built_in_sources():
    words, chars = MarkovSource.words(), MarkovSource.characters()
    assert words.entropy_rate_per_char() == pytest.approx(0.30908, abs=1e-5)
    assert words.entropy_rate_per_char() / math.log(2) == pytest.approx(0.44591, abs=1e-5)
    assert chars.entropy_rate_per_char() == pytest.approx(1.07808, abs=1e-5)


@pytest.mark.parametrize(
    "symbols, transition, separator, match",
    [
        (("a", "b"), [[0.5, 0.4], [0.5, 0.5]], "", "sum to 1"),
        (("a", "b"), [[1.5, -0.5], [0.5, 0.5]], "", "probabilities"),
        (("a", "b"), [[1.0]], "", "shape"),
        (("a", "b"), [[1.0, 0.0], [0.5, 0.5]], "", "irreducible"),
        (("a", "a"), TWO_STATE, "", "distinct"),
        (("ab", "c"), TWO_STATE, "", "one character"),
        (("a b", "c"), TWO_STATE, " ", "separator"),
        ((), np.zeros((0, 0)), "", "non-empty"),
    ],
)
def test_bad_chains_are_refused(symbols, transition, separator, match):
    with pytest.raises(ValueError, match=match):
        MarkovSource(symbols, transition, separator)


def test_bad_sample_arguments():
    source = MarkovSource.characters()
    with pytest.raises(ValueError, match="n_chars"):
        source.sample(0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="default_rng"):
        source.sample(10, 0)


# --- prose ------------------------------------------------------------------------------------


def test_plain_text_drops_markup_and_keeps_words():
    markdown = (
        "## 3.1 Surprise: $-\\log p$\n\nThe **loss** is `cross_entropy`; see [the docs](http://x.org/a).\n\n"
        "$$H = -\\sum_c y_c$$\n\n```python\nx = 1\n```\n- Done — café, <b>bold</b> 50%!"
    )
    expected = "3.1 surprise: - log p the loss is cross entropy; see the docs. done - cafe, bold 50%!"
    assert plain_text(markdown) == expected
    assert plain_text("$\\operatorname{logsumexp}(z) - z_y$") == "logsumexp(z) - z y"
    with pytest.raises(TypeError, match="markdown"):
        plain_text(b"bytes")


def test_course_prose_of_this_repository():
    text = course_prose()
    assert len(text) > 10_000
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz0123456789 .,;:!?'\"()-+=/%")
    assert "softmax" in text and "cross-entropy" in text and "  " not in text
    assert course_prose(find_course_root()) == text


def write_notebook(path, markdown, code="x = 1"):
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
        {"cell_type": "code", "metadata": {}, "source": [code], "outputs": [], "execution_count": None},
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_course_prose_prefers_solutions_and_reads_markdown_only(tmp_path):
    write_notebook(tmp_path / "notebooks/01-a/a.ipynb", "Student **prose**.", code="print('code is skipped')")
    write_notebook(tmp_path / "notebooks/02-b/b.ipynb", "Second chapter.")
    assert course_prose(tmp_path) == "student prose. second chapter."
    write_notebook(tmp_path / "solutions/01-a/a.ipynb", "Source prose.")
    assert course_prose(tmp_path) == "source prose."


def test_course_root_is_found_from_a_subfolder_and_missing_prose_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "deep/er").mkdir(parents=True)
    assert find_course_root(tmp_path / "deep/er") == tmp_path.resolve()
    monkeypatch.chdir(tmp_path / "deep/er")
    assert find_course_root() == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match="no Markdown prose"):
        course_prose()
    with pytest.raises(FileNotFoundError, match="notebooks/"):
        find_course_root(tmp_path.parent)


def test_train_heldout_split_is_a_contiguous_tail():
    text = "abcdefghij" * 10
    train, heldout = train_heldout_split(text)
    assert (len(train), len(heldout)) == (90, 10) and train + heldout == text
    train, heldout = train_heldout_split(text, heldout_fraction=0.25)
    assert heldout == text[75:]
    for fraction in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="heldout_fraction"):
            train_heldout_split(text, fraction)
    with pytest.raises(ValueError, match="too short"):
        train_heldout_split("abc", 0.1)
    with pytest.raises(TypeError, match="text"):
        train_heldout_split(["a", "b"])
