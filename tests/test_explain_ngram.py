"""N-gram evidence: the same n-gram ids as the model's vectorizer, contributions that add up to the served log-odds."""

import math

import numpy as np
import pytest
import tensorflow as tf
from explain_support import MAX_NGRAM, corpus, explainable, randomize_ngram_branch
from helpers import tiny_config

from textattn import serving
from textattn.config import apply_overrides
from textattn.data.negation import PREFIX
from textattn.data.ngrams import adapt_ngram_vectorizer
from textattn.data.text import adapt_vectorizer
from textattn.explain.endpoint import make_explain
from textattn.explain.ngram_evidence import NgramEvidence
from textattn.layers.naive_bayes_ngrams import plain_words_of_negated
from textattn.models import bag_models, build_model

TEXTS = [
    b"a great film with a dull ending",
    b"GREAT film! <br /><br />great, great film.",
    b"",
    b"\xff\xfe great \xc3\x28 film",
    b"zzqx qqqz",
    *(t.encode() for t in corpus(4, seed=2)),
]


def evidence_of(model, parts, blend=None):
    layer = model.get_layer(bag_models.NB_LAYER)
    return NgramEvidence(layer, parts.ngram_vectorizer.get_vocabulary(), MAX_NGRAM, parts.temperature, blend)


def test_occurrences_look_up_the_same_ids_as_the_models_vectorizer(tmp_path):
    _, model, parts = explainable(tmp_path, "ngram")
    texts = serving.valid_utf8(tf.constant(TEXTS))
    occurrences = evidence_of(model, parts).occurrences(texts)
    bags = tf.sparse.reorder(parts.ngram_vectorizer(texts))
    rows, ids = occurrences["row"].numpy(), occurrences["id"].numpy()
    for row in range(len(TEXTS)):
        expected = set(bags.indices.numpy()[bags.indices.numpy()[:, 0] == row, 1].tolist())
        assert set(ids[rows == row].tolist()) == expected
    grams = occurrences["gram"].numpy()
    assert b"great film" in grams[rows == 1] and b"a dull ending" in grams[rows == 0]


@pytest.mark.parametrize("temperature", [1.0, 1.7])
def test_ngram_contributions_add_up_to_the_served_log_odds(temperature, tmp_path):
    _, model, parts = explainable(tmp_path, "ngram", temperature=temperature)
    out = make_explain(model, parts)(tf.constant(TEXTS))
    bias = np.asarray(model.get_layer(bag_models.NB_LAYER).bias)
    for row, p in enumerate(out["probability"].numpy()):
        if out["known_tokens"][row] == 0:
            assert p == 0.5
            continue
        contributions = out["ngram_contributions"][row].numpy().astype(np.float64)
        bias_term = (bias[1] - bias[0]) / temperature
        assert log_odds_match(contributions.sum() + bias_term, p)
        # The comparison can fail: without the largest contribution, without the bias, or (where there is
        # one) with the temperature applied twice.
        largest = contributions[np.argmax(np.abs(contributions))]
        assert not log_odds_match(contributions.sum() - largest + bias_term, p)
        assert not log_odds_match(contributions.sum(), p)
        if temperature != 1.0:
            assert not log_odds_match((contributions.sum() + bias_term) / temperature, p)


def log_odds_match(total: float, p: float) -> bool:
    """Whether log-odds ``total`` (float64) is the log-odds of float32 probability ``p``, as float32 can tell.

    Compared as probabilities: sigmoid(total) against p, to 1e-4 in log-odds (p moves by p (1 - p) per
    unit) plus a few float32 roundings of p. Near p = 1, log(p / (1 - p)) of a float32 p is only good to
    about 4e-4 at a log-odds of 8.8, so comparing in log-odds space would depend on summation order.
    """
    expected = 1.0 / (1.0 + math.exp(-total))
    return abs(expected - float(p)) <= 1e-4 * float(p) * (1.0 - float(p)) + 4 * float(np.finfo(np.float32).eps)


