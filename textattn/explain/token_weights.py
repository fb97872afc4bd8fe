"""Token weights of a word-sequence model: token ids (batch, T) -> weights (batch, T).

Which quantity a weight is depends on the model (``weight_kind``; sentences in ``meaning``):

- ``attention_pooling``: no attention body, attention pooling: the pooling's weights.
- ``rollout``: stacked self-attention (``attention``, ``additive``, ``mha``,
  ``transformer``): attention rollout carried into the pooled vector (``rollout``, ``pool_query``).
- ``rnn_attention``: the Bahdanau pooling weights over the RNN's states.
- ``gradient_x_input``: ``baseline`` with average or max pooling: |gradient of the
  positive-vs-negative logit with respect to the token's embedding · the embedding|
  (more than two classes: the predicted class's logit minus the mean logit).

Intermediate tensors come from a probe: a ``keras.Model`` from the model's input
to the inputs of its attention layers, which are then called again with
``return_attention_scores=True``. Padding gets 0; over a review's tokens the
weights are non-negative and sum to 1 (a review with no token gets all zeros).
"""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf
from keras import ops

from textattn.explain import pool_query, rollout
from textattn.explain.weight_kinds import (  # noqa: F401  (weight_kind is this module's too)
    ATTENTION_POOLING,
    GRADIENT_X_INPUT,
    RNN_ATTENTION,
    ROLLOUT,
    attention_layer_names,
    weight_kind,
)
from textattn.layers import TransformerBlock
from textattn.models.token_model import TOKEN_EMBEDDING

POOL_LAYERS = {"average": "average_pool", "max": "max_pool", "attention": "attention_pool"}
RNN_POOL_LAYER = "bahdanau_pool"
CLASSIFIER = "classifier"


def normalise(weights, real):
    """weights (batch, T) >= 0, real bool (batch, T) -> zero off the real tokens, each row summing to 1.

    A row whose real tokens all weigh 0 becomes uniform over them; a row
    without any real token stays all zeros.
    """
    real = ops.cast(real, weights.dtype)
    weights = weights * real
    total = ops.sum(weights, axis=-1, keepdims=True)
    uniform = pool_query.uniform_query(real, weights.dtype)
    return ops.where(total > 0, weights / ops.where(total > 0, total, 1.0), uniform)


def self_attention(layer, x, mask):
    """One stacked self-attention layer's attention on its input x (batch, T, D): (batch, T, T).

    Heads are averaged; a TransformerBlock's residual adds the identity
    (``rollout.with_residual``). The other bodies have no residual.
    """
    if isinstance(layer, TransformerBlock):
        _, scores = layer.attention(
            x, x, query_mask=mask, value_mask=mask, return_attention_scores=True, training=False
        )
        return rollout.with_residual(rollout.average_heads(scores))
    if isinstance(layer, keras.layers.MultiHeadAttention):
        _, scores = layer(x, x, query_mask=mask, value_mask=mask, return_attention_scores=True, training=False)
        return rollout.average_heads(scores)
    # keras.layers.Attention, keras.layers.AdditiveAttention, textattn's BahdanauAttention: [query, value].
    _, scores = layer([x, x], mask=None if mask is None else [mask, mask], return_attention_scores=True, training=False)
    return scores


def _tensors(node_input) -> list:
    return list(node_input) if isinstance(node_input, (list, tuple)) else [node_input]


def _accepts(layer, argument: str) -> bool:
    return argument in inspect.signature(layer.call).parameters


