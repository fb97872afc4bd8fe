"""``keras.layers.MultiHeadAttention`` with its scale and key padding mask folded into the score matmul."""

import math

import keras
from keras import ops

from textattn.compat import keras_layers
from textattn.layers.folded_attention import fold_key_mask


@keras.saving.register_keras_serializable(package="textattn")
class FoldedMultiHeadAttention(keras.layers.MultiHeadAttention):
    """Multi-head attention computing what ``keras.layers.MultiHeadAttention`` computes, faster.

    With Keras masks on its inputs the parent builds a (batch, T, S) boolean
    attention mask, scales the (batch, heads, T, S) logits and masks them with
    a broadcast ``where``, each a pass over the largest tensor of the model.
    Here the scale multiplies the projected queries, and the key mask enters
    the score matmul as one more feature per head (queries get a column of
    ones, keys a column that is 0 at a real key and -1e9 at a masked one).
    Same weights, config and outputs at unmasked query steps (to float
    rounding); a masked query step attends to the real keys instead of
    uniformly to all keys, and keeps its mask so later layers ignore it.

    Only self-contained inputs (batch, T, dim) with the default attention axis
    take this path; an explicit ``attention_mask``, ``key_mask``, a causal or
    sliding-window mask, a gate, or ``return_attention_scores`` take the parent's,
    and so does every call on a Keras without the private parts this path reads
    (``textattn.compat.keras_layers``).

    Call:
        query (batch, T, dim), value (batch, S, dim), key (batch, S, dim) or None (= value);
        the Keras masks of query and value, (batch, T) and (batch, S) bool, if any.
    Returns:
        (batch, T, output_shape or dim), carrying the query's mask.
    """

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        private = keras_layers.mha_private_parts(self)
        parents_path = (
            attention_mask is not None
            or key_mask is not None
            or return_attention_scores
            or use_causal_mask
            or len(query.shape) != 3
            or self.attention_axes not in (None, (1,), [1])
            or private is None
            or private.sliding_window is not None
            or private.use_gate
        )
        if parents_path:
            return super().call(
                query,
                value,
                key=key,
                query_mask=query_mask,
                value_mask=value_mask,
                key_mask=key_mask,
                attention_mask=attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
                use_causal_mask=use_causal_mask,
            )
        key = value if key is None else key
        # Copies without the Keras mask attached: the projections take no masks.
        query, key, value = ops.copy(query), ops.copy(key), ops.copy(value)
        # The parent's scale, computed as it computes it.
        q = self.query_dense(query) * ops.cast(1.0 / math.sqrt(float(self.key_dim)), query.dtype)  # (B, T, N, H)
        k = self.key_dense(key)  # (B, S, N, H)
        v = self.value_dense(value)  # (B, S, N, Hv)
        q = ops.transpose(q, (0, 2, 1, 3))  # (B, N, T, H)
        k = ops.transpose(k, (0, 2, 1, 3))  # (B, N, S, H)
        v = ops.transpose(v, (0, 2, 1, 3))  # (B, N, S, Hv)
        if value_mask is not None:
            q, k = fold_key_mask(q, k, value_mask)
        scores = ops.softmax(ops.matmul(q, ops.swapaxes(k, -2, -1)), axis=-1)  # (B, N, T, S)
        if self.dropout > 0:
            scores = private.dropout_layer(scores, training=training)
        output = ops.transpose(ops.matmul(scores, v), (0, 2, 1, 3))  # (B, T, N, Hv)
        return self.output_dense(output)
