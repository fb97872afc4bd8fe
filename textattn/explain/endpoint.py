"""The ``explain`` computation: raw texts (batch,) -> tokens, weights, probability (and n-gram rows).

The same function runs in-process for a run directory and is written into
the SavedModel as the ``explain`` endpoint, so it needs TensorFlow alone::

    out = tf.saved_model.load(EXPORT).explain(tf.constant(["a wonderful film"]))

Outputs (batch is the number of texts):
    tokens     string (batch, T): the run's vocabulary tokens of the standardized
               review ("[UNK]" for unknown words, "" for padding); T is the model's
               window (data.sequence_length, kept per data.keep); for ``ngram`` the
               whole review, T the longest in the batch.
    weights    float32 (batch, T): see ``meaning``; 0 on padding, summing to 1 over a
               review's tokens (all 0 for a review without tokens).
    label, label_id, probabilities, known_tokens (and probability for two classes):
               exactly what ``serve`` answers.
    ngrams, ngram_contributions (``ngram`` and ``hybrid`` only): string / float32
               (batch, G), each review's distinct in-vocabulary n-grams, largest
               |contribution| first, padded with "" / 0 (``ngram_evidence``): toward the
               second class for two classes, toward the predicted class for more.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from textattn import serving, variants
from textattn.backend import require_tensorflow
from textattn.data.text import standardizer, truncate_and_pad
from textattn.explain.ngram_evidence import NgramEvidence
from textattn.explain.token_weights import TokenWeigher, normalise
from textattn.models import bag_models

EXPLAIN = serving.EXPLAIN
TOKENS, WEIGHTS = "tokens", "weights"
NGRAMS, NGRAM_CONTRIBUTIONS = "ngrams", "ngram_contributions"


def naive_bayes_evidence(model):
    """The hybrid's Naive Bayes expert's ``NaiveBayesEvidence`` layer."""
    return model.get_layer(bag_models.NB_EXPERT).get_layer(bag_models.NB_EVIDENCE)


def character_layer(model):
    """The ``NaiveBayesNgramLogits`` of a hybrid's character member (``model.hybrid.character_ngrams``), or None."""
    if bag_models.CHARACTER_MEMBER not in {layer.name for layer in model.layers}:
        return None
    return model.get_layer(bag_models.CHARACTER_MEMBER).get_layer(bag_models.NB_LAYER)


def make_explain(model, parts: serving.ServingParts):
    """texts string (batch,) -> {tokens, weights, serve's outputs[, ngrams, ngram_contributions]}."""
    config = parts.config
    variant = config.model.variant
    serve = serving.make_serve(model, parts)
    vocabulary = np.asarray(parts.vectorizer.get_vocabulary(), dtype=object)
    weigher = evidence = None
    if variant != "ngram":
        word_model = model.get_layer(bag_models.WORD_BRANCH) if variant == "hybrid" else model
        word_config = bag_models.word_branch_config(config) if variant == "hybrid" else config
        weigher = TokenWeigher(word_model, word_config.model)
    if variants.variant(variant).reads_ngrams:
        ngram_model = model.get_layer(bag_models.NGRAM_BRANCH) if variant == "hybrid" else model
        blend = model.get_layer(bag_models.BLEND) if variant == "hybrid" else None
        evidence = NgramEvidence(
            ngram_model.get_layer(bag_models.NB_LAYER),
            parts.ngram_vectorizer.get_vocabulary(),
            config.model.ngram.max_ngram,
            parts.temperature,
            blend,
            standardizer(config.data.negation),
            naive_bayes_evidence(model) if variant == "hybrid" and config.model.hybrid.naive_bayes_expert else None,
            character_layer(model) if variant == "hybrid" else None,
            getattr(parts.ngram_vectorizer, "characters", None),  # serving's own (WordAndCharacterBags)
        )

    empty_review = serving.empty_review_ids(config.data.sequence_length)

    def explain(texts):
        answer = serve(texts)
        texts = serving.valid_utf8(texts)
        batch_size = tf.shape(texts)[0]
        if variant == "ngram":
            occurrences = evidence.occurrences(texts, answer[serving.LABEL_ID])
            length = tf.cast(occurrences["words"].bounding_shape(axis=1), tf.int32)
            ids = tf.cast(
                parts.vectorizer(texts).to_tensor(default_value=0, shape=tf.stack([batch_size, length])), tf.int32
            )
            weights = normalise(evidence.token_mass(occurrences, batch_size, length), ids != 0)
        else:
            ids = truncate_and_pad(parts.vectorizer(texts), config.data.sequence_length, config.data.keep)
            weights = normalise(
                weigher(serving.model_token_ids(ids, empty_review)), ids != 0
            )  # 0 for a review without tokens
        out = {TOKENS: tf.gather(tf.constant(vocabulary), ids), WEIGHTS: weights, **answer}
        if evidence is not None:
            token_ids = None
            if variant == "hybrid":
                token_ids = serving.model_token_ids(ids, empty_review)  # what the blend counts
                occurrences = evidence.occurrences(texts, answer[serving.LABEL_ID], token_ids)
            characters = evidence.character_occurrences(texts, answer[serving.LABEL_ID], token_ids)
            out[NGRAMS], out[NGRAM_CONTRIBUTIONS] = evidence.distinct(occurrences, batch_size, characters)
        return out

    # The archive must track the n-gram lookup table (``serve`` uses the vectorizers' own).
    explain.trackables = [evidence.lookup] if evidence is not None else []  # the characters' are serving's
    return explain


def explain_function(run_dir: str):
    """A run's ``explain`` as an in-process tf.function (the same computation the export holds).

    It runs the model's layers inside the tf.function, so it needs the TensorFlow backend;
    an export (written under TensorFlow) explains under any backend.
    """
    require_tensorflow("explaining a run directory (export it and explain the export)")
    parts, model = serving.load_serving_parts(run_dir)
    return tf.function(make_explain(model, parts), input_signature=serving.input_signature(), autograph=False)
