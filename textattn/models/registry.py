"""Variant name -> body builder, and the shared frame every variant sits in."""

from __future__ import annotations

from typing import Callable

import keras

from textattn.config import Config
from textattn.errors import UserError

# A body takes token embeddings (batch, length, dim), possibly masked, and the
# config; it returns a sequence (batch, length, width) or a pooled (batch, width).
Body = Callable[[keras.KerasTensor, Config], keras.KerasTensor]
_BODIES: dict[str, Body] = {}

TOKEN_EMBEDDING = "token_embedding"


def register(name: str):
    def decorator(body: Body) -> Body:
        _BODIES[name] = body
        return body

    return decorator


BAG_VARIANTS = ("ngram", "hybrid")


def variants() -> list[str]:
    return sorted([*_BODIES, *BAG_VARIANTS])


def build_model(config: Config, ngram_vocab_size: int | None = None) -> keras.Model:
    """The uncompiled model for ``config``: token ids (batch, length) -> probabilities.

    Output shape is (batch, 2) for the softmax head, (batch, 1) for sigmoid.
    ``ngram`` takes n-gram bags and ``hybrid`` both inputs (see ``bag_models``);
    their n-gram table has ``ngram_vocab_size`` rows (default: model.ngram.vocab_size).
    """
    from textattn.models import bag_models, frame

    from textattn.backend import check_variant

    m = config.model
    check_variant(m.variant)
    if m.variant == "ngram":
        return bag_models.build_ngram_model(config, ngram_vocab_size)
    if m.variant == "hybrid":
        return bag_models.build_hybrid_model(config, ngram_vocab_size)
    if m.variant not in _BODIES:
        raise UserError(f"unknown model.variant {m.variant!r}; choose one of {', '.join(variants())}")
    inputs = keras.Input(shape=(config.data.sequence_length,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(
        config.data.vocab_size, m.embedding_dim, mask_zero=m.mask_padding, name=TOKEN_EMBEDDING
    )(inputs)
    x = frame.add_positions(x, config)
    x = _BODIES[m.variant](x, config)
    if len(x.shape) == 3:
        x = frame.pool(x, m.pooling)
    outputs = frame.head(x, m)
    return keras.Model(inputs, outputs, name=config.name.replace("-", "_") or m.variant)
