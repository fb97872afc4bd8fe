"""Global max pooling over time that ignores padded steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textattn")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Max over the unmasked time steps (``keras.layers.GlobalMaxPooling1D`` ignores masks).

    Call:
        inputs: float tensor, shape (batch, length, dim).
        mask: optional bool tensor, shape (batch, length).
    Returns:
        float tensor, shape (batch, dim); zeros for a row with no unmasked step.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        mask = ops.expand_dims(ops.cast(mask, "bool"), -1)
        lowest = ops.cast(-1e9, inputs.dtype)
        pooled = ops.max(ops.where(mask, inputs, lowest), axis=1)
        any_step = ops.any(mask, axis=1)
        return ops.where(any_step, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