class TokenWeigher:
    """``weigher(ids)``: token ids int (batch, T) -> float32 weights (batch, T) for ``model``.

    Args:
        model: a word-sequence model built by ``build_model`` (not ``ngram`` or
            ``hybrid``; pass the hybrid's ``word_branch``).
        model_config: its ``ModelConfig`` (for the hybrid, the word branch's).
    """

    def __init__(self, model: keras.Model, model_config):
        self.model = model
        self.kind = weight_kind(model_config)
        self.embedding = model.get_layer(TOKEN_EMBEDDING)
        self.attention_layers = [model.get_layer(name) for name in attention_layer_names(model_config)]
        self.pooling = model_config.pooling
        outputs = [_tensors(layer.input)[0] for layer in self.attention_layers]
        if self.kind == RNN_ATTENTION:
            self.pool = model.get_layer(RNN_POOL_LAYER)
            outputs += _tensors(self.pool.input)[:2]  # [final state as query (batch, 1, W), states (batch, T, W)]
        elif self.kind in (ROLLOUT, ATTENTION_POOLING):
            self.pool = model.get_layer(POOL_LAYERS[self.pooling])
            outputs.append(_tensors(self.pool.input)[0])  # the sequence pooled, (batch, T, W)
        self.probe = keras.Model(model.input, outputs, name="explain_probe") if outputs else None
        if self.kind == GRADIENT_X_INPUT:
            after = model.layers[model.layers.index(self.embedding) + 1 :]
            self.chain = [layer for layer in after if layer.name != CLASSIFIER]
            self.classifier = model.get_layer(CLASSIFIER)

    def __call__(self, ids):
        ids = ops.convert_to_tensor(ids, "int32")
        mask = self.embedding.compute_mask(ids)  # None when the model does not mask padding
        if self.kind == GRADIENT_X_INPUT:
            raw = self._gradient_x_input(ids, mask)
        else:
            probed = self.probe(ids, training=False)
            probed = _tensors(probed)
            weigh = {
                ATTENTION_POOLING: self._attention_pooling,
                RNN_ATTENTION: self._rnn_attention,
                ROLLOUT: self._rollout,
            }[self.kind]
            raw = weigh(probed, ids, mask)
        return normalise(ops.cast(raw, "float32"), ids != 0)

    def _attention_pooling(self, probed, ids, mask):
        _, weights = self.pool(probed[-1], mask=mask, return_attention_scores=True)
        return weights

    def _rnn_attention(self, probed, ids, mask):
        query, states = probed
        _, weights = self.pool([query, states], mask=[None, mask], return_attention_scores=True, training=False)
        return weights[:, 0, :]

    def _rollout(self, probed, ids, mask):
        inputs, pooled_sequence = probed[:-1], probed[-1]
        matrices = [self_attention(layer, x, mask) for layer, x in zip(self.attention_layers, inputs)]
        real_or_all = ids != 0 if mask is not None else ops.ones_like(ids, dtype="bool")
        if self.pooling == "attention":
            query = self._attention_pooling(probed, ids, mask)
        elif self.pooling == "max":
            query = pool_query.max_query(pooled_sequence, mask)
        else:
            query = pool_query.uniform_query(real_or_all, pooled_sequence.dtype)
        return rollout.carry_into_pool(ops.cast(query, matrices[0].dtype), rollout.rollout(matrices))

    def _gradient_x_input(self, ids, mask):
        embeddings = self.embedding(ids)
        with tf.GradientTape() as tape:
            tape.watch(embeddings)
            logit = self._logit(embeddings, mask)
        gradient = tape.gradient(logit, embeddings)
        return ops.abs(ops.sum(gradient * embeddings, axis=-1))

    def _logit(self, embeddings, mask):
        """The positive-vs-negative logit (log-odds) from the embeddings, replaying the baseline's chain.

        With C > 2 classes: the predicted class's logit minus the mean of the C logits.
        """
        h = embeddings
        for layer in self.chain:  # positions, pooling, head dropout
            kwargs = {"training": False} if _accepts(layer, "training") else {}
            if _accepts(layer, "mask"):
                h, mask = layer(h, mask=mask, **kwargs), layer.compute_mask(h, mask)
            else:
                h = layer(h, **kwargs)
        logits = ops.matmul(h, self.classifier.kernel) + self.classifier.bias  # before softmax / sigmoid
        if logits.shape[-1] == 1:
            return logits[:, 0]
        if logits.shape[-1] == 2:
            return logits[:, 1] - logits[:, 0]
        predicted = ops.one_hot(ops.argmax(ops.stop_gradient(logits), axis=-1), logits.shape[-1], dtype=logits.dtype)
        return ops.sum(logits * predicted, axis=-1) - ops.mean(logits, axis=-1)
