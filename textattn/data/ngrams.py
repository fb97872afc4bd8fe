"""Review text to bags of n-gram ids, for the n-gram model and the n-gram branch of ``hybrid``.

A review becomes the set of its distinct in-vocabulary word n-grams (1 to
``max_ngram`` words, after the same standardization as the word pipeline).
The vocabulary is fitted on the part trained on. Bags are stored ragged:
``values`` (all ids, concatenated) and ``row_splits`` (N + 1,), which is
compact enough to cache 800k-n-gram vocabularies; they become a
``tf.SparseTensor`` of shape (batch, vocab_size) one batch at a time.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from textattn.data.text import standardizer

OOV_ID = 0  # in multi-hot mode the vocabulary has no padding entry: index 0 is "[UNK]"


def make_ngram_vectorizer(
    vocab_size: int, max_ngram: int, vocabulary=None, negation: str = "none"
) -> keras.layers.TextVectorization:
    """Raw text (batch,) -> multi-hot n-gram features, a SparseTensor (batch, vocab_size).

    ``negation`` (``data.negation``) picks the standardizer, as for the word vectorizer.
    """
    return keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=standardizer(negation),
        ngrams=max_ngram if max_ngram > 1 else None,
        output_mode="multi_hot",
        sparse=True,
        vocabulary=vocabulary,
    )


def adapt_ngram_vectorizer(texts, vocab_size: int, max_ngram: int, batch_size: int = 1024, negation: str = "none"):
    """Fit the ``vocab_size`` most frequent n-grams of ``texts`` (list of str)."""
    vectorizer = make_ngram_vectorizer(vocab_size, max_ngram, negation=negation)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size))
    return vectorizer


def texts_to_bags(vectorizer, texts, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct in-vocabulary n-gram ids, sorted: (values int32 (nnz,), row_splits int64 (N + 1,)).

    The OOV bucket is left out: it carries no evidence.
    """
    values, lengths = [], []
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size)
    for features in ds.map(vectorizer, num_parallel_calls=tf.data.AUTOTUNE):
        features = tf.sparse.reorder(features)
        rows = features.indices[:, 0].numpy()
        ids = features.indices[:, 1].numpy()
        keep = ids != OOV_ID
        values.append(ids[keep].astype(np.int32))
        lengths.append(np.bincount(rows[keep], minlength=int(features.dense_shape[0])))
    if not values:
        return np.zeros(0, np.int32), np.zeros(1, np.int64)
    row_splits = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)
    return np.concatenate(values), row_splits


def concat_bags(*bags) -> tuple[np.ndarray, np.ndarray]:
    """Ragged bags stacked row-wise."""
    values = np.concatenate([b[0] for b in bags])
    splits, offset = [np.zeros(1, np.int64)], 0
    for _, row_splits in bags:
        splits.append(row_splits[1:] + offset)
        offset += row_splits[-1]
    return values, np.concatenate(splits)


def join_bags(first, second, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ids of ragged bags ``first`` then ``second`` (both (values, row_splits), the same number of
    rows), ``second``'s ids moved up by ``offset``: (values int32 (nnz,), row_splits int64 (N + 1,))."""
    (a, a_splits), (b, b_splits) = first, second
    a_lengths, b_lengths = np.diff(a_splits), np.diff(b_splits)
    if len(a_lengths) != len(b_lengths):
        raise ValueError(f"cannot join bags of {len(a_lengths)} and {len(b_lengths)} rows")
    row_splits = np.concatenate([[0], np.cumsum(a_lengths + b_lengths)]).astype(np.int64)
    values = np.empty(row_splits[-1], np.int32)
    # Each value's place: its row's start (plus the first bag's length, for the second), plus its offset in the row.
    values[np.repeat(row_splits[:-1], a_lengths) + np.arange(len(a)) - np.repeat(a_splits[:-1], a_lengths)] = a
    b_starts = row_splits[:-1] + a_lengths
    values[np.repeat(b_starts, b_lengths) + np.arange(len(b)) - np.repeat(b_splits[:-1], b_lengths)] = b + offset
    return values, row_splits


def bags_to_sparse(ids: tf.RaggedTensor, vocab_size: int) -> tf.SparseTensor:
    """A batch of bags, ragged int64 (batch, None), -> multi-hot SparseTensor (batch, vocab_size)."""
    indices = tf.stack([ids.value_rowids(), ids.values], axis=1)
    return tf.SparseTensor(indices, tf.ones_like(ids.values, tf.float32), [ids.nrows(), vocab_size])
