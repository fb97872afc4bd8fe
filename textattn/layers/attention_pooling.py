"""Attention pooling: a learned query attends over the sequence."""

import math

import keras
from keras import ops

from textattn.layers.masking import masked_softmax


@keras.saving.register_keras_serializable(package="textattn")
class AttentionPooling(keras.layers.Layer):
    """Pools a sequence into one vector with weights from a learned query.

    ``weights = softmax_t((x_t W_k) · q / sqrt(units))`` over unmasked steps;
    the output is ``sum_t weights_t x_t``.

    Args:
        units: size of the key projection and the learned query.

    Call:
        inputs: float tensor, shape (batch, length, dim).
        mask: optional bool tensor, shape (batch, length).
        return_attention_scores: also return the weights, shape (batch, length).
    Returns:
        float tensor, shape (batch, dim); no mask (the time axis is gone).
    """

    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.supports_masking = True

    def build(self, input_shape):
        self.key_projection = keras.layers.Dense(self.units, name="key_projection")
        self.key_projection.build(input_shape)
        self.query = self.add_weight(name="query", shape=(self.units,), initializer="glorot_uniform")

    def call(self, inputs, mask=None, return_attention_scores=False):
        keys = self.key_projection(inputs)  # (B, T, U)
        scores = ops.tensordot(keys, self.query, axes=1) / math.sqrt(self.units)  # (B, T)
        weights = masked_softmax(scores, mask)
        pooled = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        return (pooled, weights) if return_attention_scores else pooled

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}
