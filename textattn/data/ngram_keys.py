"""The n-gram vectorizer of serving: the same bags as ``make_ngram_vectorizer``, found from word ids.

``keras.layers.TextVectorization(ngrams=3, output_mode="multi_hot")`` joins every n-gram of a review
into a string ("not not_bad not_at") and looks it up in a table of 800,000 strings: about 340,000
new strings per 512 IMDB reviews, the larger part of the serving time. ``KeyedNgramVectorizer``
looks each word up once (a ``StringLookup`` over the words the n-gram vocabulary is made of), turns
each n-gram into one integer, its word ids as digits in base W (W - 1 words), and looks that up in
an ``IntegerLookup`` holding the vocabulary's n-grams as such keys. An n-gram with a word outside
those words is in no vocabulary entry; it gets key -1, the out-of-vocabulary bucket, as it does
there. Same ids, same multi-hot SparseTensor; no new strings.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from textattn.data.text import OOV, standardizer

NO_KEY = -1  # an n-gram holding an unknown word: not in the vocabulary


class KeysOverflow(ValueError):
    """The vocabulary's n-grams have too many words for int64 keys."""


def word_table(ngram_vocabulary, max_ngram: int = 1) -> tuple[list[str], np.ndarray]:
    """The words the n-grams are made of, and each n-gram's integer key.

    Args:
        ngram_vocabulary: the n-grams (str, words joined by single spaces), without the OOV entry.
        max_ngram: the longest n-gram the keys must hold, if longer than the vocabulary's longest.
    Returns:
        (words: list of str, in order of first appearance, word i having id i + 1 (0: unknown);
         keys: int64 (len(ngram_vocabulary),), sum of word id * W ** (n - 1 - position), W = len(words) + 1).
    Raises:
        KeysOverflow: the longest n-gram's keys would not fit in int64.
    """
    grams = list(ngram_vocabulary)
    if not grams:
        return [], np.zeros(0, np.int64)
    flat_words = " ".join(grams).split(" ")
    words = list(dict.fromkeys(flat_words))  # first appearance order
    lengths = np.fromiter((gram.count(" ") + 1 for gram in grams), np.int64, len(grams))
    longest = max(int(lengths.max()), max_ngram)
    if not fits_in_keys(len(words), longest):
        raise KeysOverflow(f"{len(words)} words in {longest}-grams do not fit in int64 keys")
    ids = {word: i + 1 for i, word in enumerate(words)}
    flat_ids = np.fromiter(map(ids.__getitem__, flat_words), np.int64, len(flat_words))
    # Each word's place counted from its n-gram's end: its digit's power of W.
    ends = np.cumsum(lengths)
    from_end = np.repeat(ends, lengths) - 1 - np.arange(len(flat_words))
    digits = flat_ids * (len(words) + 1) ** from_end
    return words, np.add.reduceat(digits, ends - lengths)


def fits_in_keys(num_words: int, max_ngram: int) -> bool:
    """Whether every n-gram of ``max_ngram`` words over ``num_words`` words has an int64 key."""
    return (num_words + 1) ** max_ngram < 2**63


class NgramVocabularyLayer(keras.layers.Layer):
    """What a serving n-gram vectorizer layer shares: its vocabulary, longest word n-gram and negation mode,
    given back as ``TextVectorization`` gives them (``get_vocabulary``, ``vocabulary_size``) and in its config."""

    def __init__(self, vocabulary, max_ngram: int, negation: str = "none", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary, self.max_ngram, self.negation = list(vocabulary), int(max_ngram), negation

    def get_vocabulary(self) -> list[str]:
        return list(self.vocabulary)

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "max_ngram": self.max_ngram,
            "negation": self.negation,
        }


