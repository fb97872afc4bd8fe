"""Peak memory of streamed training as the corpus grows: 1x, 4x and 16x IMDB's training text.

    python bench/memory.py --data aclImdb_v1.tar.gz
    python bench/memory.py --data aclImdb_v1.tar.gz --scales 1 4 --in-memory

For each scale k the 25,000 labelled training reviews are written k times as
JSONL shards (copy 0 as it is, each later copy with one random word of each
review dropped, so no two copies are the same text), then, each in its own
process (its peak resident memory from ``os.wait4``):

1. ``textattn prepare --data 'DIR/part-*.jsonl' --out DIR/prepared --config CONFIG``
   (streamed: TFRecord shards, splits hashed 70/10/20, the config's vocabularies);
2. ``textattn train --config CONFIG --data DIR/prepared`` for ``--epochs`` epochs.

``--in-memory`` also trains on the same text as one JSONL file read whole (the
path every source took before streaming), for comparison. The table gives each
step's peak RSS and wall seconds, and the ratio of each peak to the 1x one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, REPO)

from measure import run_process  # noqa: E402
from report import header  # noqa: E402

SHARD_REVIEWS = 25_000


def write_corpus(reviews: list[tuple[str, str]], scale: int, directory: str, seed: int = 0) -> int:
    """``scale`` copies of ``reviews`` (text, label) as JSONL shards of 25,000 lines; returns bytes written."""
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    written = 0
    for copy in range(scale):
        with open(os.path.join(directory, f"part-{copy:03d}.jsonl"), "w", encoding="utf-8") as f:
            for text, label in reviews:
                if copy:
                    words = text.split(" ")
                    del words[rng.randrange(len(words))]
                    text = " ".join(words)
                line = json.dumps({"text": text, "label": label}) + "\n"
                written += len(line.encode())
                f.write(line)
    return written


def imdb_training_reviews(archive: str) -> list[tuple[str, str]]:
    from textattn.data import aclimdb

    texts, labels = aclimdb.read_reviews(archive, ("train",))["train"]
    return [(t, aclimdb.CLASS_NAMES[y]) for t, y in zip(texts, labels)]


def textattn(*args) -> list[str]:
    return [sys.executable, "-m", "textattn", *args]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the aclImdb archive or directory")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--config", default="configs/fast.yaml")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--in-memory", action="store_true", help="also train on one JSONL file read whole")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    reviews = imdb_training_reviews(args.data)
    rows = []
    with tempfile.TemporaryDirectory(prefix="textattn-memory-") as work:
        env = {"TEXTATTN_CACHE": os.path.join(work, "cache")}
        for scale in args.scales:
            directory = os.path.join(work, f"x{scale}")
            size = write_corpus(reviews, scale, directory)
            prepared = os.path.join(directory, "prepared")
            prep = run_process(
                textattn(
                    "prepare",
                    "--data",
                    os.path.join(directory, "part-*.jsonl"),
                    "--out",
                    prepared,
                    "--config",
                    args.config,
                ),
                REPO,
                env,
                f"prepare {scale}x",
            )
            train = run_process(
                textattn(
                    "train",
                    "--config",
                    args.config,
                    "--data",
                    prepared,
                    "--epochs",
                    str(args.epochs),
                    "--output-dir",
                    os.path.join(work, "runs"),
                    "--set",
                    "train.final_fit=false",
                ),
                REPO,
                env,
                f"train {scale}x",
            )
            with open(os.path.join(prepared, "manifest.json")) as f:
                counts = json.load(f)["splits"]
            row = {
                "scale": scale,
                "reviews": scale * len(reviews),
                "jsonl_mib": size / 2**20,
                "train_examples": counts["train"]["count"],
                "prepare": prep.usage(),
                "train": train.usage(),
                "test_accuracy": _test_accuracy(train.output),
            }
            if args.in_memory:
                whole = os.path.join(directory, "all.jsonl")
                with open(whole, "w", encoding="utf-8") as out:
                    for k in range(scale):
                        with open(os.path.join(directory, f"part-{k:03d}.jsonl"), encoding="utf-8") as f:
                            shutil.copyfileobj(f, out)
                mem = run_process(
                    textattn(
                        "train",
                        "--config",
                        args.config,
                        "--data",
                        whole,
                        "--epochs",
                        str(args.epochs),
                        "--output-dir",
                        os.path.join(work, "runs"),
                        "--set",
                        "train.final_fit=false",
                    ),
                    REPO,
                    env,
                    f"in-memory {scale}x",
                )
                row["in_memory"] = mem.usage()
            shutil.rmtree(directory, ignore_errors=True)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print("\n".join(table(rows)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


def _test_accuracy(output: str):
    for line in output.splitlines():
        if "test_accuracy" in line:
            return float(line.split("test_accuracy")[1].split(";")[0])
    return None


def table(rows: list[dict]) -> list[str]:
    """One row per scale: peak RSS and wall seconds of prepare and train, ratios to the first scale."""
    base = rows[0]
    top = (
        "| scale | reviews | JSONL MiB | prepare peak MiB | prepare s | train peak MiB (x first) | train s "
        "| test acc |" + (" in-memory train peak MiB (x first) |" if "in_memory" in base else "")
    )
    lines = header(top)
    for r in rows:
        ratio = r["train"]["peak_rss_mib"] / base["train"]["peak_rss_mib"]
        cells = [
            f"{r['scale']}x",
            f"{r['reviews']:,}",
            f"{r['jsonl_mib']:.0f}",
            f"{r['prepare']['peak_rss_mib']:.0f}",
            f"{r['prepare']['wall_s']:.0f}",
            f"{r['train']['peak_rss_mib']:.0f} ({ratio:.2f}x)",
            f"{r['train']['wall_s']:.0f}",
            f"{r['test_accuracy']:.4f}" if r["test_accuracy"] is not None else "-",
        ]
        if "in_memory" in r:
            m = r["in_memory"]["peak_rss_mib"]
            cells.append(f"{m:.0f} ({m / base['in_memory']['peak_rss_mib']:.2f}x)")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
