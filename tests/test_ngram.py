"""Vocabulary and CharNGram: add-k counts by hand, vectorised scoring, the entropy floor, generation.

A bigram fitted on a long sample of a first-order character chain reaches the chain's exact
entropy rate within a tolerance derived from the sample sizes; on the word chain, longer
contexts come closer to the floor but never pass it.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from scipy import stats

from logits_to_loss import cross_entropy, softmax
from logits_to_loss.corpus import MarkovSource, course_prose, train_heldout_split
from logits_to_loss.ngram import UNK, CharNGram, Vocabulary, pair_counts
from logits_to_loss.sampling import apply_repetition_penalty, sample


def test_vocabulary_ids_unk_and_round_trip():
    vocab = Vocabulary("banana band")
    assert vocab.chars == " abdn" and len(vocab) == 6 and vocab.unk_id == 5
    np.testing.assert_array_equal(vocab.encode("band"), [2, 1, 4, 3])
    assert vocab.decode(vocab.encode("a nab")) == "a nab"
    np.testing.assert_array_equal(vocab.encode("bZé"), [2, 5, 5])  # unseen characters read as <unk>
    assert vocab.decode(vocab.encode("bZ")) == "b" + UNK
    assert vocab.encode("").shape == (0,)
    with pytest.raises(ValueError, match="ids"):
        vocab.decode([6])
    with pytest.raises(ValueError, match="empty"):
        Vocabulary("")


def test_bigram_add_k_counts_by_hand():
    # "abab": a=0, b=1, <unk>=2. Contexts: <unk>->a, a->b, b->a, a->b
    model = CharNGram.fit("abab", order=2, k=0.5)
    counts = np.array([[0, 2, 0], [1, 0, 0], [1, 0, 0]])  # rows a, b, <unk>
    np.testing.assert_array_equal(pair_counts("abab", 2, model.vocab), counts)
    np.testing.assert_allclose(model.table, np.log(counts + 0.5), rtol=1e-15)
    np.testing.assert_allclose(softmax(model.logits("a")), [0.5 / 3.5, 2.5 / 3.5, 0.5 / 3.5], rtol=1e-14)
    np.testing.assert_allclose(softmax(model.logits("")), [1.5 / 2.5, 0.5 / 2.5, 0.5 / 2.5], rtol=1e-14)
    expected = -np.log([1.5 / 2.5, 2.5 / 3.5, 1.5 / 2.5, 2.5 / 3.5])
    np.testing.assert_allclose(model.losses("abab"), expected, rtol=1e-14)


def test_trigram_counts_by_hand():
    # "aab": a=0, b=1, <unk>=2; row of context (c1, c2) is 3 c1 + c2
    model = CharNGram.fit("aab", order=3, k=1.0)
    counts = np.zeros((9, 3))
    counts[3 * 2 + 2, 0] = 1  # (<unk>, <unk>) -> a
    counts[3 * 2 + 0, 0] = 1  # (<unk>, a) -> a
    counts[3 * 0 + 0, 1] = 1  # (a, a) -> b
    np.testing.assert_allclose(model.table, np.log(counts + 1.0), rtol=1e-15)
    np.testing.assert_array_equal(model.logits("baa"), model.table[0])  # only the last two count
    np.testing.assert_array_equal(model.logits("a"), model.table[6])  # short context: <unk> in front


def test_unigram_ignores_context():
    model = CharNGram.fit("aaab", order=1, k=1.0)
    assert model.table.shape == (1, 3)
    np.testing.assert_allclose(softmax(model.logits("anything")), [4 / 7, 2 / 7, 1 / 7], rtol=1e-14)


def test_sequence_logits_and_losses_equal_one_lookup_per_position():
    text = course_prose()[:3000]
    model = CharNGram.fit(text, order=3, k=0.1)
    heldout = "the softmax of logits, quickly!"  # "q" and "!" may be unseen: <unk>
    logits, targets = model.sequence_logits(heldout), model.targets(heldout)
    assert logits.shape == (len(heldout), len(model.vocab)) and targets.shape == (len(heldout),)
    for t in range(len(heldout)):  # the reference: one context at a time
        np.testing.assert_array_equal(logits[t], model.logits(heldout[:t]))
    losses = model.losses(heldout)
    np.testing.assert_allclose(losses, cross_entropy(logits, targets, reduction="none"), rtol=1e-15)
    by_hand = -np.log(softmax(logits)[np.arange(len(heldout)), targets])
    np.testing.assert_allclose(losses, by_hand, rtol=1e-12)


def test_unknown_characters_get_the_smoothing_mass_only():
    k = 0.5
    model = CharNGram.fit("abcabc", order=2, k=k)
    V = len(model.vocab)  # a, b, c, <unk>
    loss = model.losses("az")[1]  # "z" after "a": "a" was followed twice, always by "b"
    assert loss == pytest.approx(-math.log(k / (2 + k * V)), rel=1e-14)
    assert np.isfinite(model.losses("zzz")).all()  # an unknown context: the uniform row


def test_fit_is_fast_and_scoring_is_vectorised():
    text = MarkovSource.words().sample(100_000, np.random.default_rng(0))
    best_fit = best_score = np.inf
    for _ in range(3):
        start = time.perf_counter()
        model = CharNGram.fit(text, order=3, k=0.1)
        best_fit = min(best_fit, time.perf_counter() - start)
        start = time.perf_counter()
        model.losses(text)
        best_score = min(best_score, time.perf_counter() - start)
    assert best_fit < 0.25 and best_score < 0.5, (best_fit, best_score)


def test_bigram_reaches_the_floor_of_a_character_chain():
    """Held-out loss -> entropy rate: the excess is sampling noise plus the cost of estimating the table.

    Noise: the standard error of the held-out mean (8 of them, for the chain's memory). Estimation:
    the expected excess of a fitted table is about (free parameters) / (2 N) = S (S - 1) / (2 N).
    """
    source = MarkovSource.characters()
    train = source.sample(200_000, np.random.default_rng(1))
    heldout = source.sample(50_000, np.random.default_rng(2))
    losses = CharNGram.fit(train, order=2, k=0.5).losses(heldout)[1:]  # the first has no context
    S, floor = len(source.symbols), source.entropy_rate_per_char()
    tolerance = 8 * losses.std() / math.sqrt(losses.size) + S * (S - 1) / (2 * len(train))
    assert abs(losses.mean() - floor) < tolerance, (losses.mean(), floor, tolerance)
    unigram = CharNGram.fit(train, order=1, k=0.5).losses(heldout).mean()
    assert unigram > floor + 0.5  # the context matters


def test_longer_contexts_approach_the_word_chain_floor_from_above():
    source = MarkovSource.words()
    train, heldout = train_heldout_split(source.sample(110_000, np.random.default_rng(3)))
    held_out = [CharNGram.fit(train, order=n, k=0.1).losses(heldout).mean() for n in (1, 2, 3, 4)]
    floor = source.entropy_rate_per_char()
    assert all(a > b for a, b in itertools.pairwise(held_out)), held_out
    assert held_out[-1] > floor + 0.05, "4 characters of context cannot see the whole previous word"


def test_training_loss_never_beats_the_count_model_it_was_fitted_as():
    text = course_prose()[:5000]
    fitted = CharNGram.fit(text, order=2, k=1e-9).losses(text).mean()
    for k in (0.1, 1.0, 10.0):
        assert CharNGram.fit(text, order=2, k=k).losses(text).mean() > fitted


# --- generation -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prose_trigram():
    return CharNGram.fit(course_prose(), order=3, k=0.1)


def test_generate_length_characters_and_seed(prose_trigram):
    text = prose_trigram.generate(200, np.random.default_rng(0), prompt="the ")
    assert len(text) == 200 and set(text) <= set(prose_trigram.vocab.chars)  # never <unk>
    assert text == prose_trigram.generate(200, np.random.default_rng(0), prompt="the ")
    assert text != prose_trigram.generate(200, np.random.default_rng(1), prompt="the ")
    assert prose_trigram.generate(0, np.random.default_rng(0)) == ""


def test_greedy_generation_follows_the_argmax(prose_trigram):
    text = prose_trigram.generate(30, np.random.default_rng(0), temperature=0, prompt="the soft")
    context = "the soft"
    for char in text:
        logits = prose_trigram.logits(context)
        logits[prose_trigram.vocab.unk_id] = -np.inf
        assert char == prose_trigram.vocab.chars[np.argmax(logits)]
        context += char
    assert text == prose_trigram.generate(30, np.random.default_rng(9), top_k=1, prompt="the soft")


def test_each_step_is_penalty_then_sample(prose_trigram):
    options = {"temperature": 0.8, "top_k": 10, "top_p": 0.9, "min_p": 0.05}
    prompt = "logits to l"
    text = prose_trigram.generate(3, np.random.default_rng(4), repetition_penalty=1.3, prompt=prompt, **options)
    rng = np.random.default_rng(4)
    for t in range(3):
        so_far = prompt + text[:t]
        logits = prose_trigram.logits(so_far)
        logits[prose_trigram.vocab.unk_id] = -np.inf
        logits = apply_repetition_penalty(logits, np.unique(prose_trigram.vocab.encode(so_far)), 1.3)
        assert text[t] == prose_trigram.vocab.chars[int(sample(logits, rng, **options))]


def test_generated_transitions_follow_the_model():
    """Chi-square of the characters generated after "d" against the model's row, threshold at p = 1e-6."""
    model = CharNGram.fit(MarkovSource.characters().sample(20_000, np.random.default_rng(5)), order=2, k=0.5)
    text = model.generate(12_000, np.random.default_rng(6), prompt="d")
    d = model.vocab.chars.index("d")
    ids = model.vocab.encode("d" + text)
    after_d = ids[1:][ids[:-1] == d]
    probs = softmax(model.logits("d")[: model.vocab.unk_id])  # <unk> is never generated
    observed = np.bincount(after_d, minlength=probs.size)
    keep = probs * after_d.size >= 5  # the chi-square approximation needs expected counts >= 5
    assert observed[~keep].sum() <= max(10, 10 * probs[~keep].sum() * after_d.size)
    chi2 = ((observed[keep] - after_d.size * probs[keep]) ** 2 / (after_d.size * probs[keep])).sum()
    assert chi2 < stats.chi2.isf(1e-6, df=keep.sum() - 1), chi2


def test_repetition_penalty_steers_generation_away_from_seen_characters():
    model = CharNGram.fit("ab" * 50 + "c", order=2, k=2.0)  # k > 1: every logit log(count + k) is positive
    assert model.generate(1, np.random.default_rng(0), temperature=0, prompt="ba") == "b"  # "b" always followed "a"
    # a penalty of 100 divides the seen "a" and "b" (log 2, log 52) by 100; the unseen "c" keeps log 2
    assert model.generate(1, np.random.default_rng(0), temperature=0, repetition_penalty=100.0, prompt="ba") == "c"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"text": "abc", "k": 0}, ValueError, "k must be"),
        ({"text": "abc", "k": -1.0}, ValueError, "k must be"),
        ({"text": "abc", "order": 0}, ValueError, "order"),
        ({"text": "abcdefghij", "order": 9}, ValueError, "lower order"),
        ({"text": ""}, ValueError, "empty"),
        ({"text": b"abc"}, TypeError, "str"),
    ],
)
def test_bad_fit_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        CharNGram.fit(**kwargs)


def test_bad_model_and_call_arguments():
    vocab = Vocabulary("ab")
    with pytest.raises(ValueError, match="shape"):
        CharNGram(vocab, 2, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        CharNGram(vocab, 2, np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="Vocabulary"):
        CharNGram("ab", 2, np.zeros((3, 3)))
    model = CharNGram.fit("abab")
    with pytest.raises(ValueError, match="empty"):
        model.losses("")
    with pytest.raises(ValueError, match="n_chars"):
        model.generate(-1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="context"):
        model.logits(3)
