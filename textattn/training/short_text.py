"""Short validation text for the hybrid's blend (``model.hybrid.blend: length``).

Validation reviews are long (IMDB's median is about 170 tokens), so a blend fitted on them alone
never sees what each branch does with a sentence. Each validation review's last sentence of
``MIN_WORDS``-``MAX_WORDS`` words, labelled with the review's label, is added to what the blend is
fitted on: a noisy label (a review's last sentence does not always carry its verdict) but text of the
length users type. Only validation reviews are used, never training ones or the test split.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from textattn import serving
from textattn.config import Config
from textattn.data import pipeline
from textattn.data.character_ngrams import serving_bag_vectorizer
from textattn.data.run_data import RunData
from textattn.data.text import make_vectorizer, truncate_and_pad
from textattn.serving_parts import ServingParts

MIN_WORDS, MAX_WORDS = 3, 40
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
BATCH = 512


def last_sentence(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> str | None:
    """The review's last sentence of ``min_words``-``max_words`` whitespace words, or None.

    A sentence ends at ``.``, ``!`` or ``?`` followed by whitespace; HTML line breaks count as spaces.
    """
    sentences = [s for s in SENTENCE_END.split(text.replace("<br />", " ").strip()) if s]
    for sentence in reversed(sentences):
        if min_words <= len(sentence.split()) <= max_words:
            return sentence
    return None


def validation_sentences(config: Config) -> tuple[list[str], np.ndarray]:
    """(texts, labels int32 (M,)): the last sentence of each validation review that has one, in validation order."""
    texts, labels = pipeline.split_texts(config.data, config.seed).validation
    pairs = [(last_sentence(t), y) for t, y in zip(texts, labels)]
    kept = [(s, y) for s, y in pairs if s is not None]
    return [s for s, _ in kept], np.asarray([y for _, y in kept], np.int32)


def serving_parts(config: Config, data: RunData) -> ServingParts:
    """The run's serving parts (vectorizers with its vocabularies, no temperature) while it is still training."""
    negation = config.data.negation
    ngrams = data.ngram_vocabulary
    return ServingParts(
        config,
        make_vectorizer(config.data.vocab_size, data.vocabulary, negation),
        serving_bag_vectorizer(ngrams, config.model.ngram.max_ngram, negation),
        1.0,
        data.class_names,
    )


def branch_probabilities(members: list, parts: ServingParts, texts: list[str]):
    """Each member's class probabilities for raw ``texts`` through the serving computation, and their token counts.

    Args:
        members: [(model, input name)] with input name "ngrams" or "token_ids": the hybrid's branches in blend order.
        parts: the run's serving parts (``serving_parts``, or ``serving.load_serving_parts`` for a finished run).
        texts: raw texts (M,).
    Returns:
        (list of float32 (M, C), one per member; int (M,) each text's token count in the word branch's window,
        what a length-scaled ``LogLinearBlend`` counts).
    """
    config = parts.config
    probabilities = []
    for model, key in members:
        serve = tf.function(
            serving.make_serve(model, parts, lambda inputs, m=model, k=key: m(inputs[k], training=False))
        )
        batches = [serve(tf.constant(texts[i : i + BATCH]))[serving.PROBABILITIES] for i in range(0, len(texts), BATCH)]
        probabilities.append(np.concatenate([b.numpy() for b in batches]))
    counts = [
        np.count_nonzero(
            truncate_and_pad(
                parts.vectorizer(tf.constant(texts[i : i + BATCH])), config.data.sequence_length, config.data.keep
            ),
            axis=1,
        )
        for i in range(0, len(texts), BATCH)
    ]
    return probabilities, np.concatenate(counts)
