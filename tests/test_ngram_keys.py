"""KeyedNgramVectorizer: the serving n-gram bags from integer keys equal TextVectorization's string n-grams."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from textattn.data import ngrams
from textattn.data.ngram_keys import KeyedNgramVectorizer, serving_ngram_vectorizer, word_table
from textattn.data.text import OOV

WORDS = ["not", "never", "good", "bad", "film", "plot", "at", "all", "didn't", "but", "fun,", "Great!", "the", "a"]


def random_texts(rng: random.Random, count: int) -> list[str]:
    extra = ["", "   ", "zzz qqq", "- not -", "not<br />bad", "a\tb\nc"]
    return extra + [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25))) for _ in range(count)]


def assert_same_bags(expected: tf.SparseTensor, got: tf.SparseTensor):
    assert got.values.dtype == expected.values.dtype
    np.testing.assert_array_equal(got.dense_shape.numpy(), expected.dense_shape.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), expected.indices.numpy())  # the same order too
    np.testing.assert_array_equal(got.values.numpy(), expected.values.numpy())


@pytest.mark.parametrize("negation", ["none", "mark", "mark_near", "mark_near_concession"])
@pytest.mark.parametrize("max_ngram", [1, 2, 3])
def test_bags_equal_the_text_vectorizers(negation, max_ngram):
    rng = random.Random(max_ngram)
    fitted = ngrams.adapt_ngram_vectorizer(random_texts(rng, 200), 150, max_ngram, negation=negation)
    vocabulary = fitted.get_vocabulary()  # 150 entries: some n-grams of the texts stay out of vocabulary
    texts = tf.constant(random_texts(rng, 300))
    expected = ngrams.make_ngram_vectorizer(len(vocabulary), max_ngram, vocabulary, negation)(texts)
    for given in (vocabulary, vocabulary[1:]):  # with or without the OOV entry, as TextVectorization takes it
        keyed = KeyedNgramVectorizer(given, max_ngram, negation)
        assert keyed.get_vocabulary() == vocabulary and keyed.vocabulary_size() == len(vocabulary)
        assert_same_bags(expected, keyed(texts))
        assert_same_bags(expected, tf.function(keyed)(texts))


def test_keys_are_word_ids_in_base_w():
    words, keys = word_table(["b", "a b", "c a b"])
    assert words == ["b", "a", "c"]  # ids 1, 2, 3; W = 4
    assert keys.tolist() == [1, 2 * 4 + 1, (3 * 4 + 2) * 4 + 1]
    assert keys.dtype == np.int64
    with pytest.raises(ValueError, match="do not fit in int64 keys"):
        word_table([" ".join(f"w{i}" for i in range(20))])  # 21 ** 20 > 2 ** 63


def test_config_round_trip_gives_the_same_bags():
    vocabulary = [OOV, "not", "not not_bad", "bad", "good film"]
    keyed = KeyedNgramVectorizer(vocabulary, 2, "mark", name="bags")
    copy = KeyedNgramVectorizer.from_config(keyed.get_config())
    assert copy.get_config() == keyed.get_config()
    assert keras.saving.get_registered_name(KeyedNgramVectorizer) == "textattn>KeyedNgramVectorizer"
    texts = tf.constant(["not bad", "good film, not bad", ""])
    assert_same_bags(keyed(texts), copy(texts))
    dense = tf.sparse.to_dense(keyed(texts)).numpy()
    # Column 0: some n-gram out of vocabulary ("not_bad" alone, "film not").
    assert dense[0].tolist() == [1, 1, 1, 0, 0]  # "not", "not not_bad"
    assert dense[1].tolist() == [1, 1, 1, 0, 1]  # and "good film"
    assert dense[2].tolist() == [0, 0, 0, 0, 0]


def test_vocabularies_whose_keys_would_overflow_keep_the_text_vectorizer():
    vocabulary = [OOV] + [f"w{i}" for i in range(100)]
    assert isinstance(serving_ngram_vectorizer(vocabulary, 3), KeyedNgramVectorizer)
    assert isinstance(serving_ngram_vectorizer(vocabulary, 10), keras.layers.TextVectorization)  # 101 ** 10 > 2 ** 63
    with pytest.raises(ValueError, match="do not fit in int64 keys"):
        KeyedNgramVectorizer(vocabulary, 10)


@pytest.mark.slow
def test_bags_equal_the_text_vectorizers_on_imdb_reviews(real_archive):
    """An 800,000-entry trigram vocabulary fitted on 3,000 real reviews, checked on 2,000 others."""
    from textattn.data import pipeline
    from textattn.data.source import Source

    reviews = pipeline.read_texts(Source("local", real_archive), ("test",))["test"][0]
    rng = random.Random(0)
    sample = rng.sample(reviews, 5000)
    fitted = ngrams.adapt_ngram_vectorizer(sample[:3000], 800_000, 3, negation="mark_near")
    vocabulary = fitted.get_vocabulary()
    keyed = tf.function(KeyedNgramVectorizer(vocabulary, 3, "mark_near"))
    for start in range(3000, 5000, 500):
        texts = tf.constant(sample[start : start + 500])
        assert_same_bags(fitted(texts), keyed(texts))