def test_each_contribution_is_the_feature_weight_difference_times_the_blend_weight(tmp_path):
    _, model, parts = explainable(tmp_path, "hybrid", temperature=1.25)
    out = make_explain(model, parts)(tf.constant(TEXTS[:2]))
    vocabulary = [str(g) for g in parts.ngram_vectorizer.get_vocabulary()]
    weights = np.asarray(model.get_layer(bag_models.NGRAM_BRANCH).get_layer(bag_models.NB_LAYER).feature_weights())
    blend = float(np.asarray(model.get_layer(bag_models.BLEND).branch_weights)[0])
    grams, contributions = out["ngrams"].numpy(), out["ngram_contributions"].numpy()
    for row in range(2):
        present = grams[row] != b""
        assert present.sum() == out["known_tokens"][row] > 0  # each distinct in-vocabulary n-gram once
        sizes = np.abs(contributions[row][present])
        assert np.all(np.diff(sizes) <= 1e-7)  # largest first
        for gram, value in zip(grams[row][present], contributions[row][present]):
            g = vocabulary.index(gram.decode())
            assert value == pytest.approx((weights[g, 1] - weights[g, 0]) * blend / 1.25, rel=1e-5, abs=1e-6)


def test_ngram_token_shading_spreads_each_ngrams_size_over_its_words(tmp_path):
    _, model, parts = explainable(tmp_path, "ngram")
    evidence = evidence_of(model, parts)
    texts = tf.constant([b"great film great"])
    occurrences = evidence.occurrences(texts)
    mass = evidence.token_mass(occurrences, 1, 3).numpy()[0]
    c = {g.decode(): abs(float(v)) for g, v in zip(occurrences["gram"].numpy(), occurrences["contribution"].numpy())}
    # "great" occurs twice: half its size to each; bigrams split over two words; the trigram over three.
    expected = np.array(
        [
            c["great"] / 2 + c["great film"] / 2 + c["great film great"] / 3,
            c["film"] + c["great film"] / 2 + c["film great"] / 2 + c["great film great"] / 3,
            c["great"] / 2 + c["film great"] / 2 + c["great film great"] / 3,
        ]
    )
    np.testing.assert_allclose(mass, expected, rtol=1e-5)
    assert mass.sum() == pytest.approx(sum(c.values()), rel=1e-5)


NEGATED = [b"it was not bad at all", b"not good, not funny", b"a bad film but not boring", b"good good"]


def test_contributions_include_the_negation_transfer(tmp_path):
    # A negated word's evidence includes its plain word's weight times the shared factor: the
    # contributions still add up to the served log-odds, and leaving the transfer out would not.
    config = apply_overrides(
        tiny_config(tmp_path, "ngram"), ["data.negation=mark", "model.ngram.negation_transfer=true"]
    )
    texts = corpus() + [t.decode() for t in NEGATED] * 3
    vectorizer = adapt_vectorizer(texts, 64, negation="mark")
    ngram_vectorizer = adapt_ngram_vectorizer(texts, 300, MAX_NGRAM, negation="mark")
    vocabulary = [str(g) for g in ngram_vectorizer.get_vocabulary()]
    model = build_model(config, len(vocabulary))
    randomize_ngram_branch(model, 5)
    layer = model.get_layer(bag_models.NB_LAYER)
    layer.set_plain_words(plain_words_of_negated(vocabulary, PREFIX))
    layer.negation_factor.assign(-0.8)
    assert {"not_bad", "bad", "not_good", "good"} <= set(vocabulary)
    parts = serving.ServingParts(config, vectorizer, ngram_vectorizer, 1.0)
    out = make_explain(model, parts)(tf.constant(NEGATED))
    bias = np.asarray(layer.bias)
    own = np.asarray(layer.log_count_ratio) * np.asarray(layer.ngram_weight)  # r * w alone
    for row, p in enumerate(out["probability"].numpy()):
        contributions = out["ngram_contributions"][row].numpy().astype(np.float64)
        assert log_odds_match(contributions.sum() + bias[1] - bias[0], p)
        grams = [g.decode() for g in out["ngrams"][row].numpy() if g]
        without_transfer = sum(own[vocabulary.index(g), 1] - own[vocabulary.index(g), 0] for g in grams)
        if any(g.startswith(PREFIX) and g[len(PREFIX) :] in vocabulary for g in grams):
            assert not log_odds_match(without_transfer + bias[1] - bias[0], p)


