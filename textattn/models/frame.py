"""The parts shared by every variant: positions, pooling and the classification head."""

import keras

from textattn.config import Config, ModelConfig
from textattn.layers import AttentionPooling, MaskedGlobalMaxPooling1D, PositionalEmbedding, SinusoidalPositionEncoding


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


def head(x, model: ModelConfig):
    """(batch, width) -> class probabilities: (batch, 2) softmax or (batch, 1) sigmoid."""
    if model.dropout:
        x = keras.layers.Dropout(model.dropout, name="head_dropout")(x)
    if model.head == "sigmoid":
        return keras.layers.Dense(1, activation="sigmoid", name="classifier")(x)
    return keras.layers.Dense(2, activation="softmax", name="classifier")(x)
