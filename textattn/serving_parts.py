"""What every serving computation shares (textattn/serving.py, textattn/multilabel/serve.py): the run's parts,
the output names both answer, and the raw text's way to the model's token ids.

TensorFlow is imported inside the functions, not here (see textattn/serving.py: commands check their
arguments before TensorFlow's import).
"""

from __future__ import annotations

import dataclasses

from textattn import runs

INPUT = "texts"
PROBABILITIES = "probabilities"
KNOWN_TOKENS = "known_tokens"
OOV_ID = 1  # vocab.txt line 1: the out-of-vocabulary token (line 0 is padding)


@dataclasses.dataclass
class ServingParts:
    """What a run's serving computation is made of."""

    config: object
    vectorizer: object
    ngram_vectorizer: object | None
    temperature: float
    class_names: list = dataclasses.field(default_factory=lambda: list(runs.LEGACY_CLASS_NAMES))
    """Label id i is class ``class_names[i]``."""
    decision: dict | None = None
    """The run's decision rule and abstain floor (textattn/thresholds.py); None: arg-max."""
    label_thresholds: list | None = None
    """Multi-label runs: each label's decision threshold (textattn/multilabel/thresholds.py)."""


def valid_utf8(texts):
    """Replace invalid UTF-8 byte sequences with U+FFFD; valid text is unchanged byte for byte.

    The standardizer's regexes need valid UTF-8. Training text is always valid
    (it is decoded to Python str on reading), so its token ids are unaffected.
    Only the texts holding a byte above 0x7F are transcoded: ASCII is valid UTF-8, and most
    reviews are ASCII (468 of 512 IMDB test reviews), so a batch of 512 costs a quarter of the time.
    """
    import tensorflow as tf

    ascii_only = tf.strings.regex_full_match(texts, "[\\x00-\\x7f]*")
    rows = tf.where(tf.logical_not(ascii_only))
    fixed = tf.strings.unicode_transcode(
        tf.gather_nd(texts, rows), "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    return tf.tensor_scatter_nd_update(texts, rows, fixed)


def empty_review_ids(sequence_length: int):
    """int32 (sequence_length,): one unknown word, what a review without any token is fed as.

    A review with no known-or-unknown word at all ("", "!!!") would be fully
    masked, and masked pooling over nothing is 0/0.
    """
    import tensorflow as tf

    return tf.one_hot(0, sequence_length, on_value=OOV_ID, off_value=0, dtype=tf.int32)


def model_token_ids(ids, empty_review):
    """Token ids int32 (batch, length) as the model is fed them: rows without a token become ``empty_review``."""
    import tensorflow as tf

    return tf.where(tf.reduce_any(ids != 0, axis=1, keepdims=True), ids, empty_review)