def test_character_ngrams_are_listed_with_the_character_members_contributions(tmp_path):
    # model.hybrid.character_ngrams: the character member reads the bag's character columns. Each listed
    # character n-gram's contribution is its term through that member and its blend weight, so they add
    # up to the member's share of the served log-odds, as the word n-grams add up to the n-gram branch's.
    from textattn.data.character_ngrams import (
        CHARACTER_PREFIX,
        WordAndCharacterBags,
        adapt_character_vectorizer,
        bag_vocabulary,
    )

    config = apply_overrides(
        tiny_config(tmp_path, "hybrid", pooling="attention"), ["model.hybrid.naive_bayes_expert=true"]
    )
    texts = corpus()
    words = [str(g) for g in adapt_ngram_vectorizer(texts, 300, MAX_NGRAM).get_vocabulary()]
    vocabulary = bag_vocabulary(words, adapt_character_vectorizer(texts, 400, [3, 4]).get_vocabulary())
    size, word_columns = len(vocabulary), len(words)
    ngram_model = bag_models.build_ngram_model(config, size, columns=(1, word_columns))
    character_model = bag_models.build_character_model(config, size, word_columns)
    randomize_ngram_branch(ngram_model, 5)
    randomize_ngram_branch(character_model, 6)
    word_model = build_model(bag_models.word_branch_config(config))
    expert = bag_models.build_naive_bayes_expert(ngram_model)  # reads the word columns too
    weights = [0.7, 1.3, -0.4, 0.9]  # n-gram branch, word branch, Naive Bayes expert, characters
    model = bag_models.assemble_hybrid(
        ngram_model,
        word_model,
        "h",
        weights,
        [0.1, -0.1],
        naive_bayes_model=expert,
        character_model=character_model,
    )
    bags = WordAndCharacterBags(vocabulary, MAX_NGRAM)
    parts = serving.ServingParts(config, adapt_vectorizer(texts, 64), bags, 1.0)
    out = make_explain(model, parts)(tf.constant(TEXTS))
    bag = bags(serving.valid_utf8(tf.constant(TEXTS)))

    def log_odds(member):
        p = np.asarray(member(bag), np.float64)
        return np.log(p[:, 1]) - np.log(p[:, 0])

    listed_characters = 0
    for row in range(len(TEXTS)):
        grams = [g.decode() for g in out["ngrams"][row].numpy() if g]
        contributions = out["ngram_contributions"][row].numpy().astype(np.float64)[: len(grams)]
        assert len(grams) == out["known_tokens"][row]  # every column of the bag, words and characters
        is_character = np.array([g.startswith(CHARACTER_PREFIX) for g in grams], bool)
        listed_characters += int(is_character.sum())
        # Word n-grams: the n-gram branch's and the expert's shares; character n-grams: the member's.
        word_bias = np.asarray(ngram_model.get_layer(bag_models.NB_LAYER).bias, np.float64)
        expected = weights[0] * log_odds(ngram_model)[row] + weights[2] * log_odds(expert)[row]
        word_sum = contributions[~is_character].sum() + weights[0] * (word_bias[1] - word_bias[0])
        assert word_sum == pytest.approx(expected, abs=3e-4)
        character_bias = np.asarray(character_model.get_layer(bag_models.NB_LAYER).bias, np.float64)
        expected = weights[3] * log_odds(character_model)[row]
        character_sum = contributions[is_character].sum() + weights[3] * (character_bias[1] - character_bias[0])
        assert character_sum == pytest.approx(expected, abs=3e-4)
    assert listed_characters > 0
