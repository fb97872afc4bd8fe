"""Long reviews, cut against chunks: accuracy by length and serving time, both from exported SavedModels.

    python bench/long_documents.py RUN_DIR [RUN_DIR ...] --data ../shared/data/aclImdb.tar.gz
        [--overlap 64] [--max-chunks 8] [--rounds 5] [--json bench/results_long_documents.json]

For each run (trained as usual, on cut reviews) two exports are written: the
run as it is (``data.long_text: cut``) and a copy of it whose config says
``data.long_text: chunks`` (the same model.keras; chunking adds no weights).
Both are loaded with ``tf.saved_model.load`` alone, as a server would, and:

- score every test review; accuracy by token count (the project's
  ``accuracy_by_length``, tokens counted before any cut);
- time the ``serve`` endpoint (``measure_serving``: batch-1 p50 over 100
  calls, reviews/s at batch 512) on two samples, the test reviews as they come
  and the reviews longer than ``sequence_length``; the two exports alternate
  for ``--rounds`` rounds and the medians are reported, so a machine that is
  shared drifts on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from measure import median  # noqa: E402  (bench/ is the script's directory)

from textattn.startup import configure_process  # noqa: E402

LENGTH_EDGES = (128, 256, 512, 1024)
SIDES = ("cut", "chunks")
TIMING_SAMPLE = 2048


def chunked_copy(run_dir: str, target: str, overlap: int, max_chunks: int) -> str:
    """A copy of ``run_dir`` at ``target`` whose config reads long reviews in chunks."""
    from textattn import runs
    from textattn.config import apply_overrides, save_config

    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("evaluation.json", "logs"))
    settings = ["data.long_text=chunks", f"data.chunk_overlap={overlap}", f"data.max_chunks={max_chunks}"]
    save_config(apply_overrides(runs.load_config(run_dir), settings), os.path.join(target, runs.CONFIG))
    return target


def test_split(run_dir: str, data_path: str):
    """(texts, labels, sequence_length) of the run's test split."""
    from textattn import runs
    from textattn.data import source_splits
    from textattn.data.source import resolve_data

    config = resolve_data(runs.load_config(run_dir), data_path)
    texts, labels = source_splits.split_texts(config.data, config.seed).test
    return texts, np.asarray(labels), config.data.sequence_length


def served_labels(serve, texts, batch_size: int = 512) -> np.ndarray:
    import tensorflow as tf

    return np.concatenate(
        [serve(tf.constant(texts[i : i + batch_size]))["label_id"].numpy() for i in range(0, len(texts), batch_size)]
    )


def bench_run(run_dir: str, data_path: str, work: str, overlap: int, max_chunks: int, rounds: int) -> dict:
    import tensorflow as tf

    from textattn.evaluation.length import accuracy_by_length, token_counts
    from textattn.evaluation.speed import measure_serving
    from textattn.export import export_run

    name = os.path.basename(os.path.normpath(run_dir))
    runs_of = {
        "cut": run_dir,
        "chunks": chunked_copy(run_dir, os.path.join(work, name + "-chunks"), overlap, max_chunks),
    }
    loaded = {}
    for side, source in runs_of.items():
        out_dir = export_run(source, os.path.join(work, f"{name}-{side}-export"))
        loaded[side] = tf.saved_model.load(out_dir)
    texts, labels, sequence_length = test_split(run_dir, data_path)
    lengths = token_counts(texts)
    result = {
        "run": run_dir,
        "sequence_length": sequence_length,
        "overlap": overlap,
        "max_chunks": max_chunks,
        "test_reviews": len(texts),
        "longer_than_sequence_length": float(np.mean(lengths > sequence_length)),
        "sides": {},
    }
    long = lengths > sequence_length
    correct = {}
    for side in SIDES:
        predicted = served_labels(loaded[side].serve, texts)
        correct[side] = predicted == labels
        result["sides"][side] = {
            "accuracy": float(np.mean(predicted == labels)),
            "accuracy_long": float(np.mean(predicted[long] == labels[long])),
            "by_length": accuracy_by_length(labels, predicted, lengths, LENGTH_EDGES),
            "timings": {"all": [], "long": []},
        }
    # Paired: the long reviews that chunks get right and cut wrong, and the other way round.
    result["long_fixed"] = int(np.sum(long & correct["chunks"] & ~correct["cut"]))
    result["long_broken"] = int(np.sum(long & correct["cut"] & ~correct["chunks"]))
    samples = {
        "all": texts[:TIMING_SAMPLE],
        "long": [t for t, n in zip(texts, lengths) if n > sequence_length][:TIMING_SAMPLE],
    }
    for r in range(rounds):
        for side in SIDES if r % 2 == 0 else SIDES[::-1]:
            for sample, sample_texts in samples.items():
                timing = measure_serving(loaded[side].serve, sample_texts)
                result["sides"][side]["timings"][sample].append(timing)
                print(
                    f"[bench] {name} round {r + 1} {side} {sample}: {timing['batch1_p50_ms']:.2f} ms, "
                    f"{timing['throughput_reviews_per_s']:.0f} reviews/s",
                    file=sys.stderr,
                    flush=True,
                )
    for side in SIDES:
        timings = result["sides"][side]["timings"]
        if not rounds:
            continue
        result["sides"][side]["serving"] = {
            sample: {
                "batch1_p50_ms": median([t["batch1_p50_ms"] for t in timings[sample]]),
                "reviews_per_s_at_512": median([t["throughput_reviews_per_s"] for t in timings[sample]]),
            }
            for sample in timings
        }
    return result


