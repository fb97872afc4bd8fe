"""Small explainable models for the explain tests: every variant, random but seeded weights, no training."""

from __future__ import annotations

import os
import random

import keras
import numpy as np
from helpers import tiny_config, write_review

from textattn import runs, serving
from textattn.atomic_write import write_json
from textattn.config import save_config
from textattn.data.ngrams import adapt_ngram_vectorizer, make_ngram_vectorizer
from textattn.data.text import adapt_vectorizer, make_vectorizer
from textattn.models import bag_models, build_model
from textattn.variants import variant as variant_entry

WORD_VOCAB, NGRAM_VOCAB, MAX_NGRAM = 64, 300, 3


def corpus(n: int = 60, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [write_review(rng, "pos" if i % 2 else "neg") for i in range(n)]


def randomize_ngram_branch(model: keras.Model, seed: int) -> None:
    """Random log-count ratios and per-n-gram weights (an untrained branch weighs every n-gram 0)."""
    layer = model.get_layer(bag_models.NB_LAYER)
    rng = np.random.default_rng(seed)
    ratios = rng.normal(size=(layer.vocab_size, 2)).astype("float32")
    ratios[0] = 0.0  # the OOV bucket, as log_count_ratios leaves it
    layer.set_log_count_ratios(ratios)
    layer.ngram_weight.assign(rng.normal(size=(layer.vocab_size, 1)).astype("float32"))
    layer.bias.assign(np.array([0.3, -0.2], "float32"))


def explainable(tmp_path, variant: str = "baseline", temperature: float = 1.0, seed: int = 3, **model_keys):
    """(config, model, parts) of a small seeded model on the corpus' vocabularies."""
    keras.utils.set_random_seed(seed)
    config = tiny_config(tmp_path, variant, **model_keys)
    texts = corpus()
    vectorizer = adapt_vectorizer(texts, WORD_VOCAB)
    ngram_vectorizer = None
    if variant_entry(variant).reads_ngrams:
        ngram_vectorizer = adapt_ngram_vectorizer(texts, NGRAM_VOCAB, MAX_NGRAM)
        size = len(ngram_vectorizer.get_vocabulary())
        model = build_model(config, size)
        branch = model if variant == "ngram" else model.get_layer(bag_models.NGRAM_BRANCH)
        randomize_ngram_branch(branch, seed)
        if variant == "hybrid":
            model.get_layer(bag_models.BLEND).set_blend([0.7, 1.3], [0.1, -0.1])
    else:
        model = build_model(config)
    parts = serving.ServingParts(config, vectorizer, ngram_vectorizer, temperature)
    return config, model, parts


def save_run(run_dir: str, config, model: keras.Model, parts: serving.ServingParts) -> str:
    """A run directory holding ``model`` and its vocabularies (enough to explain and export)."""
    os.makedirs(run_dir)
    save_config(config, os.path.join(run_dir, runs.CONFIG))
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), [str(t) for t in parts.vectorizer.get_vocabulary()])
    if parts.ngram_vectorizer is not None:
        runs.save_vocabulary(
            os.path.join(run_dir, runs.NGRAM_VOCAB), [str(t) for t in parts.ngram_vectorizer.get_vocabulary()]
        )
    write_json(os.path.join(run_dir, runs.METRICS), {"calibration": {"temperature": parts.temperature}})
    model.save(os.path.join(run_dir, runs.MODEL))
    return run_dir


def reload_parts(parts: serving.ServingParts) -> serving.ServingParts:
    """Fresh vectorizers with the same vocabularies (as ``load_serving_parts`` builds them)."""
    config = parts.config
    vectorizer = make_vectorizer(config.data.vocab_size, parts.vectorizer.get_vocabulary())
    ngram = None
    if parts.ngram_vectorizer is not None:
        vocabulary = parts.ngram_vectorizer.get_vocabulary()
        ngram = make_ngram_vectorizer(len(vocabulary), MAX_NGRAM, vocabulary)
    return serving.ServingParts(config, vectorizer, ngram, parts.temperature)
