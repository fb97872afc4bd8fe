"""Which kind of token weight a word-sequence model gets, from its config alone (no Keras needed).

The weights themselves are computed in ``token_weights``; their meaning in words is in ``meaning``.
"""

from __future__ import annotations

ATTENTION_POOLING, ROLLOUT, RNN_ATTENTION, GRADIENT_X_INPUT = (
    "attention_pooling",
    "rollout",
    "rnn_attention",
    "gradient_x_input",
)


def weight_kind(model_config) -> str:
    """The kind of weight of a word-sequence variant (``model_config``: a ``ModelConfig``)."""
    if model_config.variant == "rnn_attention":
        return RNN_ATTENTION
    if attention_layer_names(model_config):
        return ROLLOUT
    return ATTENTION_POOLING if model_config.pooling == "attention" else GRADIENT_X_INPUT


def attention_layer_names(model_config) -> list[str]:
    """Names of the body's stacked self-attention layers, first to last (see ``models.bodies``)."""
    m = model_config
    if m.variant == "attention":
        return [f"attention_{i}" for i in range(m.attention.num_layers)]
    if m.variant == "additive":
        prefix = "bahdanau" if m.additive.implementation == "bahdanau" else "additive"
        return [f"{prefix}_{i}" for i in range(m.additive.num_layers)]
    if m.variant == "mha":
        return [f"mha_{i}" for i in range(m.mha.num_layers)]
    if m.variant == "transformer":
        return [f"transformer_{i}" for i in range(m.transformer.num_layers)]
    return []
