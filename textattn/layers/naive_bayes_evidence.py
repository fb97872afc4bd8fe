"""Plain Naive Bayes evidence over a bag of n-grams: the hybrid's Naive Bayes expert."""

import keras
import tensorflow as tf
from keras import ops

from textattn.layers.naive_bayes_ngrams import ratio_table, sum_rows_of_bag


@keras.saving.register_keras_serializable(package="textattn")
class NaiveBayesEvidence(keras.layers.Layer):
    """Class logits of binarized Naive Bayes: the sum of the present n-grams' log-count ratios, scaled.

    ``logits[b, c] = scale * sum_g x[b, g] * r[g, c]``

    ``r`` (vocab_size, classes) holds the log-count ratios of the training part (non-trainable,
    set with ``set_log_count_ratios``: the same table as the n-gram branch's
    ``NaiveBayesNgramLogits``). Nothing is learned: every n-gram keeps the direction and size of
    its counts, which on a short text is often more reliable than a discriminative weight fitted to
    long reviews (Wang & Manning 2012: Naive Bayes beats logistic regression on snippets). In the
    hybrid it is a blend member whose weight the blend fits (``model.hybrid.naive_bayes_expert``).
    ``scale`` only keeps the softmax's log-probabilities away from the blend's floor (1e-7: a
    log-odds of 16), so the blend stays linear in the evidence: the blend's weight sets its size.

    Args:
        vocab_size: number of n-gram features (the n-gram vocabulary, OOV included).
        num_classes: number of output logits.
        scale: the factor on the summed ratios.

    Call:
        inputs: multi-hot features (batch, vocab_size), a ``tf.SparseTensor`` (or dense).
    Returns:
        float tensor (batch, num_classes). No mask (the input is a bag).
    """

    def __init__(self, vocab_size, num_classes=2, scale=0.01, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.num_classes = int(num_classes)
        self.scale = float(scale)
        if self.scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")

    def build(self, input_shape):
        self.log_count_ratio = self.add_weight(
            name="log_count_ratio", shape=(self.vocab_size, self.num_classes), initializer="zeros", trainable=False
        )

    def set_log_count_ratios(self, ratios):
        """Store ``ratios`` (vocab_size, num_classes)."""
        self.log_count_ratio.assign(ratio_table(ratios, self.vocab_size, self.num_classes))

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(inputs, tf.SparseTensor):
            # The rows the bag holds, not Keras' sparse matmul (see sum_rows_of_bag).
            evidence = sum_rows_of_bag(inputs, ops.take(self.log_count_ratio, inputs.indices[:, 1], axis=0))
        else:
            evidence = ops.matmul(inputs, self.log_count_ratio)
        return evidence * self.scale

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "num_classes": self.num_classes,
            "scale": self.scale,
        }
