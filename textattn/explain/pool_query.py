"""What a pooling layer draws from each position of the sequence it pools: a query (batch, T).

Every query is non-negative and sums to 1 over the positions the pooling
reads (all of them when the model has no padding mask).

- average pooling: uniform over the positions (``GlobalAveragePooling1D``).
- max pooling: position t's share of the channels whose maximum it holds
  (the pooled vector's channel d is copied from one position, its arg-max).
- attention pooling: ``AttentionPooling``'s own weights (asked for with
  ``return_attention_scores=True``; not computed here).
"""

from keras import ops


def uniform_query(mask, dtype="float32"):
    """mask bool (batch, T) -> (batch, T) uniform over the unmasked positions (zeros where none).

    For a model without a padding mask pass all True: GlobalAveragePooling1D
    then averages over every position.
    """
    weights = ops.cast(mask, dtype)
    count = ops.sum(weights, axis=-1, keepdims=True)
    return ops.where(count > 0, weights / ops.where(count > 0, count, 1.0), 0.0)


def max_query(sequence, mask=None):
    """sequence (batch, T, D), mask bool (batch, T) or None -> (batch, T).

    Entry t is the fraction of the D channels whose masked maximum sits at
    position t (ties go to the first such position, as ``argmax`` breaks them).
    """
    if mask is not None:
        lowest = ops.cast(-1e9, sequence.dtype)
        sequence = ops.where(ops.expand_dims(ops.cast(mask, "bool"), -1), sequence, lowest)
    winners = ops.argmax(sequence, axis=1)  # (batch, D): the position each channel is copied from
    length = ops.shape(sequence)[1]
    return ops.mean(ops.one_hot(winners, length, axis=1, dtype="float32"), axis=-1)
