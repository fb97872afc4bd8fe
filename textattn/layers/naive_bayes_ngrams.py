"""Naive-Bayes-weighted logistic regression over a bag of n-grams (NBSVM-style)."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="textattn")
class NaiveBayesNgramLogits(keras.layers.Layer):
    """Class logits from multi-hot n-gram features, each feature scaled by its
    Naive Bayes log-count ratio (Wang & Manning 2012).

    ``logits[b, c] = sum_g x[b, g] * r[g, c] * w[g] + bias[c]``

    ``r`` (vocab_size, classes) holds the log-count ratios computed on the
    training part (non-trainable, set with ``set_log_count_ratios``); ``w``
    (vocab_size, 1) is one trainable weight per n-gram, starting at 0 so the
    layer starts as a constant and learns a logistic regression on the
    NB-scaled features.

    Args:
        vocab_size: number of n-gram features (the n-gram vocabulary, OOV included).
        num_classes: number of output logits.

    Call:
        inputs: multi-hot features, shape (batch, vocab_size); a ``tf.SparseTensor``
            (dense works too, but 800k columns dense take GBs per batch).
    Returns:
        float tensor, shape (batch, num_classes). No mask (the input is a bag).
    """

    def __init__(self, vocab_size, num_classes=2, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        self.log_count_ratio = self.add_weight(
            name="log_count_ratio", shape=(self.vocab_size, self.num_classes), initializer="zeros", trainable=False
        )
        self.ngram_weight = self.add_weight(name="ngram_weight", shape=(self.vocab_size, 1), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.num_classes,), initializer="zeros")

    def set_log_count_ratios(self, ratios):
        """Store ``ratios`` (vocab_size, num_classes), e.g. from ``log_count_ratios``."""
        ratios = np.asarray(ratios, dtype="float32")
        if ratios.shape != (self.vocab_size, self.num_classes):
            raise ValueError(f"expected ratios of shape {(self.vocab_size, self.num_classes)}, got {ratios.shape}")
        self.log_count_ratio.assign(ratios)

    def feature_weights(self):
        """The effective weight of each n-gram per class, ``r * w``: shape (vocab_size, num_classes)."""
        return self.log_count_ratio * self.ngram_weight

    def call(self, inputs):
        return ops.matmul(ops.cast(inputs, self.compute_dtype), self.feature_weights()) + self.bias

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "num_classes": self.num_classes}


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
