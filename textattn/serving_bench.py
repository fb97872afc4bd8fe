"""Serving speed of an exported SavedModel: batch-1 latency and batched throughput.

Only TensorFlow is needed; the model is loaded with ``tf.saved_model.load``
and called through its ``serve`` endpoint, as a server would.
"""

from __future__ import annotations

import itertools
import time

import numpy as np


def measure_serving(export_dir, texts, batch1_calls: int = 200, batch_size: int = 512,
                    warmup_calls: int = 5, batches: int = 5) -> dict:
    """Time ``serve`` on raw review texts (list of str or bytes, at least one).

    ``export_dir`` is an exported SavedModel's directory, or a serving function
    itself (texts (batch,) -> {"probability", ...}).

    Batch-1 latency: ``batch1_calls`` calls with one review each, cycling
    through ``texts``, after ``warmup_calls`` untimed calls. Throughput:
    ``batches`` calls of ``batch_size`` reviews each (``texts`` repeated to
    fill a batch), after one untimed call at that size.

    Returns:
        {"batch1_p50_ms", "batch1_p95_ms", "batch1_calls", "batch_size",
         "batches", "throughput_reviews_per_s"}
    """
    import tensorflow as tf

    if len(texts) == 0:
        raise ValueError("measure_serving needs at least one review text")
    if callable(export_dir):  # an in-process serving function (export.serving_function)
        serve = export_dir
    else:
        loaded = tf.saved_model.load(export_dir)  # kept referenced: ``serve`` alone does not hold the variables
        serve = loaded.serve
    singles = itertools.cycle([tf.constant([t]) for t in texts])
    for _ in range(warmup_calls):
        serve(next(singles))["probability"].numpy()
    latencies = []
    for _ in range(batch1_calls):
        batch = next(singles)
        start = time.perf_counter()
        serve(batch)["probability"].numpy()
        latencies.append(time.perf_counter() - start)

    big = tf.constant(list(itertools.islice(itertools.cycle(texts), batch_size)))
    serve(big)["probability"].numpy()
    start = time.perf_counter()
    for _ in range(batches):
        serve(big)["probability"].numpy()
    elapsed = time.perf_counter() - start

    latencies_ms = np.asarray(latencies) * 1000.0
    return {
        "batch1_p50_ms": float(np.percentile(latencies_ms, 50)) if batch1_calls else None,
        "batch1_p95_ms": float(np.percentile(latencies_ms, 95)) if batch1_calls else None,
        "batch1_calls": batch1_calls,
        "batch_size": batch_size,
        "batches": batches,
        "throughput_reviews_per_s": batch_size * batches / elapsed if batches else None,
    }
