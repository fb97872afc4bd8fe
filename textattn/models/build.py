"""``build_model(config)``: the model of ``config.model.variant``, from its entry in textattn/variants.py."""

from __future__ import annotations

import keras

from textattn.config import Config
from textattn.variants import variant


def build_model(config: Config, ngram_vocab_size: int | None = None) -> keras.Model:
    """The uncompiled model for ``config``: its inputs -> class probabilities.

    Word-sequence variants take token ids (batch, sequence_length) and output
    (batch, 2) for the softmax head, (batch, 1) for sigmoid (see ``token_model``).
    ``ngram`` takes n-gram bags and ``hybrid`` both inputs (see ``bag_models``);
    their n-gram table has ``ngram_vocab_size`` rows (default: model.ngram.vocab_size).
    """
    from textattn.models.token_model import build_token_model

    from textattn.backend import check_variant

    check_variant(config.model.variant)
    entry = variant(config.model.variant)
    if entry.build is not None:
        return entry.build(config, ngram_vocab_size)
    return build_token_model(config, entry.body)
