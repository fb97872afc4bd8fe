"""Fixed sinusoidal positional encoding of "Attention Is All You Need"."""

import keras
import numpy as np
from keras import ops


def sinusoidal_table(length, dim, max_wavelength=10_000.0):
    """The (length, dim) table: PE[p, 2i] = sin(p / w^(2i/dim)), PE[p, 2i+1] = cos(same).

    For odd ``dim`` the last column is the sine of the unpaired frequency.
    """
    positions = np.arange(length, dtype="float64")[:, None]
    even = np.arange(0, dim, 2, dtype="float64")
    angles = positions / np.power(max_wavelength, even / dim)
    table = np.zeros((length, dim), dtype="float64")
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : dim // 2])
    return table.astype("float32")


@keras.saving.register_keras_serializable(package="textattn")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Adds the fixed sin/cos position table to its input; no trainable weights.

    Args:
        max_wavelength: the longest wavelength of the sinusoids (10,000 in the paper).

    Call:
        inputs: float tensor, shape (batch, length, dim).
    Returns:
        float tensor, shape (batch, length, dim). The padding mask passes through.
    """

    def __init__(self, max_wavelength=10_000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = float(max_wavelength)
        self.supports_masking = True

    def build(self, input_shape):
        # Static lengths get a constant table; it is rebuilt from the shape, not saved.
        self._table = None
        if input_shape[1] is not None:
            self._table = sinusoidal_table(input_shape[1], input_shape[-1], self.max_wavelength)

    def call(self, inputs, mask=None):
        # Positions are added at every step; the mask passes through untouched.
        if self._table is not None:
            table = ops.convert_to_tensor(self._table)
        else:
            table = self._dynamic_table(ops.shape(inputs)[1], inputs.shape[-1])
        return inputs + ops.cast(table, inputs.dtype)

    def _dynamic_table(self, length, dim):
        positions = ops.cast(ops.arange(length), "float32")[:, None]
        even = ops.cast(ops.arange(0, dim, 2), "float32")
        angles = positions / ops.power(self.max_wavelength, even / dim)
        sin, cos = ops.sin(angles), ops.cos(angles[:, : dim // 2])
        if dim % 2:
            cos = ops.concatenate([cos, ops.zeros_like(sin[:, :1])], axis=-1)
        interleaved = ops.reshape(ops.stack([sin, cos], axis=-1), (length, -1))
        return interleaved[:, :dim]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}
