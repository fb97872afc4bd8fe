"""The config settings that tell runs apart, as flat table columns."""

from __future__ import annotations

from textattn.config import Config

# Variant -> the config section holding its stack's depth (and heads, when it has them).
_SECTIONS = {
    "attention": "attention",
    "additive": "additive",
    "mha": "mha",
    "transformer": "transformer",
}


def architecture_columns(config: Config) -> dict:
    """{variant, positional, pooling, mask_padding, layers, heads}.

    ``layers`` is the attention stack's depth (0 for baseline); ``heads`` the
    heads per layer: 1 for single-head attention layers, None where the
    variant has no attention layer stack (baseline, rnn_attention).
    """
    if config.model.variant == "hybrid":
        # Describe the word branch; the n-gram branch has no attention to count.
        from textattn.models.bag_models import word_branch_config

        columns = architecture_columns(word_branch_config(config))
        return {**columns, "variant": f"hybrid+{columns['variant']}"}
    m = config.model
    section = getattr(m, _SECTIONS[m.variant]) if m.variant in _SECTIONS else None
    if section is not None:
        layers = section.num_layers
        heads = getattr(section, "num_heads", 1)
    elif m.variant == "rnn_attention":
        layers, heads = 1, None  # one recurrent layer with attention pooling
    else:
        layers, heads = 0, None
    return {
        "variant": m.variant,
        "positional": m.positional,
        "pooling": m.pooling,
        "mask_padding": m.mask_padding,
        "layers": layers,
        "heads": heads,
    }
