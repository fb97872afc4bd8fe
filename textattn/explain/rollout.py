"""Attention rollout (Abnar & Zuidema 2020): how much each input token flows into each position.

Layer l's self-attention ``A_l`` has shape (batch, T, T), row i = how query
position i mixes the positions below it; rows sum to 1. With multi-head
attention the heads are averaged first. Where the block adds its input back
(a residual), the identity is mixed in: ``0.5 * A + 0.5 * I``, rows
renormalised. The rollout multiplies the layers, last on the left::

    R = Â_L @ ... @ Â_1            (batch, T, T): output position i's mix of input tokens
    w = q @ R                      (batch, T): the pooled vector's mix of input tokens

where ``q`` (batch, T) is the pooling's own mix of the last layer's positions
(see ``pool_query``). Each factor is row-stochastic, so ``w`` sums to 1.
"""

from keras import ops


def average_heads(scores):
    """(batch, heads, Tq, Tv) -> (batch, Tq, Tv): the heads' mean attention."""
    return ops.mean(scores, axis=1)


def normalise_rows(matrix):
    """Divide each row of (..., T) by its sum; an all-zero row stays zero."""
    total = ops.sum(matrix, axis=-1, keepdims=True)
    return ops.where(total > 0, matrix / ops.where(total > 0, total, 1.0), 0.0)


def with_residual(attention):
    """(batch, T, T) -> rows of ``0.5 * A + 0.5 * I``, renormalised: attention plus the skip path."""
    eye = ops.eye(ops.shape(attention)[-1], dtype=attention.dtype)
    return normalise_rows(0.5 * attention + 0.5 * eye)


def rollout(attentions):
    """[A_1, ..., A_L], each (batch, T, T) -> R = A_L @ ... @ A_1, (batch, T, T).

    Pass each ``A_l`` through ``with_residual`` first where its block has a residual.
    """
    result = attentions[0]
    for attention in attentions[1:]:
        result = ops.matmul(attention, result)
    return result


def carry_into_pool(query, rollout_matrix):
    """query (batch, T) over the last layer's positions, R (batch, T, T) -> (batch, T) over input tokens."""
    return ops.squeeze(ops.matmul(ops.expand_dims(query, 1), rollout_matrix), 1)
