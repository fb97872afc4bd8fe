"""``build_model(config)``: the model of ``config.model.variant``, from its entry in textattn/variants.py
(a body in ``bodies.BODIES``, or a builder in ``bag_models.BUILDERS``)."""

from __future__ import annotations

import keras

from textattn.backend import check_variant
from textattn.config import Config
from textattn.errors import UserError
from textattn.models.bag_models import BUILDERS
from textattn.models.token_model import build_word_model
from textattn.variants import variant


def build_model(config: Config, ngram_vocab_size: int | None = None, num_classes: int = 2) -> keras.Model:
    """The uncompiled model for ``config``: its inputs -> class probabilities over ``num_classes`` classes.

    Word-sequence variants take token ids (batch, sequence_length) and output
    (batch, num_classes) for the softmax head, (batch, 1) for sigmoid, which
    only a 2-class model may have (see ``token_model``). ``ngram`` takes n-gram
    bags and ``hybrid`` both inputs (see ``bag_models``); their n-gram table has
    ``ngram_vocab_size`` rows (default: model.ngram.vocab_size).
    """
    check_variant(config.model.variant)
    check_head(config, num_classes)
    entry = variant(config.model.variant)
    if entry.word_sequence:
        return build_word_model(config, num_classes)
    return BUILDERS[entry.name](config, ngram_vocab_size, num_classes)


def check_head(config: Config, num_classes: int) -> None:
    """UserError unless the head can classify ``num_classes`` classes (a sigmoid only two)."""
    if num_classes < 2:
        raise UserError(f"the data has {num_classes} class; a classifier needs at least 2")
    if config.model.head == "sigmoid" and num_classes != 2 and not config.data.multi_label:
        raise UserError(
            f"model.head: sigmoid classifies 2 classes but the data has {num_classes}; use model.head=softmax"
        )