def table(results: list[dict]) -> str:
    """The results as Markdown: accuracy by length, then serving time, one row per run and side."""
    buckets = [row["bucket"] for row in results[0]["sides"]["cut"]["by_length"]]
    lines = [
        "| run | long_text | accuracy | > sequence_length | " + " | ".join(f"{b} tokens" for b in buckets) + " |",
        "|---|---|---|---|" + "---|" * len(buckets),
    ]
    for result in results:
        for side in SIDES:
            s = result["sides"][side]
            cells = [f"{row['accuracy']:.4f} ({row['examples']})" for row in s["by_length"]]
            lines.append(
                f"| {os.path.basename(os.path.normpath(result['run']))} | {side} | {s['accuracy']:.4f} | "
                f"{s['accuracy_long']:.4f} | " + " | ".join(cells) + " |"
            )
    lines += [
        "",
        "Reviews longer than sequence_length that chunks get right and cut wrong / cut right and chunks wrong: "
        + "; ".join(
            f"{os.path.basename(os.path.normpath(r['run']))} {r['long_fixed']} / {r['long_broken']}" for r in results
        ),
    ]
    if "serving" not in results[0]["sides"]["cut"]:
        return "\n".join(lines)
    lines += [
        "",
        "| run | long_text | batch-1 p50 ms (all) | reviews/s at 512 (all) | batch-1 p50 ms (long) | "
        "reviews/s at 512 (long) |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for side in SIDES:
            serving = result["sides"][side]["serving"]
            lines.append(
                f"| {os.path.basename(os.path.normpath(result['run']))} | {side} | "
                f"{serving['all']['batch1_p50_ms']:.2f} | {serving['all']['reviews_per_s_at_512']:.0f} | "
                f"{serving['long']['batch1_p50_ms']:.2f} | {serving['long']['reviews_per_s_at_512']:.0f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--data", required=True, help="the data the runs were trained on (aclImdb archive)")
    parser.add_argument("--overlap", type=int, default=64, help="data.chunk_overlap of the chunked side")
    parser.add_argument("--max-chunks", type=int, default=8, help="data.max_chunks of the chunked side")
    parser.add_argument(
        "--rounds", type=int, default=5, help="timing rounds, the two sides alternating (0: accuracy only)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    configure_process()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="long_documents-") as work:
        results = [
            bench_run(run_dir, args.data, work, args.overlap, args.max_chunks, args.rounds) for run_dir in args.run_dirs
        ]
    print(table(results))
    print(f"\nLoad average before: {load[0]:.2f} (1 min) on {os.cpu_count()} CPUs; after: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"load_before": load, "load_after": os.getloadavg(), "cpus": os.cpu_count(), "results": results},
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
