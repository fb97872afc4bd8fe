"""Scoring a long review by its windows (``data.long_text: chunks``; docs/long_documents.md).

The review's token ids are split into windows (textattn/data/chunks.py), the
word model scores every window, and the review's class probabilities are the
softmax of the mean over its windows of the log-probabilities: for two
classes, the sigmoid of the mean log-odds. A review of one window gets that
window's probabilities. No trained weights are added, so the model a run
trained on cut reviews serves chunked ones. In the hybrid only the word branch
is chunked (the n-gram branch already reads the whole text); the two are
blended as before.

TensorFlow ops only: the computation runs inside the exported SavedModel.
"""

from __future__ import annotations

import tensorflow as tf

from textattn.data import chunks
from textattn.layers.log_linear_blend import EPSILON
from textattn.variants import NGRAMS, TOKEN_IDS

HYBRID = "hybrid"


def is_chunked(config) -> bool:
    return config.data.long_text == "chunks"


def input_length(config) -> int:
    """How many token ids per review the served model is fed: sequence_length (cut), or what the windows cover."""
    data = config.data
    if not is_chunked(config):
        return data.sequence_length
    return chunks.covered_length(data.sequence_length, data.chunk_overlap, data.max_chunks)


def served_probabilities(serve, texts, batch_size: int = 512):
    """A serving function's calibrated class probabilities for ``texts`` (list of str): float32 (N, C)."""
    import numpy as np

    return np.concatenate(
        [
            serve(tf.constant(texts[i : i + batch_size]))["probabilities"].numpy()
            for i in range(0, len(texts), batch_size)
        ]
    )


def mean_log_probabilities(probabilities, owner, num_reviews):
    """Pool the windows' class probabilities per review.

    Args:
        probabilities: float (W, C), rows summing to 1.
        owner: int32 (W,), each window's review, in [0, num_reviews); every review has a window.
        num_reviews: the number of reviews.
    Returns:
        float32 (num_reviews, C): softmax over classes of the mean over the
        review's windows of log(probabilities) (clipped at ``EPSILON``).
    """
    log_p = tf.math.log(tf.clip_by_value(tf.cast(probabilities, tf.float32), EPSILON, 1.0))
    return tf.nn.softmax(tf.math.unsorted_segment_mean(log_p, owner, num_reviews), axis=-1)


def pooled(probabilities, owner, num_reviews):
    """``mean_log_probabilities`` for a model's output: (W, C) softmax, or (W, 1) sigmoid, answered in the same form."""
    if probabilities.shape[-1] == 1:
        both = tf.concat([1.0 - probabilities, probabilities], axis=1)
        return mean_log_probabilities(both, owner, num_reviews)[:, 1:]
    return mean_log_probabilities(probabilities, owner, num_reviews)


def chunked_call(model, config, call_model):
    """``inputs -> probabilities`` as ``call_model``, with the token ids read in windows.

    ``inputs`` are token ids (batch, ``input_length(config)``) int32, or for the
    hybrid {"token_ids": those, "ngrams": (batch, V) sparse}; ``call_model``
    maps a word model's token ids (batch, sequence_length) to its output. The
    answer has the model's output shape: (batch, C), or (batch, 1) for a sigmoid head.
    """
    data = config.data
    hybrid = config.model.variant == HYBRID
    if hybrid:
        from textattn.models.bag_models import BLEND, NGRAM_BRANCH, WORD_BRANCH

        word_branch, ngram_branch, blend = (model.get_layer(name) for name in (WORD_BRANCH, NGRAM_BRANCH, BLEND))

    def call(inputs):
        ids = inputs[TOKEN_IDS] if hybrid else inputs
        windows, owner = chunks.split_windows(ids, data.sequence_length, data.chunk_overlap, data.max_chunks)
        num_reviews = tf.shape(ids)[0]
        if hybrid:
            words = pooled(word_branch(windows, training=False), owner, num_reviews)
            return blend([ngram_branch(inputs[NGRAMS], training=False), words])
        return pooled(call_model(windows), owner, num_reviews)

    return call
