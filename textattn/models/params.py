"""Parameter counts: total, trainable and non-embedding."""

import keras

from textattn.models.bag_models import NB_LAYER
from textattn.models.token_model import TOKEN_EMBEDDING


def count_params(model: keras.Model) -> dict[str, int]:
    """{total, trainable, non_embedding}; non-embedding leaves out the token and n-gram tables."""
    total = sum(_size(w) for w in model.weights)
    trainable = sum(_size(w) for w in model.trainable_weights)
    embedding = sum(_size(w) for w in model.weights if _is_lookup_table(w))
    return {"total": total, "trainable": trainable, "non_embedding": total - embedding}


def _is_lookup_table(variable) -> bool:
    """Token embeddings and per-n-gram tables: rows looked up by id, not computation."""
    parts = variable.path.split("/")
    return TOKEN_EMBEDDING in parts or (NB_LAYER in parts and parts[-1] != "bias")


def _size(variable) -> int:
    n = 1
    for d in variable.shape:
        n *= int(d)
    return n
