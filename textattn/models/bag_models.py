"""The n-gram model and the hybrid (n-gram branch + word-sequence branch) model.

ngram:   n-gram bag (batch, V) sparse -> NaiveBayesNgramLogits -> softmax (batch, C)
hybrid:  {"token_ids": (batch, length) int32, "ngrams": (batch, V) sparse}
         -> [ngram_branch, word_branch(, lexicon_branch)(, naive_bayes_expert)(, character_ngrams)]
         class probabilities -> LogLinearBlend -> (batch, C)
         (the lexicon branch, model.hybrid.lexicon, reads the token ids too: textattn/models/lexicon.py;
         with model.hybrid.character_ngrams the bag holds character n-grams after the words, and the
         n-gram branch and the character member each read their own columns of it: BagColumns)
"""

from __future__ import annotations

import dataclasses

import keras

from textattn.config import Config
from textattn.layers import BagColumns, LogLinearBlend, NaiveBayesEvidence, NaiveBayesNgramLogits
from textattn.models.token_model import build_word_model
from textattn.variants import NGRAMS, TOKEN_IDS

NGRAM_BRANCH, WORD_BRANCH, BLEND = "ngram_branch", "word_branch", "blend"
LEXICON_BRANCH = "lexicon_branch"
NB_LAYER = "naive_bayes_ngrams"
NB_EXPERT = "naive_bayes_expert"
NB_EVIDENCE = "naive_bayes_evidence"
CHARACTER_MEMBER = "character_ngrams"
BAG_COLUMNS = "bag_columns"


def build_ngram_model(
    config: Config,
    ngram_vocab_size: int | None = None,
    num_classes: int = 2,
    name: str | None = None,
    columns: tuple[int, int] | None = None,
    negation_transfer: bool | None = None,
) -> keras.Model:
    """Multi-hot n-gram features (batch, V), sparse -> class probabilities (batch, num_classes).

    ``columns`` (start, stop): the model reads only those columns of its bag (``BagColumns``), as its
    own bag of stop - start + 1 columns; the n-gram branch of a bag that also holds character n-grams
    reads the word columns (1, V_words), the character member the rest. ``negation_transfer``: None
    takes ``model.ngram.negation_transfer``.
    """
    size = int(ngram_vocab_size or config.model.ngram.vocab_size)
    inputs = keras.Input(shape=(size,), sparse=True, name=NGRAMS)
    bag, width = inputs, size
    if columns is not None:
        part = BagColumns(*columns, name=BAG_COLUMNS)
        bag, width = part(inputs), part.width
    transfer = config.model.ngram.negation_transfer if negation_transfer is None else negation_transfer
    logits = NaiveBayesNgramLogits(width, num_classes, transfer, name=NB_LAYER)(bag)
    outputs = keras.layers.Activation("softmax", name="classifier")(logits)
    return keras.Model(inputs, outputs, name=name or config.name.replace("-", "_") or "ngram")


def bag_columns(model: keras.Model) -> tuple[int, int] | None:
    """The (start, stop) columns an n-gram model reads of its bag (``build_ngram_model``); None: all of them."""
    names = {layer.name for layer in model.layers}
    if BAG_COLUMNS not in names:
        return None
    part = model.get_layer(BAG_COLUMNS)
    return part.start, part.stop


def build_naive_bayes_expert(ngram_model: keras.Model) -> keras.Model:
    """The Naive Bayes expert of a (trained) n-gram model: its bag (batch, V), sparse -> class probabilities
    (batch, C) from the model's log-count ratios alone (``NaiveBayesEvidence``), over the same columns."""
    nb_layer = ngram_model.get_layer(NB_LAYER)
    inputs = keras.Input(shape=ngram_model.input_shape[1:], sparse=True, name=NGRAMS)
    columns = bag_columns(ngram_model)
    bag = inputs if columns is None else BagColumns(*columns, name=BAG_COLUMNS)(inputs)
    evidence = NaiveBayesEvidence(nb_layer.vocab_size, nb_layer.num_classes, name=NB_EVIDENCE)
    outputs = keras.layers.Activation("softmax", name="classifier")(evidence(bag))
    evidence.set_log_count_ratios(keras.ops.convert_to_numpy(nb_layer.log_count_ratio))
    return keras.Model(inputs, outputs, name=NB_EXPERT)


def build_character_model(config: Config, bag_size: int, word_columns: int, num_classes: int = 2) -> keras.Model:
    """The character member (``model.hybrid.character_ngrams``): the bag (batch, bag_size), sparse, whose
    columns from ``word_columns`` on are character n-grams -> class probabilities (batch, num_classes),
    a Naive-Bayes-weighted logistic regression over those columns (no negation transfer)."""
    return build_ngram_model(
        config, bag_size, num_classes, CHARACTER_MEMBER, columns=(word_columns, bag_size), negation_transfer=False
    )


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
    character_model: keras.Model | None = None,
) -> keras.Model:
    """One model over both inputs: the (trained) branches, (batch, C) each, blended by ``LogLinearBlend``
    (n-gram, word, then the lexicon expert when there is one, which reads the token ids, then the Naive
    Bayes expert when there is one, which reads the n-grams: ``build_naive_bayes_expert``, then the
    character member when there is one, which reads the bag's character columns: ``build_character_model``).
    ``floors`` and ``length_weights`` (with its ``reference_length``): the blend's (``LogLinearBlend``); a
    length-scaled blend reads the token ids too."""
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
    if character_model is not None:
        character_model.name = CHARACTER_MEMBER
        members.append(character_model(ngram_in))
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
    """An untrained hybrid with an even blend (weights 1, bias 0). With ``model.hybrid.character_ngrams`` and
    no ``ngram_vocab_size``, both vocabularies full: ``model.ngram.vocab_size`` word columns, then
    ``model.hybrid.character_vocab_size`` - 1 character columns."""
    h = config.model.hybrid
    character_model = None
    if h.character_ngrams and ngram_vocab_size is None:
        words = config.model.ngram.vocab_size
        bag_size = words + h.character_vocab_size - 1
        ngram_model = build_ngram_model(config, bag_size, num_classes, columns=(1, words))
        character_model = build_character_model(config, bag_size, words, num_classes)
    else:
        ngram_model = build_ngram_model(config, ngram_vocab_size, num_classes)
    word_model = build_word_model(word_branch_config(config), num_classes)
    name = config.name.replace("-", "_") or "hybrid"
    return assemble_hybrid(ngram_model, word_model, name, character_model=character_model)


BUILDERS = {"ngram": build_ngram_model, "hybrid": build_hybrid_model}
"""The builder of each variant with inputs and a head of its own (textattn/variants.py, not ``word_sequence``):
(Config, ngram_vocab_size or None, num_classes) -> keras.Model."""
