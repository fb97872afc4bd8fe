"""Naive-Bayes-weighted logistic regression over a bag of n-grams (NBSVM-style)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="textattn")
class NaiveBayesNgramLogits(keras.layers.Layer):
    """Class logits from multi-hot n-gram features, each feature scaled by its
    Naive Bayes log-count ratio (Wang & Manning 2012).

    ``logits[b, c] = sum_g x[b, g] * fw[g, c] + bias[c]``, ``fw[g, c] = r[g, c] * w[g]``

    ``r`` (vocab_size, classes) holds the log-count ratios computed on the
    training part (non-trainable, set with ``set_log_count_ratios``); ``w``
    (vocab_size, 1) is one trainable weight per n-gram, starting at 0 so the
    layer starts as a constant and learns a logistic regression on the
    NB-scaled features.

    With ``negation_transfer`` a word marked as negated (``not_bad``, textattn/data/negation.py)
    also carries its plain word's weight times one learned factor shared by every word:
    ``fw[not_x, c] += f * r[x, c] * w[x]`` (``f`` starts at 0; a negative ``f`` would flip the
    word's polarity, a positive one keeps part of it). So a negated word seen rarely in training
    takes part of its plain word's evidence, where its own feature alone says little. Which word
    is whose negation is set with ``set_plain_words``. Outside training a call looks up only the
    n-grams present in its sparse input, not the whole table, so serving one text stays cheap
    (training multiplies the whole table, as Keras' sparse matmul does); ``feature_weights`` gives
    the whole table (for explain).

    Args:
        vocab_size: number of n-gram features (the n-gram vocabulary, OOV included).
        num_classes: number of output logits.
        negation_transfer: add the shared negation factor (above).

    Call:
        inputs: multi-hot features, shape (batch, vocab_size); a ``tf.SparseTensor``
            (dense works too, but 800k columns dense take GBs per batch).
    Returns:
        float tensor, shape (batch, num_classes). No mask (the input is a bag).
    """

    def __init__(self, vocab_size, num_classes=2, negation_transfer=False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.num_classes = int(num_classes)
        self.negation_transfer = bool(negation_transfer)

    def build(self, input_shape):
        self.log_count_ratio = self.add_weight(
            name="log_count_ratio", shape=(self.vocab_size, self.num_classes), initializer="zeros", trainable=False
        )
        self.ngram_weight = self.add_weight(name="ngram_weight", shape=(self.vocab_size, 1), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.num_classes,), initializer="zeros")
        if self.negation_transfer:
            # Row g: the id of the plain word that n-gram g negates; 0 (the OOV row, ratios 0) for every other n-gram.
            self.plain_word = self.add_weight(
                name="plain_word", shape=(self.vocab_size,), initializer="zeros", dtype="int32", trainable=False
            )
            self.negation_factor = self.add_weight(name="negation_factor", shape=(), initializer="zeros")

    def set_log_count_ratios(self, ratios):
        """Store ``ratios`` (vocab_size, num_classes), e.g. from ``log_count_ratios``."""
        self.log_count_ratio.assign(ratio_table(ratios, self.vocab_size, self.num_classes))

    def set_plain_words(self, plain_word):
        """Store ``plain_word`` (vocab_size,) int: for a negated word the id of its plain word, 0 for
        every other n-gram (e.g. from ``plain_words_of_negated``)."""
        if not self.negation_transfer:
            raise ValueError("this layer has no negation transfer (negation_transfer=False)")
        plain_word = np.asarray(plain_word, dtype="int32")
        if plain_word.shape != (self.vocab_size,):
            raise ValueError(f"expected plain word ids of shape {(self.vocab_size,)}, got {plain_word.shape}")
        self.plain_word.assign(plain_word)

    def feature_weights(self):
        """The effective weight of each n-gram per class (``fw`` above): shape (vocab_size, num_classes)."""
        return self.weights_of(ops.arange(self.vocab_size))

    def weights_of(self, ids):
        """The effective weights (``fw`` above) of the n-grams ``ids`` int (N,): (N, num_classes), gathered
        row by row, without the whole table (explain's per-n-gram contributions)."""
        ids = ops.cast(ids, "int32")
        weights = self.own_weights_of(ids)
        if self.negation_transfer:
            weights = weights + self.negation_factor * self.own_weights_of(ops.take(self.plain_word, ids))
        return weights

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(inputs, tf.SparseTensor) and not training:
            return self.bag_logits(inputs)
        # Training keeps Keras' sparse matmul. ``bag_logits`` gives the same logits, but its gradient adds
        # the same terms in another order, and that alone moved a retrained default's test accuracy by
        # +0.14 points and its ECE from 0.0194 to 0.0228 (docs/reading.md): so the figures stay reproducible.
        own_weights = self.log_count_ratio * self.ngram_weight  # r * w, before any transfer
        logits = ops.matmul(inputs, own_weights) + self.bias
        if self.negation_transfer:
            logits = logits + self.negation_factor * self.negated_evidence(inputs, own_weights)
        return logits

    def bag_logits(self, bag):
        """The logits of a ``tf.SparseTensor`` bag (batch, vocab_size) from the rows it holds: gathers of nnz
        rows and segment sums, never the whole table (Keras' sparse matmul first finds the unique columns
        and fills empty rows: 10x the time at batch 1 and 2x at 512 on a million columns)."""
        columns = bag.indices[:, 1]
        logits = sum_rows_of_bag(bag, self.own_weights_of(columns)) + self.bias
        if self.negation_transfer:
            negated = sum_rows_of_bag(bag, self.own_weights_of(ops.take(self.plain_word, columns)))
            logits = logits + self.negation_factor * negated
        return logits

    def negated_evidence(self, inputs, own_weights):
        """(batch, num_classes): for each row, the sum of ``x[g] * r[p] * w[p]`` over its n-grams g, p the
        plain word of g (0 for an n-gram that negates nothing): the term the negation factor multiplies.
        ``own_weights``: ``r * w`` (vocab_size, num_classes)."""
        if not isinstance(inputs, tf.SparseTensor):
            return ops.matmul(inputs, ops.take(own_weights, self.plain_word, axis=0))
        plain = ops.take(self.plain_word, inputs.indices[:, 1])
        return sum_rows_of_bag(inputs, ops.take(own_weights, plain, axis=0))

    def own_weights_of(self, ids):
        """``r * w`` of the n-grams ``ids`` (N,): (N, num_classes), before any transfer."""
        return ops.take(self.log_count_ratio, ids, axis=0) * ops.take(self.ngram_weight, ids, axis=0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "num_classes": self.num_classes,
            "negation_transfer": self.negation_transfer,
        }


def sum_rows_of_bag(bag: tf.SparseTensor, rows):
    """``bag @ table`` from the table rows its entries pick: ``rows`` (nnz, k), row i the table row of
    entry i's column. Returns (batch, k): each bag row's sum of its entries' rows times their values.

    Keras' ``ops.matmul`` on a SparseTensor (``tf.nn.embedding_lookup_sparse``) first finds the unique
    columns and fills empty rows, which costs most of the time on bags of a million columns; this is one
    segment sum adding the entries in the same order (on IMDB's bags the same sums to the bit)."""
    weighted = rows * ops.expand_dims(ops.cast(bag.values, rows.dtype), -1)
    return tf.math.unsorted_segment_sum(weighted, bag.indices[:, 0], bag.dense_shape[0])


def ratio_table(ratios, vocab_size: int, num_classes: int) -> np.ndarray:
    """``ratios`` as float32, checked to be (vocab_size, num_classes): a log-count ratio table to store."""
    ratios = np.asarray(ratios, dtype="float32")
    if ratios.shape != (vocab_size, num_classes):
        raise ValueError(f"expected ratios of shape {(vocab_size, num_classes)}, got {ratios.shape}")
    return ratios


def plain_words_of_negated(vocabulary, prefix: str) -> np.ndarray:
    """int32 (len(vocabulary),): for each unigram ``prefix + word`` whose plain ``word`` is in
    ``vocabulary`` too, that word's id; 0 for every other entry (n-grams of several words, plain words)."""
    ids = {token: i for i, token in enumerate(vocabulary)}
    plain = np.zeros(len(vocabulary), np.int32)
    for i, token in enumerate(vocabulary):
        if token.startswith(prefix) and " " not in token:
            plain[i] = ids.get(token[len(prefix) :], 0)
    return plain


def log_count_ratios(feature_rows, labels, vocab_size: int, num_classes: int, alpha: float = 1.0) -> np.ndarray:
    """Naive Bayes log-count ratios of binarized features, one column per class (one vs rest).

    ``r[g, c] = log((p_c[g] / |p_c|_1) / (q_c[g] / |q_c|_1))`` with ``p_c = alpha +``
    the number of class-c documents containing g, ``q_c`` the same over the
    other classes. Feature 0 (the OOV bucket) gets 0.

    Args:
        feature_rows: (values int (nnz,), row_splits int (N + 1,)): each document's distinct feature ids.
        labels: int (N,).
    Returns:
        float32 array, shape (vocab_size, num_classes).
    """
    return ratios_from_counts(class_document_counts(feature_rows, labels, vocab_size, num_classes), alpha)


def class_document_counts(feature_rows, labels, vocab_size: int, num_classes: int) -> np.ndarray:
    """float64 (num_classes, vocab_size): how many documents of each class hold each feature.

    Args as ``log_count_ratios``.
    """
    values, row_splits = feature_rows
    labels = np.asarray(labels)
    per_value_label = np.repeat(labels, np.diff(row_splits))
    counts = np.zeros((num_classes, vocab_size), dtype=np.float64)
    for c in range(num_classes):
        counts[c] = np.bincount(values[per_value_label == c], minlength=vocab_size)[:vocab_size]
    return counts


def ratios_from_counts(counts: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``log_count_ratios`` from per-class document counts (num_classes, vocab_size): float32 (vocab_size, num_classes)."""
    num_classes, vocab_size = counts.shape
    ratios = np.zeros((vocab_size, num_classes), dtype=np.float64)
    total = counts.sum(axis=0)
    for c in range(num_classes):
        p = alpha + counts[c]
        q = alpha + (total - counts[c])
        ratios[:, c] = np.log(p / p.sum()) - np.log(q / q.sum())
    ratios[0] = 0.0
    return ratios.astype("float32")
