"""Serving speed of exported SavedModels side by side, interleaved, as plain TensorFlow loads them.

    python bench/exports.py NAME=EXPORT_DIR NAME=EXPORT_DIR [...] [--rounds 12] [--batch 512]
        [--singles 400] [--data ../shared/data/aclImdb.tar.gz]

Every export is loaded with ``tf.saved_model.load`` in this one process and answers through its
``serve`` signature. Each round serves the same ``--batch`` (512) IMDB test reviews (drawn with a fixed seed) once
per export, the exports' order reversed every other round; then ``--singles`` single reviews, each
served by every export in turn (a batch-1 difference of a tenth of a millisecond needs the sides timed
call by call). The first export is the one the ratios divide by. Printed: the largest difference
between any export's probabilities and the first one's on those reviews (0.0 says the answers are the
same), then a Markdown table with the regime of each side: the user and system CPU seconds and the
minor page faults of its batch calls (``getrusage``, this process: every thread the calls ran on),
and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time

from textattn.startup import configure_process


def parse_exports(pairs: list[str]) -> dict[str, str]:
    """``["a=DIR", "b=DIR"]`` -> ``{"a": "DIR", "b": "DIR"}``, names unique, each a directory."""
    exports = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"exports.py: expected NAME=EXPORT_DIR, got {pair!r}")
        if name in exports:
            raise SystemExit(f"exports.py: the name {name!r} is given twice")
        if not os.path.isdir(path):
            raise SystemExit(f"exports.py: {path} is not a directory (an export written by `textattn export`)")
        exports[name] = path
    if len(exports) < 2:
        raise SystemExit("exports.py: give at least two exports to compare")
    return exports


def in_turn(names, turn: int) -> list:
    """``names`` in their order on even turns, reversed on odd ones: a drift of the machine falls on every side alike."""
    return list(names) if turn % 2 == 0 else list(names)[::-1]


def cpu_usage() -> tuple[float, float, int]:
    """(user s, system s, minor page faults) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="+", metavar="NAME=EXPORT_DIR")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--singles", type=int, default=400)
    parser.add_argument("--data", default="../shared/data/aclImdb.tar.gz")
    args = parser.parse_args(argv)
    exports = parse_exports(args.exports)
    configure_process()
    import numpy as np
    import tensorflow as tf

    from textattn.data import aclimdb

    test_texts = aclimdb.read_reviews(args.data, ("test",))["test"][0]
    picked = random.Random(0).sample(test_texts, args.batch + args.singles)
    batch, singles = tf.constant(picked[: args.batch]), [tf.constant([t]) for t in picked[args.batch :]]

    models = {name: tf.saved_model.load(path) for name, path in exports.items()}
    answers = {name: model.serve(batch)["probability"].numpy() for name, model in models.items()}
    first = next(iter(models))
    for name, model in models.items():
        model.serve(singles[0])  # traced and warm before anything is timed
        print(
            f"{name}: {path_size_mb(exports[name]):.0f} MB; largest probability difference from {first}: "
            f"{float(np.abs(answers[name] - answers[first]).max()):.3g}"
        )

    rates = {name: [] for name in models}
    cost = {name: [0.0, 0.0, 0] for name in models}
    latency = {name: [] for name in models}
    load_before = os.getloadavg()[0]
    for round_ in range(args.rounds):
        for name in in_turn(models, round_):
            before = cpu_usage()
            start = time.perf_counter()
            models[name].serve(batch)["probability"].numpy()
            rates[name].append(args.batch / (time.perf_counter() - start))
            cost[name] = [c + (a - b) for c, a, b in zip(cost[name], cpu_usage(), before)]
    for i, single in enumerate(singles):
        for name in in_turn(models, i):
            start = time.perf_counter()
            models[name].serve(single)["probability"].numpy()
            latency[name].append(1000 * (time.perf_counter() - start))
    print(
        f"\n{os.cpu_count()} CPUs, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{args.rounds} rounds of {args.batch} reviews, {args.singles} single reviews\n"
    )
    print(
        "| export | reviews/s in batches: median (range) | ratio | batch-1 p50 ms | p95 ms | user s | sys s | minor faults |"
    )
    print("|---|---|---|---|---|---|---|---|")
    base = statistics.median(rates[first])
    for name in models:
        median = statistics.median(rates[name])
        user, system, faults = cost[name]
        print(
            f"| {name} | {median:,.0f} ({min(rates[name]):,.0f}-{max(rates[name]):,.0f}) | {median / base:.2f} | "
            f"{statistics.median(latency[name]):.2f} | {float(np.percentile(latency[name], 95)):.2f} | "
            f"{user:.1f} | {system:.1f} | {faults:,} |"
        )
    return 0


def path_size_mb(path: str) -> float:
    """Total size of the files under ``path``, in MB."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files) / 1e6


if __name__ == "__main__":
    sys.exit(main())
