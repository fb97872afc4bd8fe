"""Character n-grams in the n-gram bag, read by the hybrid's character member (``model.hybrid.character_ngrams``).

A review, lowercased with HTML breaks and runs of whitespace turned to one space (punctuation kept),
also becomes the set of its character n-grams of the configured widths, spaces included, so they cross
word boundaries ("not bad" holds "t b" and "not b"). They reach words the word vocabulary never saw
or saw too rarely to weigh: misspellings, inflections, compounds, "!!!", ":)".

They join the word n-grams in one bag, after them: the n-gram vocabulary is the word n-grams
(``[UNK]`` first), then each character n-gram as ``CHARACTER_PREFIX`` + the n-gram, so column
``len(word vocabulary) + j - 1`` is the character vectorizer's column j. Its out-of-vocabulary column
is left out: it carries no evidence, and the word bag already has one.

Training fits the character vocabulary with ``keras.layers.TextVectorization(split="character")``
(``adapt_character_vectorizer``); serving finds the same bags from integer keys
(``KeyedCharacterVectorizer``), as ``textattn.data.ngram_keys.KeyedNgramVectorizer`` does for words.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from textattn.data.ngram_keys import NgramVocabularyLayer, fits_in_keys, serving_ngram_vectorizer
from textattn.errors import UserError

CHARACTER_PREFIX = "chars:"
"""Marks a character n-gram in the n-gram vocabulary. No word n-gram starts with it: every
standardizer strips the colon."""
NO_KEY = -1


def lowercase_with_breaks(text):
    """str tensor (batch,) -> the same, lowercased, HTML line breaks and runs of whitespace as one space."""
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, r"\s+", " ")


def adapt_character_vectorizer(texts, vocab_size: int, widths, batch_size: int = 512):
    """A ``TextVectorization`` fitted on ``texts`` (list of str): raw text (batch,) -> the multi-hot bag of
    the ``vocab_size`` - 1 most frequent character n-grams of ``widths``, a SparseTensor (batch, vocab_size)."""
    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=lowercase_with_breaks,
        split="character",
        ngrams=tuple(int(w) for w in widths),
        output_mode="multi_hot",
        sparse=True,
    )
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size))
    return vectorizer


def bag_vocabulary(word_vocabulary, character_vocabulary) -> list[str]:
    """The n-gram vocabulary of a bag holding both: the word n-grams (``[UNK]`` first), then the
    character n-grams (their vectorizer's ``[UNK]`` left out) marked with ``CHARACTER_PREFIX``."""
    return list(word_vocabulary) + [CHARACTER_PREFIX + gram for gram in list(character_vocabulary)[1:]]


def split_vocabulary(vocabulary) -> tuple[list[str], list[str]]:
    """(word n-grams, character n-grams without their prefix) of a ``bag_vocabulary``; no character
    n-grams: (vocabulary, [])."""
    vocabulary = list(vocabulary)
    first = next((i for i, gram in enumerate(vocabulary) if gram.startswith(CHARACTER_PREFIX)), len(vocabulary))
    characters = [gram[len(CHARACTER_PREFIX) :] for gram in vocabulary[first:]]
    if any(not gram.startswith(CHARACTER_PREFIX) for gram in vocabulary[first:]):
        raise ValueError("the character n-grams must come after all the word n-grams")
    return vocabulary[:first], characters


def character_keys(grams) -> tuple[list[str], np.ndarray]:
    """The alphabet of character n-grams and each n-gram's integer key.

    Args:
        grams: ``TextVectorization(split="character")`` n-grams, without its OOV entry: n characters joined
            by single spaces (a space character is itself one of them: "t   b" is "t", " ", "b").
    Returns:
        (alphabet: sorted characters, character i having id i + 1 (0: any other character);
         keys: int64 (len(grams),), the ids as digits in base len(alphabet) + 1, first character first).
    Raises:
        ValueError: an entry is not such an n-gram, or the keys would not fit in int64.
    """
    chars = [gram[0::2] for gram in grams]  # the characters sit at the even places
    if any(len(c) * 2 - 1 != len(gram) or gram[1::2].strip(" ") for c, gram in zip(chars, grams)):
        raise ValueError("not a character n-gram vocabulary (n characters joined by single spaces)")
    alphabet = sorted({c for gram in chars for c in gram})
    base = len(alphabet) + 1
    if not fits_in_keys(len(alphabet), max(map(len, chars), default=1)):
        raise ValueError(f"{len(alphabet)} characters do not fit in int64 keys")
    ids = {c: i + 1 for i, c in enumerate(alphabet)}
    keys = np.fromiter(
        (sum(ids[c] * base ** (len(gram) - 1 - k) for k, c in enumerate(gram)) for gram in chars), np.int64, len(chars)
    )
    return alphabet, keys


@keras.saving.register_keras_serializable(package="textattn")
class KeyedCharacterVectorizer(keras.layers.Layer):
    """Raw text (batch,) -> multi-hot character n-gram bag, a SparseTensor (batch, len(grams) + 1) of float32.

    The same bag as ``adapt_character_vectorizer``'s, with ``grams`` as its vocabulary (column 0 the OOV
    bucket, column j its (j - 1)-th n-gram; tests/test_character_ngrams.py checks it): each character
    is looked up once, each n-gram becomes one int64 key (``character_keys``), and an ``IntegerLookup``
    holds the vocabulary's keys. An n-gram with a character outside the alphabet gets the OOV column.
    TensorFlow ops: it runs under the TensorFlow backend.

    Args:
        grams: the character n-grams, as ``character_keys`` takes them.
        widths: the n-gram widths in characters, e.g. [3, 4, 5, 6].
    """

    def __init__(self, grams, widths, **kwargs):
        super().__init__(**kwargs)
        self.grams, self.widths = list(grams), sorted(int(w) for w in widths)
        alphabet, keys = character_keys(self.grams)
        self.base = len(alphabet) + 1
        self.alphabet = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant([ord(c) for c in alphabet], tf.int64), tf.range(1, self.base, dtype=tf.int64)
            ),
            default_value=0,
        )
        self.lookup = keras.layers.IntegerLookup(
            vocabulary=keys, num_oov_indices=1, mask_token=None, oov_token=NO_KEY, output_mode="multi_hot", sparse=True
        )
        self.build()

    def build(self, input_shape=None):
        # Built from the start (the lookup has its vocabulary): an ExportArchive tracks built layers.
        self.lookup.build((None, None))
        self.built = True

    def call(self, texts):
        chars = tf.strings.unicode_decode(lowercase_with_breaks(texts), "UTF-8")
        ids = self.alphabet.lookup(tf.cast(chars.flat_values, tf.int64))
        size = tf.size(ids, out_type=tf.int64)
        position, last = tf.range(size), tf.maximum(size - 1, 0)
        row_end = tf.gather(chars.row_splits[1:], chars.value_rowids())
        key, known = ids, ids > 0
        keys, inside = [], []
        for offset in range(max(self.widths)):
            if offset:
                next_id = tf.gather(ids, tf.minimum(position + offset, last))
                key, known = key * self.base + next_id, known & (next_id > 0)
            if offset + 1 in self.widths:
                keys.append(tf.where(known, key, NO_KEY))
                inside.append(position + offset < row_end)
        # Character by character, then by width: each review's n-grams stay together, in review order.
        lengths = chars.row_lengths()
        grams = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(tf.stack(keys, axis=1), tf.stack(inside, axis=1)),
            tf.add_n([tf.maximum(lengths - width + 1, 0) for width in self.widths]),
            validate=False,
        )
        return self.lookup(grams)

    def get_config(self):
        return {**super().get_config(), "grams": self.grams, "widths": self.widths}


