"""Review text to token ids: standardization, vocabulary, truncation.

The same functions run in the data pipeline and inside the exported
SavedModel, so training and serving see identical token ids.
"""

from __future__ import annotations

import string

import keras
import numpy as np
import tensorflow as tf

from textattn.data import concession
from textattn.data.negation import NEAR_WORDS, PREFIX, negation_scopes, token_roles

PAD, OOV = "", "[UNK]"
_PUNCTUATION = "[" + "".join("\\" + c for c in string.punctuation) + "]"


@keras.saving.register_keras_serializable(package="textattn")
def standardize_review(text):
    """Lowercase, turn ``<br />`` tags into spaces, strip ASCII punctuation.

    Args:
        text: string tensor of any shape.
    Returns:
        string tensor of the same shape.
    """
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(text, _PUNCTUATION, "")


@keras.saving.register_keras_serializable(package="textattn")
def standardize_review_marking_negation(text):
    """``standardize_review``, and each word inside a negation scope prefixed ``not_`` (data/negation.py).

    Scopes end at punctuation, so they are found before it is stripped. Words
    come out joined by single spaces.

    Args:
        text: string tensor of any shape.
    Returns:
        string tensor of the same shape.
    """
    return marking_scopes(text)


@keras.saving.register_keras_serializable(package="textattn")
def standardize_review_marking_near_negation(text):
    """``standardize_review_marking_negation`` with scopes of at most ``NEAR_WORDS`` words after their
    negator (``data.negation: mark_near``): "it is not at all bad" -> "it is not not_at not_all not_bad",
    "it is not what i expected from such a bad director" -> "... not not_what not_i not_expected from such a
    bad director".

    Args:
        text: string tensor of any shape.
    Returns:
        string tensor of the same shape.
    """
    return marking_scopes(text, NEAR_WORDS)


@keras.saving.register_keras_serializable(package="textattn")
def standardize_review_marking_near_negation_and_concession(text):
    """``standardize_review_marking_near_negation``, and each word a contrast concedes prefixed ``con_``
    (``data.negation: mark_near_concession``, data/concession.py): "nice cast, but it is not good" ->
    "con_nice con_cast but it is not not_good".

    Args:
        text: string tensor of any shape.
    Returns:
        string tensor of the same shape.
    """
    return marking_scopes(text, NEAR_WORDS, concede=True)


def marking_scopes(text, max_distance: int | None = None, concede: bool = False):
    """The marking standardizers: negation scopes to the clause's end, or at most ``max_distance`` words
    long; with ``concede`` also the words a contrast concedes."""
    text = tf.convert_to_tensor(text, tf.string)
    lowered = tf.strings.regex_replace(tf.strings.lower(tf.reshape(text, [-1])), r"<br\s*/?>", " ")
    tokens = tf.strings.split(lowered)
    # A batch of reviews holds each word many times: the regexes and the prefix run once per distinct
    # token (about a sixth of them in 512 IMDB reviews), and a gather hands the results back.
    distinct, index = tf.unique(tokens.flat_values, out_idx=tf.int64)
    roles = tuple(tf.gather(role, index) for role in token_roles(distinct))
    variant = tf.cast(negation_scopes(tokens, roles, max_distance).flat_values, tf.int64)
    plain = tf.strings.regex_replace(distinct, _PUNCTUATION, "")
    kept = tf.strings.length(plain) > 0  # punctuation alone stays empty
    # Row i of the table is distinct token i, row i + v * len(distinct) its variant v: 1 negated, 2 conceded,
    # 3 both.
    table = [plain, tf.where(kept, PREFIX + plain, plain)]
    if concede:
        conceding = tuple(tf.gather(role, index) for role in concession.concession_roles(distinct))
        variant += 2 * tf.cast(concession.concession_scopes(tokens, conceding, roles).flat_values, tf.int64)
        table += [tf.where(kept, concession.PREFIX + word, word) for word in table]
    words = tf.gather(tf.concat(table, 0), index + tf.size(distinct, tf.int64) * variant)
    return tf.reshape(tf.strings.reduce_join(tokens.with_flat_values(words), axis=-1, separator=" "), tf.shape(text))


