"""The word-sequence model every variant with a body sits in.

token ids (batch, sequence_length) int32 (any length with train.bucket_by_length) -> Embedding (batch, length, dim), masked with model.mask_padding
-> positions (model.positional) -> the variant's body -> (batch, length, width) or (batch, width)
-> pooling over unmasked steps (model.pooling), for a sequence
-> head: (batch, C) softmax over the C classes, or (batch, 1) sigmoid (C = 2 only),
   or (batch, L) sigmoids, one per label (data.multi_label)
"""

from __future__ import annotations

from typing import Callable

import keras

from textattn.config import Config, ModelConfig
from textattn.layers import AttentionPooling, MaskedGlobalMaxPooling1D, PositionalEmbedding, SinusoidalPositionEncoding
from textattn.models.bodies import BODIES
from textattn.variants import TOKEN_IDS

TOKEN_EMBEDDING = "token_embedding"


def build_word_model(config: Config, num_classes: int = 2) -> keras.Model:
    """The uncompiled model of the word-sequence variant ``config.model.variant``: ``build_token_model``
    around its body (``BODIES``)."""
    return build_token_model(config, BODIES[config.model.variant], num_classes)


def build_token_model(config: Config, body: Callable, num_classes: int = 2) -> keras.Model:
    """The uncompiled model: token ids (batch, sequence_length) -> probabilities of ``num_classes`` classes,
    around ``body``."""
    m = config.model
    # Bucketed batches (train.bucket_by_length) are cut to their longest review: any length up to sequence_length.
    length = None if config.train.bucket_by_length else config.data.sequence_length
    inputs = keras.Input(shape=(length,), dtype="int32", name=TOKEN_IDS)
    x = keras.layers.Embedding(config.data.vocab_size, m.embedding_dim, mask_zero=m.mask_padding, name=TOKEN_EMBEDDING)(
        inputs
    )
    x = add_positions(x, config)
    x = body(x, config)
    if len(x.shape) == 3:
        x = pool(x, m.pooling)
    outputs = head(x, m, num_classes, config.data.multi_label)
    return keras.Model(inputs, outputs, name=config.name.replace("-", "_") or m.variant)


def add_positions(x, config: Config):
    """(batch, length, dim) -> same shape, with positional information added."""
    kind = config.model.positional
    if kind == "learned":
        return PositionalEmbedding(config.data.sequence_length, name="positional_embedding")(x)
    if kind == "sinusoidal":
        return SinusoidalPositionEncoding(name="sinusoidal_encoding")(x)
    return x


def pool(x, kind: str):
    """(batch, length, width) -> (batch, width), over unmasked steps."""
    if kind == "average":
        return keras.layers.GlobalAveragePooling1D(name="average_pool")(x)
    if kind == "max":
        return MaskedGlobalMaxPooling1D(name="max_pool")(x)
    return AttentionPooling(units=x.shape[-1], name="attention_pool")(x)


def head(x, model: ModelConfig, num_classes: int = 2, multi_label: bool = False):
    """(batch, width) -> class probabilities: (batch, num_classes) softmax or (batch, 1) sigmoid (2 classes);
    ``multi_label``: (batch, num_classes) independent sigmoids, one per label (model.head is not read)."""
    if model.dropout:
        x = keras.layers.Dropout(model.dropout, name="head_dropout")(x)
    if multi_label:
        return keras.layers.Dense(num_classes, activation="sigmoid", name="classifier")(x)
    if model.head == "sigmoid":
        return keras.layers.Dense(1, activation="sigmoid", name="classifier")(x)
    return keras.layers.Dense(num_classes, activation="softmax", name="classifier")(x)
