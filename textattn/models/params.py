"""Parameter counts: total, trainable and non-embedding."""

import keras

from textattn.models.registry import TOKEN_EMBEDDING


def count_params(model: keras.Model) -> dict[str, int]:
    """{total, trainable, non_embedding}; non-embedding leaves out the token table."""
    total = sum(_size(w) for w in model.weights)
    trainable = sum(_size(w) for w in model.trainable_weights)
    embedding = sum(_size(w) for w in model.get_layer(TOKEN_EMBEDDING).weights)
    return {"total": total, "trainable": trainable, "non_embedding": total - embedding}


def _size(variable) -> int:
    n = 1
    for d in variable.shape:
        n *= int(d)
    return n
