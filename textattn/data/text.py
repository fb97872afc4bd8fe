"""Review text to token ids: standardization, vocabulary, truncation.

The same functions run in the data pipeline and inside the exported
SavedModel, so training and serving see identical token ids.
"""

from __future__ import annotations

import string

import keras
import numpy as np
import tensorflow as tf

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


def make_vectorizer(vocab_size: int, vocabulary=None) -> keras.layers.TextVectorization:
    """A TextVectorization that maps text to ragged token ids (0 = padding, 1 = OOV)."""
    return keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=standardize_review,
        output_mode="int",
        ragged=True,
        vocabulary=vocabulary,
    )


def adapt_vectorizer(texts, vocab_size: int, batch_size: int = 1024) -> keras.layers.TextVectorization:
    """Fit a vocabulary of at most ``vocab_size`` entries on ``texts`` (list of str)."""
    vectorizer = make_vectorizer(vocab_size)
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size)
    vectorizer.adapt(ds)
    return vectorizer


def truncate_and_pad(ragged_ids: tf.RaggedTensor, length: int, keep: str) -> tf.Tensor:
    """Cut each row of ragged token ids to ``length`` and pad with zeros after it.

    Args:
        ragged_ids: int RaggedTensor, shape (batch, None).
        length: output length.
        keep: "start" keeps the first ``length`` tokens, "end" the last.
    Returns:
        int32 tensor, shape (batch, length).
    """
    ragged_ids = ragged_ids[:, :length] if keep == "start" else ragged_ids[:, -length:]
    return tf.cast(ragged_ids.to_tensor(default_value=0, shape=[None, length]), tf.int32)


def texts_to_ids(vectorizer, texts, length: int, keep: str, batch_size: int = 1024) -> np.ndarray:
    """Vectorize a list of texts into an int32 array of shape (len(texts), length)."""
    if len(texts) == 0:
        return np.zeros((0, length), dtype=np.int32)
    ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(batch_size)
    ds = ds.map(lambda t: truncate_and_pad(vectorizer(t), length, keep), num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate(list(ds.as_numpy_iterator()), axis=0)
