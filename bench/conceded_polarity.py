"""What a word's polarity becomes when a contrast concedes it, counted on IMDB's training reviews.

    python bench/conceded_polarity.py [--data ../shared/data/aclImdb.tar.gz] [--words good nice slow ...]

Each of the 25,000 training reviews goes through ``data.negation: mark_near_concession``'s standardizer
(textattn/data/concession.py). A review counts for word x when x is left plain in it somewhere, and for
conceded x when the standardizer writes ``con_x`` (negated words, ``not_x``, are left out). The table gives
each word's smoothed document log ratio, log P(review holds it | positive) - log P(... | negative), plain
and conceded, and the least-squares slope of the conceded ratio on the plain one over the words seen in at
least 200 reviews and conceded in at least 50 (docs/reading.md, lever 12).
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from textattn.startup import configure_process  # noqa: E402

WORDS = "good great lovely nice fine excellent wonderful bad boring dull slow terrible awful".split()


def document_counts(texts, labels, batch: int = 1000):
    """([plain counts per class], [conceded counts per class], reviews per class)."""
    import tensorflow as tf

    from textattn.data import concession
    from textattn.data.negation import PREFIX as NEGATED
    from textattn.data.text import standardize_review_marking_near_negation_and_concession as standardize

    plain = [collections.Counter(), collections.Counter()]
    conceded = [collections.Counter(), collections.Counter()]
    for start in range(0, len(texts), batch):
        for text, label in zip(standardize(tf.constant(texts[start : start + batch])).numpy(), labels[start:]):
            for word in set(text.decode().split()):
                bare = word.removeprefix(concession.PREFIX)
                if bare.startswith(NEGATED):
                    continue
                (conceded if bare != word else plain)[label][bare] += 1
    return plain, conceded, [labels.count(0), labels.count(1)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("TEXTATTN_DATA", "../shared/data/aclImdb.tar.gz"))
    parser.add_argument("--words", nargs="+", default=WORDS)
    args = parser.parse_args(argv)
    configure_process()
    from textattn.data.aclimdb import read_reviews

    texts, labels = read_reviews(args.data, splits=("train",))["train"]
    plain, conceded, reviews = document_counts(texts, labels)

    def ratio(counts, word):
        return math.log((counts[1][word] + 1) / (reviews[1] + 1)) - math.log((counts[0][word] + 1) / (reviews[0] + 1))

    def seen(counts, word):
        return counts[0][word] + counts[1][word]

    print("| word | plain log ratio | reviews | conceded log ratio | reviews |")
    print("|---|---|---|---|---|")
    for word in args.words:
        print(
            f"| {word} | {ratio(plain, word):+.2f} | {seen(plain, word):,} "
            f"| {ratio(conceded, word):+.2f} | {seen(conceded, word):,} |"
        )
    common = [w for w in plain[0] | plain[1] if seen(plain, w) >= 200 and seen(conceded, w) >= 50]
    slope, intercept = np.polyfit([ratio(plain, w) for w in common], [ratio(conceded, w) for w in common], 1)
    print(f"\n{len(common):,} words: conceded = {slope:.2f} * plain {intercept:+.3f}")


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))
