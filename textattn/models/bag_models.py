"""The n-gram model and the hybrid (n-gram branch + word-sequence branch) model.

ngram:   n-gram bag (batch, V) sparse -> NaiveBayesNgramLogits -> softmax (batch, C)
hybrid:  {"token_ids": (batch, length) int32, "ngrams": (batch, V) sparse}
         -> [ngram_branch, word_branch(, lexicon_branch)] class probabilities -> LogLinearBlend -> (batch, C)
         (the lexicon branch, model.hybrid.lexicon, reads the token ids too: textattn/models/lexicon.py)
"""

from __future__ import annotations

import dataclasses

import keras

from textattn.config import Config
from textattn.layers import LogLinearBlend, NaiveBayesEvidence, NaiveBayesNgramLogits
from textattn.models.token_model import build_word_model
from textattn.variants import NGRAMS, TOKEN_IDS

NGRAM_BRANCH, WORD_BRANCH, BLEND = "ngram_branch", "word_branch", "blend"
LEXICON_BRANCH = "lexicon_branch"
NB_LAYER = "naive_bayes_ngrams"
NB_EXPERT = "naive_bayes_expert"
NB_EVIDENCE = "naive_bayes_evidence"


def build_ngram_model(
    config: Config, ngram_vocab_size: int | None = None, num_classes: int = 2, name: str | None = None
) -> keras.Model:
    """Multi-hot n-gram features (batch, V), sparse -> class probabilities (batch, num_classes)."""
    size = int(ngram_vocab_size or config.model.ngram.vocab_size)
    inputs = keras.Input(shape=(size,), sparse=True, name=NGRAMS)
    transfer = config.model.ngram.negation_transfer
    logits = NaiveBayesNgramLogits(size, num_classes, transfer, name=NB_LAYER)(inputs)
    outputs = keras.layers.Activation("softmax", name="classifier")(logits)
    return keras.Model(inputs, outputs, name=name or config.name.replace("-", "_") or "ngram")


def build_naive_bayes_expert(ngram_model: keras.Model) -> keras.Model:
    """The Naive Bayes expert of a (trained) n-gram model: its bag (batch, V), sparse -> class probabilities
    (batch, C) from the model's log-count ratios alone (``NaiveBayesEvidence``)."""
    nb_layer = ngram_model.get_layer(NB_LAYER)
    inputs = keras.Input(shape=(nb_layer.vocab_size,), sparse=True, name=NGRAMS)
    evidence = NaiveBayesEvidence(nb_layer.vocab_size, nb_layer.num_classes, name=NB_EVIDENCE)
    outputs = keras.layers.Activation("softmax", name="classifier")(evidence(inputs))
    evidence.set_log_count_ratios(keras.ops.convert_to_numpy(nb_layer.log_count_ratio))
    return keras.Model(inputs, outputs, name=NB_EXPERT)


def word_branch_config(config: Config) -> Config:
    """The hybrid's config with its word branch's variant in place of ``hybrid``."""
    model = dataclasses.replace(config.model, variant=config.model.hybrid.branch)
    return dataclasses.replace(config, model=model)


def assemble_hybrid(
    ngram_model: keras.Model,
    word_model: keras.Model,
    name: str,
    branch_weights=None,
    bias=None,
    lexicon_model: keras.Model | None = None,
    floors=None,
    length_weights=None,
    reference_length: int = 256,
    naive_bayes_model: keras.Model | None = None,
) -> keras.Model:
    """One model over both inputs: the (trained) branches, (batch, C) each, blended by ``LogLinearBlend``
    (n-gram, word, then the lexicon expert when there is one, which reads the token ids, then the Naive
    Bayes expert when there is one, which reads the n-grams: ``build_naive_bayes_expert``). ``floors`` and
    ``length_weights`` (with its ``reference_length``): the blend's (``LogLinearBlend``); a length-scaled
    blend reads the token ids too."""
    ngram_model.name = NGRAM_BRANCH
    word_model.name = WORD_BRANCH
    ngram_in = keras.Input(shape=ngram_model.input_shape[1:], sparse=True, name=NGRAMS)
    token_in = keras.Input(shape=word_model.input_shape[1:], dtype="int32", name=TOKEN_IDS)
    members = [ngram_model(ngram_in), word_model(token_in)]
    if lexicon_model is not None:
        lexicon_model.name = LEXICON_BRANCH
        members.append(lexicon_model(token_in))
    if naive_bayes_model is not None:
        naive_bayes_model.name = NB_EXPERT
        members.append(naive_bayes_model(ngram_in))
    length_scaled = length_weights is not None
    blend = LogLinearBlend(
        len(members),
        int(ngram_model.output_shape[-1]),
        floors=floors,
        length_scaled=length_scaled,
        reference_length=reference_length,
        name=BLEND,
    )
    outputs = blend(members + [token_in] if length_scaled else members)
    if branch_weights is not None:
        blend.set_blend(branch_weights, bias, length_weights)
    return keras.Model({NGRAMS: ngram_in, TOKEN_IDS: token_in}, outputs, name=name)


def build_hybrid_model(config: Config, ngram_vocab_size: int | None = None, num_classes: int = 2) -> keras.Model:
    """An untrained hybrid with an even blend (weights 1, bias 0)."""
    ngram_model = build_ngram_model(config, ngram_vocab_size, num_classes)
    word_model = build_word_model(word_branch_config(config), num_classes)
    return assemble_hybrid(ngram_model, word_model, config.name.replace("-", "_") or "hybrid")


BUILDERS = {"ngram": build_ngram_model, "hybrid": build_hybrid_model}
"""The builder of each variant with inputs and a head of its own (textattn/variants.py, not ``word_sequence``):
(Config, ngram_vocab_size or None, num_classes) -> keras.Model."""
