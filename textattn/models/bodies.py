"""The bodies of the word-sequence variants (their entries are in textattn/variants.py).

Each takes embeddings ``x`` of shape (batch, length, dim), masked when
``model.mask_padding`` is on, and returns a sequence (batch, length, width) or
a pooled vector (batch, width); ``token_model`` puts the embedding, positions,
pooling and head around it.
"""

import keras

from textattn.config import Config
from textattn.layers import BahdanauAttention, FoldedAttention, FoldedMultiHeadAttention, TransformerBlock


def baseline(x, config: Config):
    """No attention: the embeddings go straight to pooling."""
    return x


def dot_product_attention(x, config: Config):
    """N stacked ``keras.layers.Attention`` self-attention layers (query = value = x).

    ``FoldedAttention`` is that layer, computing the same with the scale and padding mask folded into its matmul.
    """
    c = config.model.attention
    for i in range(c.num_layers):
        x = FoldedAttention(use_scale=c.use_scale, score_mode=c.score_mode, dropout=c.dropout, name=f"attention_{i}")(
            [x, x]
        )
    return x


def additive_attention(x, config: Config):
    """N stacked additive self-attention layers: textattn's Bahdanau or Keras' AdditiveAttention."""
    c = config.model.additive
    for i in range(c.num_layers):
        if c.implementation == "bahdanau":
            layer = BahdanauAttention(c.units, dropout=c.dropout, name=f"bahdanau_{i}")
        else:
            layer = keras.layers.AdditiveAttention(dropout=c.dropout, name=f"additive_{i}")
        x = layer([x, x])
    return x


def multi_head_attention(x, config: Config):
    """N stacked ``keras.layers.MultiHeadAttention`` (as ``FoldedMultiHeadAttention``, which computes the same,
    faster); layer i projects to ``output_dims[i]``."""
    c = config.model.mha
    for i in range(c.num_layers):
        width = c.output_dims[i] if i < len(c.output_dims) else None
        layer = FoldedMultiHeadAttention(
            num_heads=c.num_heads, key_dim=c.key_dim, output_shape=width, dropout=c.dropout, name=f"mha_{i}"
        )
        x = layer(x, x)
    return x


def transformer(x, config: Config):
    """N TransformerBlocks."""
    c = config.model.transformer
    for i in range(c.num_layers):
        x = TransformerBlock(c.num_heads, c.ff_dim, key_dim=c.key_dim, dropout=c.dropout, name=f"transformer_{i}")(x)
    return x


def rnn_attention(x, config: Config):
    """(Bi)LSTM/GRU encoder; Bahdanau attention from its final state over all its states.

    Returns the pooled context, shape (batch, units * directions).
    """
    c = config.model.rnn
    cell = keras.layers.LSTM if c.cell == "lstm" else keras.layers.GRU
    rnn = cell(c.units, return_sequences=True, return_state=True, name=c.cell)
    if c.bidirectional:
        rnn = keras.layers.Bidirectional(rnn, name=f"bi{c.cell}")
    outputs = rnn(x)
    states = outputs[0]
    # Final hidden states: GRU returns h per direction, LSTM returns (h, c) per direction.
    per_direction = 2 if c.cell == "lstm" else 1
    finals = outputs[1::per_direction]
    final = finals[0] if len(finals) == 1 else keras.layers.Concatenate(name="final_state")(finals)
    query = keras.layers.Reshape((1, final.shape[-1]), name="final_state_as_query")(final)
    context = BahdanauAttention(c.attention_units, name="bahdanau_pool")([query, states])
    return keras.layers.Reshape((states.shape[-1],), name="context")(context)


BODIES = {
    "baseline": baseline,
    "attention": dot_product_attention,
    "additive": additive_attention,
    "mha": multi_head_attention,
    "transformer": transformer,
    "rnn_attention": rnn_attention,
}
"""The body of each word-sequence variant (textattn/variants.py, ``word_sequence``), by its name."""