@keras.saving.register_keras_serializable(package="textattn")
class WordAndCharacterBags(NgramVocabularyLayer):
    """Raw text (batch,) -> the bag of its word and character n-grams, a SparseTensor (batch, len(vocabulary)).

    The same bag as training's (``textattn.data.pipeline.prepare_ngrams``): the word n-grams' columns from
    ``serving_ngram_vectorizer`` over the word part of ``vocabulary``, then the character n-grams' from a
    ``KeyedCharacterVectorizer`` (the widths its n-grams have).

    Args:
        vocabulary: a ``bag_vocabulary``.
        max_ngram: the longest word n-gram (``model.ngram.max_ngram``).
        negation: ``data.negation``, the word n-grams' standardizer.
    """

    def __init__(self, vocabulary, max_ngram: int, negation: str = "none", **kwargs):
        super().__init__(vocabulary, max_ngram, negation, **kwargs)
        words, grams = split_vocabulary(self.vocabulary)
        self.words = serving_ngram_vectorizer(words, self.max_ngram, negation)
        widths = sorted({(len(gram) + 1) // 2 for gram in grams})
        self.characters = KeyedCharacterVectorizer(grams, widths)
        self.build()

    def build(self, input_shape=None):
        self.words.build()
        self.characters.build()
        self.built = True

    def call(self, texts):
        words, characters = self.words(texts), self.characters(texts)
        # Side by side, without tf.sparse.concat's sort (four times the vectorizers' time on 512 reviews):
        # the entries are the words' then the characters', which every reader of the bag takes in any order.
        known = characters.indices[:, 1] > 0  # the characters' OOV column is no column of the bag
        shift = tf.constant([0, 1], tf.int64) * (words.dense_shape[1] - 1)
        indices = tf.concat([words.indices, tf.boolean_mask(characters.indices, known) + shift], axis=0)
        values = tf.concat([words.values, tf.cast(tf.boolean_mask(characters.values, known), words.values.dtype)], 0)
        return tf.SparseTensor(
            indices, values, tf.stack([words.dense_shape[0], tf.constant(len(self.vocabulary), tf.int64)])
        )


def serving_bag_vectorizer(vocabulary, max_ngram: int, negation: str = "none"):
    """Raw text (batch,) -> a run's n-gram bag, SparseTensor (batch, len(vocabulary)), as training built it:
    ``WordAndCharacterBags`` when ``vocabulary`` holds character n-grams (a ``bag_vocabulary``; TensorFlow
    backend only), else ``textattn.data.ngram_keys.serving_ngram_vectorizer``."""
    if not any(gram.startswith(CHARACTER_PREFIX) for gram in vocabulary):
        return serving_ngram_vectorizer(vocabulary, max_ngram, negation)
    if keras.backend.backend() != "tensorflow":
        raise UserError(
            "model.hybrid.character_ngrams are found with TensorFlow ops; serve with KERAS_BACKEND=tensorflow"
        )
    return WordAndCharacterBags(vocabulary, max_ngram, negation)
