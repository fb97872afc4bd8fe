"""Bahdanau (additive) attention with its own query and key projections."""

import keras
from keras import ops

from textattn.layers.masking import masked_softmax


@keras.saving.register_keras_serializable(package="textattn")
class BahdanauAttention(keras.layers.Layer):
    """score(q, k) = vᵀ tanh(W_q q + W_k k); softmax over the unmasked keys.

    Keys are the values (as in Bahdanau et al.); pass ``[query, value]``.

    Args:
        units: size of the hidden projection (rows of W_q and W_k, length of v).
        dropout: dropout on the attention weights.

    Call:
        inputs: ``[query, value]``; query (batch, Tq, dq), value (batch, Tv, dv).
        mask: optional ``[query_mask, value_mask]``, bool (batch, Tq) / (batch, Tv).
        return_attention_scores: also return the weights, shape (batch, Tq, Tv).
    Returns:
        context, shape (batch, Tq, dv), with the query mask.
    """

    def __init__(self, units, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.dropout = float(dropout)
        self.supports_masking = True

    def build(self, input_shape):
        query_shape, value_shape = input_shape
        self.query_projection = keras.layers.Dense(self.units, use_bias=False, name="query_projection")
        self.query_projection.build(query_shape)
        self.key_projection = keras.layers.Dense(self.units, use_bias=True, name="key_projection")
        self.key_projection.build(value_shape)
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,), initializer="glorot_uniform")
        self.weights_dropout = keras.layers.Dropout(self.dropout)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False):
        query, value = inputs
        value_mask = mask[1] if mask is not None else None
        q = ops.expand_dims(self.query_projection(query), 2)  # (B, Tq, 1, U)
        k = ops.expand_dims(self.key_projection(value), 1)  # (B, 1, Tv, U)
        scores = ops.tensordot(ops.tanh(q + k), self.score_vector, axes=1)  # (B, Tq, Tv)
        key_mask = None if value_mask is None else ops.expand_dims(value_mask, 1)
        weights = masked_softmax(scores, key_mask)
        context = ops.matmul(self.weights_dropout(weights, training=training), value)
        return (context, weights) if return_attention_scores else context

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape
        return (*query_shape[:-1], value_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "dropout": self.dropout}