@keras.saving.register_keras_serializable(package="textattn")
class KeyedNgramVectorizer(NgramVocabularyLayer):
    """Raw text (batch,) -> multi-hot n-gram features, a SparseTensor (batch, len(vocabulary)) of float32.

    The output equals ``make_ngram_vectorizer(len(vocabulary), max_ngram, vocabulary, negation)``'s
    (tests/test_ngram_keys.py checks it, on IMDB reviews too): column 0 is the OOV bucket, column i the
    vocabulary's i-th entry. It runs under the TensorFlow backend (``serving_ngram_vectorizer`` picks it).

    Args:
        vocabulary: list of str, the n-gram vocabulary, with or without the OOV entry ``[UNK]`` first
            (as TextVectorization takes it).
        max_ngram: the longest n-gram, in words (the vectorizer's ``ngrams``).
        negation: ``data.negation``, which picks the standardizer.
    """

    def __init__(self, vocabulary, max_ngram: int, negation: str = "none", **kwargs):
        vocabulary = list(vocabulary)
        if not vocabulary or vocabulary[0] != OOV:
            vocabulary = [OOV, *vocabulary]
        super().__init__(vocabulary, max_ngram, negation, **kwargs)
        words, keys = word_table(vocabulary[1:], self.max_ngram)
        self.base = len(words) + 1
        self.standardize = standardizer(negation)
        self.words = keras.layers.StringLookup(vocabulary=words, num_oov_indices=1, mask_token=None, oov_token=OOV)
        self.ngrams = keras.layers.IntegerLookup(
            vocabulary=keys, num_oov_indices=1, mask_token=None, oov_token=NO_KEY, output_mode="multi_hot", sparse=True
        )
        self.build()

    def build(self, input_shape=None):
        # Built from the start (the lookups have their vocabularies): an ExportArchive tracks built layers.
        self.words.build((None,))
        self.ngrams.build((None, None))
        self.built = True

    def call(self, texts):
        tokens = tf.strings.split(self.standardize(texts))
        word_ids = tf.cast(self.words(tokens.flat_values), tf.int64)  # 0: a word in no n-gram
        position = tf.range(tf.size(word_ids, out_type=tf.int64))
        row_end = tf.gather(tokens.row_splits[1:], tokens.value_rowids())
        last = tf.maximum(tf.size(word_ids, out_type=tf.int64) - 1, 0)
        key, known = word_ids, word_ids > 0
        keys, inside = [tf.where(known, key, NO_KEY)], [tf.ones_like(known)]
        for offset in range(1, self.max_ngram):
            # The n-gram of offset + 1 words starting at each token, where it ends inside its review.
            next_id = tf.gather(word_ids, tf.minimum(position + offset, last))
            key, known = key * self.base + next_id, known & (next_id > 0)
            keys.append(tf.where(known, key, NO_KEY))
            inside.append(position + offset < row_end)
        # Token by token, then by width: each review's n-grams stay together, in review order; a review of
        # n words has max(n - k + 1, 0) n-grams of k words.
        lengths = tokens.row_lengths()
        grams = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(tf.stack(keys, axis=1), tf.stack(inside, axis=1)),
            tf.add_n([tf.maximum(lengths - width + 1, 0) for width in range(1, self.max_ngram + 1)]),
            validate=False,
        )
        return self.ngrams(grams)


def serving_ngram_vectorizer(vocabulary, max_ngram: int, negation: str = "none"):
    """The fastest vectorizer that gives ``make_ngram_vectorizer(len(vocabulary), max_ngram, vocabulary,
    negation)``'s bags: ``KeyedNgramVectorizer``, or that TextVectorization itself where the keys would not
    fit in int64, or under another backend than TensorFlow (the layer calls tf ops on strings)."""
    from textattn.data.ngrams import make_ngram_vectorizer

    if keras.backend.backend() == "tensorflow":
        try:
            return KeyedNgramVectorizer(vocabulary, max_ngram, negation)
        except KeysOverflow:
            pass
    return make_ngram_vectorizer(len(vocabulary), max_ngram, vocabulary, negation)
