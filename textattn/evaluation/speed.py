"""Serving speed: batch-1 latency and batched throughput on raw review texts, after a warm-up.

``measure_serving`` times a serving function, texts (batch,) tf.string ->
{"label_id": (batch,), "probabilities": (batch, C), ...}: the in-process ``serving.serving_function`` of
a run (what ``textattn evaluate`` reports), or the ``serve`` endpoint of an
exported SavedModel, loaded with TensorFlow alone as a server would.
"""

from __future__ import annotations

import itertools
import statistics
import time

LATENCY_CALLS = 100
THROUGHPUT_BATCH = 512


def measure_serving(
    serve,
    texts,
    batch1_calls: int = LATENCY_CALLS,
    batch_size: int = THROUGHPUT_BATCH,
    warmup_calls: int = 5,
    batches: int = 5,
) -> dict:
    """Time ``serve`` on ``texts`` (a list of str or bytes, at least one).

    ``serve`` is a serving function, or the directory of an exported SavedModel
    (its ``serve`` endpoint is used).

    Batch-1 latency: ``batch1_calls`` calls with one review each, cycling
    through ``texts``, after ``warmup_calls`` untimed calls; its median (p50)
    and 95th percentile. Throughput: ``batches`` calls of ``batch_size``
    reviews each (``texts`` repeated to fill a batch), after one untimed call
    at that size.

    Returns:
        {"batch1_p50_ms", "batch1_p95_ms", "batch1_calls", "batch_size",
         "batches", "throughput_reviews_per_s"}
    """
    import tensorflow as tf

    if len(texts) == 0:
        raise ValueError("measure_serving needs at least one review text")
    if not callable(serve):
        loaded = tf.saved_model.load(serve)  # kept referenced: the endpoint alone does not hold the variables
        serve = loaded.serve
    singles = itertools.cycle([tf.constant([t]) for t in texts])
    for _ in range(warmup_calls):
        _wait(serve(next(singles)))
    latencies_ms = []
    for _ in range(batch1_calls):
        batch = next(singles)
        start = time.perf_counter()
        _wait(serve(batch))
        latencies_ms.append((time.perf_counter() - start) * 1000.0)

    big = tf.constant(list(itertools.islice(itertools.cycle(texts), batch_size)))
    _wait(serve(big))
    start = time.perf_counter()
    for _ in range(batches):
        _wait(serve(big))
    elapsed = time.perf_counter() - start

    return {
        "batch1_p50_ms": statistics.median(latencies_ms) if latencies_ms else None,
        "batch1_p95_ms": percentile_95(latencies_ms) if latencies_ms else None,
        "batch1_calls": batch1_calls,
        "batch_size": batch_size,
        "batches": batches,
        "throughput_reviews_per_s": batch_size * batches / elapsed if batches else None,
    }


def _wait(out):
    """Fetch the answer a call is timed until: label_id (an export of format 1 had only probability)."""
    return (out["label_id"] if "label_id" in out else out["probability"]).numpy()


def percentile_95(values: list[float]) -> float:
    """The 95th percentile, interpolated between the nearest ranks (as numpy's default)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]
