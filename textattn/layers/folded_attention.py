"""``keras.layers.Attention`` with its scale and padding mask folded into the score matmul."""

import keras
from keras import ops

from textattn.compat import keras_layers

# Added to the scores of masked keys, as keras.layers.Attention does (float16: its largest value).
MASKED_SCORE = 1.0e9


def fold_key_mask(query, key, value_mask):
    """Queries and keys whose product also adds the key mask's bias to every score.

    query (batch, ..., Tq, d), key (batch, ..., Tv, d), value_mask (batch, Tv) ->
    query (batch, ..., Tq, d + 1) with a column of ones, key (batch, ..., Tv, d + 1)
    with a column that is 0 at a real key and -1e9 at a masked one (float16: its
    largest value), so ``query @ key^T`` is the scores with the mask's bias added.
    """
    dtype = key.dtype
    big = 65504.0 if dtype == "float16" else MASKED_SCORE
    bias = ops.where(ops.cast(value_mask, "bool"), ops.cast(0.0, dtype), ops.cast(-big, dtype))
    bias = ops.expand_dims(bias, -1)  # (batch, Tv, 1)
    for _ in range(len(key.shape) - 3):  # (batch, 1, ..., Tv, 1)
        bias = ops.expand_dims(bias, 1)
    bias = ops.broadcast_to(bias, (*ops.shape(key)[:-1], 1))
    return (ops.concatenate([query, ops.ones_like(query[..., :1])], axis=-1), ops.concatenate([key, bias], axis=-1))


@keras.saving.register_keras_serializable(package="textattn")
class FoldedAttention(keras.layers.Attention):
    """Dot-product attention computing what ``keras.layers.Attention(score_mode="dot")`` computes, faster.

    The parent scales the (batch, Tq, Tv) scores after the matmul, and masks
    them with a broadcast ``where``: two more passes over the largest tensor of
    the model, forward and backward. Here the scale multiplies the queries
    (batch, Tq, dim) instead, and the padding mask enters the score matmul
    itself as one more feature: queries get a column of ones, keys a column
    that is 0 at a real key and -1e9 at a masked one, so the matmul adds the
    parent's mask bias. Same weights, same config, same outputs (to float
    rounding); ``bench/attention_kernels.py`` times both (bench/README.md).

    ``score_mode="concat"``, ``use_causal_mask`` and ``return_attention_scores``
    take the parent's path, and so does every call on a Keras without the
    parent's argument checks (``textattn.compat.keras_layers``).

    Call:
        inputs: [query (batch, Tq, dim), value (batch, Tv, dim)] or [query, value, key (batch, Tv, dim)].
        mask: optional [query_mask (batch, Tq), value_mask (batch, Tv)] bool.
    Returns:
        (batch, Tq, dim); zeros at masked query steps, whose mask it passes on.
    """

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        if (
            self.score_mode != "dot"
            or return_attention_scores
            or use_causal_mask
            or not keras_layers.validate_attention_inputs(self, inputs, mask)
        ):
            return super().call(
                inputs,
                mask=mask,
                training=training,
                return_attention_scores=return_attention_scores,
                use_causal_mask=use_causal_mask,
            )
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        if self.scale is not None:
            query = query * ops.cast(self.scale, query.dtype)
        if value_mask is not None:
            query, key = fold_key_mask(query, key, value_mask)
        scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = keras.random.dropout(weights, self.dropout, seed=self.seed_generator)
        output = ops.matmul(weights, value)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(ops.cast(query_mask, "bool"), -1), output, 0)
        return output
