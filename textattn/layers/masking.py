"""Mask helpers shared by the attention and pooling layers."""

from keras import ops


def masked_softmax(scores, mask=None, axis=-1):
    """Softmax of ``scores`` over ``axis`` that gives masked positions zero weight.

    ``mask`` is bool and broadcastable to ``scores``. A row with no unmasked
    position gets all-zero weights instead of NaN.
    """
    if mask is None:
        return ops.softmax(scores, axis=axis)
    mask = ops.cast(mask, "bool")
    very_negative = ops.cast(-1e9, scores.dtype)
    weights = ops.softmax(ops.where(mask, scores, very_negative), axis=axis)
    return weights * ops.cast(mask, weights.dtype)
