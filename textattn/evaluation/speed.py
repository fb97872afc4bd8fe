"""Inference speed of a model on token ids, measured after a warm-up.

Throughput runs batches of ``batch_size`` reviews through
``model.predict_on_batch`` (Keras' compiled predict function, built once and
reused); latency is the median wall time of single-review calls.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

THROUGHPUT_BATCH = 512
LATENCY_CALLS = 100
WARMUP_CALLS = 3
MIN_TIMED_SECONDS = 1.0
MIN_TIMED_BATCHES = 3


def _batch(x: np.ndarray, size: int) -> np.ndarray:
    """``size`` rows of ``x`` (N, length), repeating rows when N < size."""
    if len(x) == 0:
        raise ValueError("no examples to time")
    reps = -(-size // len(x))
    return np.ascontiguousarray(np.tile(x[:size], (reps, 1))[:size], dtype="int32")


def measure_speed(model, x: np.ndarray, batch_size: int = THROUGHPUT_BATCH,
                  latency_calls: int = LATENCY_CALLS) -> dict:
    """{throughput_per_s, latency_ms, throughput_batch, latency_calls}.

    ``x`` holds token ids, shape (N, sequence_length). Throughput is timed over
    at least ``MIN_TIMED_BATCHES`` batches and ``MIN_TIMED_SECONDS``.
    """
    big = _batch(x, batch_size)
    one = _batch(x, 1)
    # Each input shape traces (and with XLA compiles) its own function: warm both.
    for _ in range(WARMUP_CALLS):
        model.predict_on_batch(big)
        model.predict_on_batch(one)

    batches, start = 0, time.perf_counter()
    while batches < MIN_TIMED_BATCHES or time.perf_counter() - start < MIN_TIMED_SECONDS:
        model.predict_on_batch(big)
        batches += 1
    throughput = batches * batch_size / (time.perf_counter() - start)

    times = []
    for _ in range(max(1, latency_calls)):
        t0 = time.perf_counter()
        model.predict_on_batch(one)
        times.append(time.perf_counter() - t0)
    return {
        "throughput_per_s": throughput,
        "latency_ms": statistics.median(times) * 1000.0,
        "throughput_batch": batch_size,
        "latency_calls": len(times),
    }
