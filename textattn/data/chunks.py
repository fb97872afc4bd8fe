"""Long reviews as overlapping windows of token ids (``data.long_text: chunks``).

A review of n tokens is read in windows of ``sequence_length`` tokens that
start every ``stride = sequence_length - overlap`` tokens: window k holds
tokens [k * stride, k * stride + sequence_length). A window is kept while it
brings tokens the previous one did not (the first always), at most
``max_chunks`` of them, so a review of n tokens has

    1 + ceil(max(n - sequence_length, 0) / stride)   windows (capped at max_chunks).

The last window of a review longer than ``sequence_length`` is moved back to
end on its last token, so that every window is full, as the reviews the model
was trained on (measured better than a partial last window:
docs/long_documents.md). A review of at most ``sequence_length`` tokens is one
window, padded with 0 after its tokens. Only the first ``covered_length``
tokens can be reached; longer reviews are cut to that many first, keeping
``data.keep``'s end as ``cut`` does.

TensorFlow ops only, so the split runs inside an exported SavedModel.
"""

from __future__ import annotations

import tensorflow as tf


def stride(sequence_length: int, overlap: int) -> int:
    """How far apart windows start, in tokens."""
    return sequence_length - overlap


def covered_length(sequence_length: int, overlap: int, max_chunks: int) -> int:
    """Tokens that ``max_chunks`` windows reach: sequence_length + (max_chunks - 1) * stride."""
    return sequence_length + (max_chunks - 1) * stride(sequence_length, overlap)


def window_counts(lengths, sequence_length: int, overlap: int, max_chunks: int):
    """Windows per review.

    Args:
        lengths: int tensor (batch,), tokens per review.
    Returns:
        int32 tensor (batch,), each in [1, max_chunks].
    """
    step = stride(sequence_length, overlap)
    beyond_first = tf.maximum(tf.cast(lengths, tf.int32) - sequence_length, 0)
    return tf.minimum(1 + (beyond_first + step - 1) // step, max_chunks)


def split_windows(ids, sequence_length: int, overlap: int, max_chunks: int):
    """Every review's windows, stacked.

    Args:
        ids: int tensor (batch, L), each row's tokens first and padding (0)
            after; L is at most ``covered_length`` (tokens past it are not read).
    Returns:
        (windows, owner): windows int32 (W, sequence_length), the windows of
        review 0, then of review 1, ...; owner int32 (W,), the review (row of
        ``ids``) each window belongs to. W is the sum of ``window_counts``.
    """
    ids = tf.cast(ids, tf.int32)
    step = stride(sequence_length, overlap)
    # Pad so that all max_chunks windows exist whatever L is.
    width = covered_length(sequence_length, overlap, max_chunks)
    ids = tf.pad(ids[:, :width], [[0, 0], [0, width - tf.minimum(tf.shape(ids)[1], width)]])
    lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)
    counts = window_counts(lengths, sequence_length, overlap, max_chunks)
    # Window k starts at k * stride, or earlier so as to end on the review's last token: (batch, max_chunks).
    starts = tf.minimum(tf.range(max_chunks)[None, :] * step, tf.maximum(lengths - sequence_length, 0)[:, None])
    frames = tf.gather(ids, starts[:, :, None] + tf.range(sequence_length), batch_dims=1)
    present = tf.sequence_mask(counts, max_chunks)
    windows = tf.boolean_mask(frames, present)
    owner = tf.repeat(tf.range(tf.shape(ids)[0], dtype=tf.int32), counts)
    return tf.reshape(windows, [-1, sequence_length]), owner
