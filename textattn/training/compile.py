"""An untrained, compiled model for a config: the optimizer, loss and metrics, and the n-gram ratios set."""

from __future__ import annotations

import keras
import numpy as np

from textattn import backend, class_weights
from textattn.config import Config
from textattn.data import negation
from textattn.data.run_data import RunData
from textattn.layers.naive_bayes_ngrams import plain_words_of_negated, ratios_from_counts
from textattn.models import build_model
from textattn.models.bag_models import NB_LAYER, build_character_model, build_ngram_model


def compile_model(
    model: keras.Model, config: Config, learning_rate: float | None = None, weighted: bool = False
) -> keras.Model:
    """Compile with the config's optimizer and loss; ``weighted``: accuracy counts sample weights (a JAX
    multi-process run pads its last validation batch with rows of weight 0; ``train.class_weight`` weighs
    validation's classes, textattn/class_weights.py)."""
    t = config.train
    lr = learning_rate or t.learning_rate
    optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": lr}})
    if config.model.head == "sigmoid":
        loss = "binary_crossentropy"
    else:
        loss = "sparse_categorical_crossentropy"
    # XLA cannot compile the sparse n-gram input's ops.
    jit = backend.jit_compile(t.jit_compile, config.model.variant)
    weighted = weighted or config.train.class_weight != "none"  # validation counts classes as training does
    metrics = {"weighted_metrics" if weighted else "metrics": ["accuracy"]}
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit, **metrics)
    return model


def ngram_ratios(config: Config, data: RunData, bags=None, labels=None, columns=None) -> np.ndarray:
    """Log-count ratios (n-gram vocabulary, classes) of the training part (or of ``bags``/``labels`` when given).

    ``columns`` (start, stop): the ratios of those columns alone, as a bag of their own with an empty
    OOV column 0 (``textattn.layers.BagColumns``), as if the rest of the bag were not there.
    """
    counts = class_weights.weight_counts(
        data.ngram_class_counts(bags, labels),
        config,
        data.labels("train") if labels is None else labels,
        data.class_names,
    )
    if columns is not None:
        start, stop = columns
        counts = np.concatenate([np.zeros((counts.shape[0], 1), counts.dtype), counts[:, start:stop]], axis=1)
    return ratios_from_counts(counts, config.model.ngram.alpha)


def new_ngram_model(config: Config, data: RunData, bags=None, labels=None) -> keras.Model:
    """An untrained n-gram model, its log-count ratios set from ``bags``/``labels`` (default: the training part).

    When the bag holds character n-grams too (``model.hybrid.character_ngrams``) it reads the word columns.
    """
    words = data.word_ngram_columns
    columns = None if words == data.ngram_vocab_size else (1, words)
    model = build_ngram_model(config, data.ngram_vocab_size, data.num_classes, columns=columns)
    layer = model.get_layer(NB_LAYER)
    layer.set_log_count_ratios(ngram_ratios(config, data, bags, labels, columns))
    if config.model.ngram.negation_transfer:
        layer.set_plain_words(plain_words_of_negated(data.ngram_vocabulary[:words], negation.PREFIX))
    return model


def new_character_model(config: Config, data: RunData) -> keras.Model:
    """An untrained character member (``model.hybrid.character_ngrams``), its log-count ratios set from the
    training part's character columns."""
    model = build_character_model(config, data.ngram_vocab_size, data.word_ngram_columns, data.num_classes)
    columns = (data.word_ngram_columns, data.ngram_vocab_size)
    model.get_layer(NB_LAYER).set_log_count_ratios(ngram_ratios(config, data, columns=columns))
    return model


def new_model(config: Config, data: RunData) -> keras.Model:
    """An untrained model for ``config`` (the n-gram ratios already set from the training part), seeded."""
    keras.utils.set_random_seed(config.seed)
    if config.model.variant == "ngram":
        return new_ngram_model(config, data)
    return build_model(config, num_classes=data.num_classes)


def new_word_model(config: Config, data: RunData) -> keras.Model:
    """An untrained word-sequence model for ``config`` (a hybrid's: its word branch's config), seeded and compiled."""
    keras.utils.set_random_seed(config.seed)
    return compile_model(build_model(config, num_classes=data.num_classes), config)