STANDARDIZERS = {
    "none": standardize_review,
    "mark": standardize_review_marking_negation,
    "mark_near": standardize_review_marking_near_negation,
    "mark_near_concession": standardize_review_marking_near_negation_and_concession,
}
"""``data.negation`` -> the standardizer that turns review text into whitespace-separated words."""


def standardizer(negation: str = "none"):
    """The standardizer of ``data.negation`` (``none``, ``mark``, ``mark_near`` or ``mark_near_concession``)."""
    return STANDARDIZERS[negation]


def make_vectorizer(vocab_size: int, vocabulary=None, negation: str = "none"):
    """A TextVectorization that maps text to token ids (0 = padding, 1 = OOV).

    Under the TensorFlow backend it is the Keras layer itself, with ragged
    output (batch, None). Under another backend Keras allows no ragged output,
    and hands a callable standardizer NumPy strings even inside tf.data, where
    ``standardize_review``'s tf.strings ops cannot take them; there the layer
    is wrapped (``PreStandardized``) and pads its output with 0 to the batch's
    longest review, which ``truncate_and_pad`` accepts too. ``negation``
    (``data.negation``) picks the standardizer (``standardizer``).
    """
    standardize = standardizer(negation)
    if keras.backend.backend() == "tensorflow":
        return keras.layers.TextVectorization(
            max_tokens=vocab_size, standardize=standardize, output_mode="int", ragged=True, vocabulary=vocabulary
        )
    return PreStandardized(
        keras.layers.TextVectorization(
            max_tokens=vocab_size, standardize=None, output_mode="int", vocabulary=vocabulary
        ),
        standardize,
    )


class PreStandardized:
    """A TextVectorization (``standardize=None``) whose input is standardized with
    ``standardize`` (default ``standardize_review``) before it; every other attribute is the layer's."""

    def __init__(self, layer: keras.layers.TextVectorization, standardize=standardize_review):
        self.layer = layer
        self.standardize = standardize

    def __call__(self, texts):
        return self.layer(self.standardize(texts))

    def adapt(self, dataset):
        self.layer.adapt(dataset.map(self.standardize))

    def __getattr__(self, name):
        return getattr(self.layer, name)


def adapt_vectorizer(
    texts, vocab_size: int, batch_size: int = 1024, negation: str = "none"
) -> keras.layers.TextVectorization:
    """Fit a vocabulary of at most ``vocab_size`` entries on ``texts`` (list of str)."""
    vectorizer = make_vectorizer(vocab_size, negation=negation)
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size)
    vectorizer.adapt(ds)
    return vectorizer


def truncate_and_pad(ragged_ids, length: int, keep: str) -> tf.Tensor:
    """Cut each row of token ids to ``length`` and pad with zeros after it.

    Args:
        ragged_ids: int RaggedTensor (batch, None), or an int tensor (batch, n)
            whose rows are padded with 0 after their tokens (a vectorizer's
            output under a non-TensorFlow backend).
        length: output length.
        keep: "start" keeps the first ``length`` tokens, "end" the last.
    Returns:
        int32 tensor, shape (batch, length).
    """
    if not isinstance(ragged_ids, tf.RaggedTensor):
        ragged_ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ragged_ids), padding=0)
    ragged_ids = ragged_ids[:, :length] if keep == "start" else ragged_ids[:, -length:]
    return tf.cast(ragged_ids.to_tensor(default_value=0, shape=[None, length]), tf.int32)


def texts_to_ids(vectorizer, texts, length: int, keep: str, batch_size: int = 1024) -> np.ndarray:
    """Vectorize a list of texts into an int32 array of shape (len(texts), length)."""
    if len(texts) == 0:
        return np.zeros((0, length), dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size)
    ds = ds.map(lambda t: truncate_and_pad(vectorizer(t), length, keep), num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate(list(ds.as_numpy_iterator()), axis=0)
