"""The config settings that tell runs apart, as flat table columns."""

from __future__ import annotations

from textattn.config import Config
from textattn.variants import variant


def architecture_columns(config: Config) -> dict:
    """{variant, positional, pooling, mask_padding, layers, heads}.

    ``layers`` is the attention stack's depth (0 for baseline); ``heads`` the
    heads per layer: 1 for single-head attention layers, None where the
    variant has no attention layer stack (baseline, rnn_attention). Each
    variant's entry in textattn/variants.py says which (a hybrid: its word branch's).
    """
    m = config.model
    described = variant(m.variant).architecture(m)
    return {
        "variant": described["variant"],
        "positional": m.positional,
        "pooling": m.pooling,
        "mask_padding": m.mask_padding,
        "layers": described["layers"],
        "heads": described["heads"],
    }
