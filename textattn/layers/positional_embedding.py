"""Learned positional embedding: a trainable position table added to the input."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textattn")
class PositionalEmbedding(keras.layers.Layer):
    """Adds a trainable ``(sequence_length, dim)`` position table to token embeddings.

    Args:
        sequence_length: the longest sequence the table covers.
        initializer: initializer of the table.

    Call:
        inputs: float tensor, shape (batch, length, dim), length <= sequence_length.
    Returns:
        float tensor, shape (batch, length, dim). The padding mask passes through.
    """

    def __init__(self, sequence_length, initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = int(sequence_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.position_table = self.add_weight(
            name="position_table",
            shape=(self.sequence_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs, mask=None):
        # Positions are added at every step; the mask passes through untouched.
        length = ops.shape(inputs)[1]
        return inputs + ops.cast(self.position_table[:length], inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "initializer": keras.initializers.serialize(self.initializer),
        }
