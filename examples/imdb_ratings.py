"""A 4-class CSV from the aclImdb archive's star ratings: the worked example of training on any labelled text.

The Large Movie Review Dataset names each review ``ID_STARS.txt``. This script
writes every labelled review once, as ``text,label,split``: label awful
(1-2 stars), poor (3-4), good (7-8) or great (9-10) (the archive has no 5-6),
split train or test as in the archive. The file is written whole or not at
all. Then:

    python examples/imdb_ratings.py --data aclImdb_v1.tar.gz --out ratings.csv
    python train.py --config configs/fast.yaml --data ratings.csv

``--per-class N`` keeps the first N reviews (by id) of each class in each split,
for a quick test.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from textattn.atomic_write import write_atomic  # noqa: E402
from textattn.data import aclimdb  # noqa: E402
from textattn.errors import UserError, run_cli  # noqa: E402

CLASSES = {1: "awful", 2: "awful", 3: "poor", 4: "poor", 7: "good", 8: "good", 9: "great", 10: "great"}


def rating_rows(data: str, per_class: int | None = None) -> list[tuple[str, str, str]]:
    """(text, label, split) of every rated review in ``data`` (an aclImdb directory or .tar.gz)."""
    kept = collections.Counter()
    rows = []
    for split, _, stars, text in aclimdb.read_rated(data):
        label = CLASSES.get(stars)
        if label is None:
            raise UserError(f"{data!r} has a review rated {stars} stars; the aclImdb archive has 1-4 and 7-10 only")
        if per_class is not None and kept[split, label] >= per_class:
            continue
        kept[split, label] += 1
        rows.append((text, label, split))
    return rows


def write_csv(rows, out: str) -> None:
    """``rows`` as a CSV with the header text,label,split, written atomically."""

    def write(tmp):
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label", "split"])
            writer.writerows(rows)

    write_atomic(out, write)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", default=os.environ.get("TEXTATTN_DATA"), help="aclImdb directory or .tar.gz (default: $TEXTATTN_DATA)"
    )
    parser.add_argument("--out", default="ratings.csv", help="the CSV to write (default: ratings.csv)")
    parser.add_argument(
        "--per-class",
        type=int,
        default=None,
        metavar="N",
        help="keep at most N reviews of each class in each split (default: all)",
    )
    args = parser.parse_args(argv)
    if not args.data:
        raise UserError("pass --data PATH (an aclImdb directory or .tar.gz) or set TEXTATTN_DATA")
    if args.per_class is not None and args.per_class < 1:
        raise UserError(f"--per-class must be at least 1, got {args.per_class}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise UserError(f"the folder of --out {args.out!r} does not exist; create it first")
    rows = rating_rows(args.data, args.per_class)
    write_csv(rows, args.out)
    counts = collections.Counter((split, label) for _, label, split in rows)
    print(f"Wrote {len(rows):,} reviews to {args.out}")
    print(f"{'class':<8}{'train':>8}{'test':>8}")
    for label in ("awful", "poor", "good", "great"):
        print(f"{label:<8}{counts['train', label]:>8,}{counts['test', label]:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main, None))
