"""Accuracy by review length, in tokens after the project's standardization.

``token_counts`` counts the whitespace tokens that the vectorizer sees (text
through ``standardize_review``, split on whitespace), before truncation to the
model's sequence length. ``accuracy_by_length`` splits examples into buckets
at ``edges``: with the default (50, 200) they are <=50, 51-200 and >200.
"""

from __future__ import annotations

import numpy as np

LENGTH_BUCKETS = (50, 200)
COUNT_BATCH = 2048


def token_counts(texts, batch_size: int = COUNT_BATCH) -> np.ndarray:
    """Whitespace tokens per text after ``standardize_review``.

    Args:
        texts: sequence of N str.
        batch_size: texts per TensorFlow call.
    Returns:
        int64 array (N,).
    """
    import tensorflow as tf

    from textattn.data.text import standardize_review

    texts = list(texts)
    counts = []
    for start in range(0, len(texts), batch_size):
        batch = tf.constant(np.asarray(texts[start : start + batch_size], dtype=object), dtype=tf.string)
        tokens = tf.strings.split(standardize_review(batch))  # RaggedTensor (batch, None)
        counts.append(tokens.row_lengths().numpy())
    return np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, dtype=np.int64)


def _bucket_bounds(edges) -> list[tuple[int, int | None]]:
    """[(min, max)] per bucket, max None for the open last bucket; edges strictly increasing, >= 0."""
    edges = [int(e) for e in edges]
    if any(e < 0 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be non-negative and strictly increasing, got {tuple(edges)}")
    lows = [0] + [e + 1 for e in edges]
    highs = edges + [None]
    return list(zip(lows, highs))


def _bucket_name(low: int, high: int | None) -> str:
    if high is None:
        return f">{low - 1}"
    if low == 0:
        return f"<={high}"
    return f"{low}-{high}"


def accuracy_by_length(labels, predicted_labels, lengths, edges=LENGTH_BUCKETS) -> list[dict]:
    """Accuracy per length bucket, shortest bucket first.

    Bucket i holds lengths in (edges[i-1], edges[i]]; the first starts at 0 and
    the last, above edges[-1], is open.

    Args:
        labels: int array (N,) of true classes.
        predicted_labels: int array (N,) of predicted classes.
        lengths: int array (N,), e.g. from ``token_counts``.
        edges: increasing upper bounds (inclusive) of all buckets but the last.
    Returns:
        One dict per bucket (len(edges) + 1 of them):
        {"bucket": "<=50", "min": 0, "max": 50, "examples": n, "accuracy": float},
        with "max" None for the last bucket and "accuracy" None for an empty one.
    """
    labels = np.asarray(labels).reshape(-1)
    predicted = np.asarray(predicted_labels).reshape(-1)
    lengths = np.asarray(lengths).reshape(-1)
    if not len(labels) == len(predicted) == len(lengths):
        raise ValueError(f"{len(labels)} labels, {len(predicted)} predictions and {len(lengths)} lengths")
    correct = labels == predicted
    rows = []
    for low, high in _bucket_bounds(edges):
        inside = (lengths >= low) if high is None else (lengths >= low) & (lengths <= high)
        n = int(inside.sum())
        rows.append(
            {
                "bucket": _bucket_name(low, high),
                "min": low,
                "max": high,
                "examples": n,
                "accuracy": float(correct[inside].mean()) if n else None,
            }
        )
    return rows
