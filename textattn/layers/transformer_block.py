"""Post-norm Transformer encoder block."""

import keras

from textattn.layers.folded_multi_head_attention import FoldedMultiHeadAttention


@keras.saving.register_keras_serializable(package="textattn")
class TransformerBlock(keras.layers.Layer):
    """Self-attention and a feed-forward network, each with a residual and layer norm.

    ``h = LN(x + Dropout(MHA(x, x)))``, ``y = LN(h + Dropout(FFN(h)))`` where FFN is
    Dense(ff_dim, relu) then Dense(dim): the block of the reference experiments.

    Args:
        num_heads: attention heads.
        ff_dim: width of the feed-forward hidden layer.
        key_dim: size of each head's query/key; None uses the input width.
        dropout: dropout rate after attention and after the feed-forward network.
        epsilon: layer-norm epsilon.

    Call:
        inputs: float tensor, shape (batch, length, dim).
        mask: optional bool tensor, shape (batch, length); padded keys get no attention.
    Returns:
        float tensor, shape (batch, length, dim), with the input mask.
    """

    def __init__(self, num_heads, ff_dim, key_dim=None, dropout=0.1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.ff_dim = int(ff_dim)
        self.key_dim = None if key_dim is None else int(key_dim)
        self.dropout = float(dropout)
        self.epsilon = float(epsilon)
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        self.attention = FoldedMultiHeadAttention(
            num_heads=self.num_heads, key_dim=self.key_dim or dim, name="attention"
        )
        self.attention.build(input_shape, input_shape)
        self.ff_hidden = keras.layers.Dense(self.ff_dim, activation="relu", name="ff_hidden")
        self.ff_hidden.build(input_shape)
        self.ff_output = keras.layers.Dense(dim, name="ff_output")
        self.ff_output.build((*input_shape[:-1], self.ff_dim))
        self.attention_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, name="attention_norm")
        self.attention_norm.build(input_shape)
        self.ff_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, name="ff_norm")
        self.ff_norm.build(input_shape)
        self.attention_dropout = keras.layers.Dropout(self.dropout)
        self.ff_dropout = keras.layers.Dropout(self.dropout)

    def call(self, inputs, mask=None, training=None):
        attended = self.attention(inputs, inputs, query_mask=mask, value_mask=mask, training=training)
        h = self.attention_norm(inputs + self.attention_dropout(attended, training=training))
        ff = self.ff_output(self.ff_hidden(h))
        return self.ff_norm(h + self.ff_dropout(ff, training=training))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "epsilon": self.epsilon,
        }
