"""A slice of a multi-hot bag's columns: one blend member's part of a bag that holds several kinds of n-grams."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="textattn")
class BagColumns(keras.layers.Layer):
    """Columns ``start`` to ``stop`` - 1 of a bag, as a bag of their own with an out-of-vocabulary column 0.

    Column ``c`` (``start <= c < stop``) becomes column ``c - start + 1``; every other column is dropped.
    So ``BagColumns(1, V_words)`` is the identity on a bag whose word n-grams are columns 0 to V_words - 1,
    and ``BagColumns(V_words, V)`` gives its character n-grams their own vectorizer's columns
    (textattn/data/character_ngrams.py).

    Args:
        start: the first column kept.
        stop: one past the last column kept.

    Call:
        inputs: a ``tf.SparseTensor`` (batch, V) (or dense).
    Returns:
        the same kind, (batch, stop - start + 1), column 0 empty. No mask (the input is a bag).
    """

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= int(start) < int(stop):
            raise ValueError(f"BagColumns needs 0 <= start < stop, got {start} and {stop}")
        self.start, self.stop = int(start), int(stop)

    @property
    def width(self) -> int:
        return self.stop - self.start + 1

    def call(self, inputs):
        if not isinstance(inputs, tf.SparseTensor):
            batch = tf.shape(inputs)[0]
            return tf.concat([tf.zeros([batch, 1], inputs.dtype), inputs[:, self.start : self.stop]], axis=1)
        column = inputs.indices[:, 1]
        kept = tf.sparse.retain(inputs, (column >= self.start) & (column < self.stop))
        shift = tf.constant([0, self.start - 1], tf.int64)
        shape = tf.stack([inputs.dense_shape[0], tf.constant(self.width, tf.int64)])
        return tf.SparseTensor(kept.indices - shift, kept.values, shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.width)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], self.width), inputs.dtype, sparse=inputs.sparse)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}
