"""A multi-label JSONL from the aclImdb archive: the worked example of docs/multi_label.md.

Each labelled review gets 1 to 3 labels: ``positive`` or ``negative`` (its
folder), ``strong`` for a rating of 1-2 or 9-10 stars (the archive names each
review ``ID_STARS.txt``), and ``long`` for a review of more than 300 words
(whitespace-separated). The split is the archive's (train or test). One JSON
object a line, ``{"text", "labels", "split"}``, written whole or not at all:

    python bench/multilabel_example.py --data ../shared/data/aclImdb.tar.gz --out /tmp/imdb_multilabel.jsonl
    python -m textattn train --config configs/fast.yaml --data /tmp/imdb_multilabel.jsonl --set data.multi_label=true

``--per-split N`` keeps the first N reviews (by id) of each split, for a quick try.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from textattn.atomic_write import write_text_atomic  # noqa: E402
from textattn.data import aclimdb  # noqa: E402
from textattn.errors import UserError, run_cli  # noqa: E402

LONG_WORDS = 300
LABELS = ("negative", "positive", "strong", "long")


def labels_of(stars: int, text: str) -> list[str]:
    """A review's label set from its star rating (1-4 negative, 7-10 positive) and its length."""
    labels = ["positive" if stars >= 7 else "negative"]
    if stars <= 2 or stars >= 9:
        labels.append("strong")
    if len(text.split()) > LONG_WORDS:
        labels.append("long")
    return labels


def example_rows(data: str, per_split: int | None = None) -> list[dict]:
    """{"text", "labels", "split"} of every rated review of ``data`` (an aclImdb directory or .tar.gz)."""
    kept = collections.Counter()
    rows = []
    for split, _, stars, text in aclimdb.read_rated(data):
        if per_split is not None and kept[split] >= per_split:
            continue
        kept[split] += 1
        rows.append({"text": text, "labels": labels_of(stars, text), "split": split})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", default=os.environ.get("TEXTATTN_DATA"), help="aclImdb directory or .tar.gz (default: $TEXTATTN_DATA)"
    )
    parser.add_argument("--out", default="imdb_multilabel.jsonl", help="the JSONL to write")
    parser.add_argument(
        "--per-split", type=int, default=None, metavar="N", help="keep the first N reviews of each split (default: all)"
    )
    args = parser.parse_args(argv)
    if not args.data:
        raise UserError("pass --data PATH (an aclImdb directory or .tar.gz) or set TEXTATTN_DATA")
    if args.per_split is not None and args.per_split < 1:
        raise UserError(f"--per-split must be at least 1, got {args.per_split}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise UserError(f"the folder of --out {args.out!r} does not exist; create it first")
    rows = example_rows(args.data, args.per_split)
    write_text_atomic(args.out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    counts = collections.Counter((row["split"], label) for row in rows for label in row["labels"])
    sizes = collections.Counter(len(row["labels"]) for row in rows)
    print(
        f"Wrote {len(rows):,} reviews to {args.out}; labels per review: "
        + ", ".join(f"{n}: {sizes[n]:,}" for n in sorted(sizes))
    )
    print(f"{'label':<10}{'train':>8}{'test':>8}")
    for label in LABELS:
        print(f"{label:<10}{counts['train', label]:>8,}{counts['test', label]:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, None))
