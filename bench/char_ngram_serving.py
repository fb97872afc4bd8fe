"""How fast can a character n-gram member's bags be found at serving time? (docs/reading.md, lever 10)

    python bench/char_ngram_serving.py [--config configs/default.yaml] [--rounds 8] [--singles 300]

Adapts ``textattn.data.character_ngrams.adapt_character_vectorizer`` (``TextVectorization``, 1,000,000
character 3-6-grams) on the config's training part, and builds the same bags from integer keys with
``KeyedCharacterVectorizer``, what serving uses (``model.ngram.character_ngrams``): each character gets an
id, each n-gram one int64, its ids as digits in base A + 1, looked up in an ``IntegerLookup``. It checks
that both give the same SparseTensor on 2,048 validation reviews and on edge cases.
It then times both in ``tf.function``s, interleaved:
- batch 512: the median over rounds;
- batch 1: p50 over single reviews served by the two sides in turn.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from textattn.startup import configure_process  # noqa: E402

NGRAMS = (3, 4, 5, 6)


def same_bags(a, b) -> bool:
    import tensorflow as tf

    a, b = tf.sparse.reorder(a), tf.sparse.reorder(b)
    return (
        a.indices.shape == b.indices.shape
        and bool(tf.reduce_all(a.indices == b.indices))
        and tuple(a.dense_shape.numpy()) == tuple(b.dense_shape.numpy())
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "default.yaml"))
    parser.add_argument("--data", default=None, help="the archive (default: $TEXTATTN_DATA, as textattn train)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--singles", type=int, default=300)
    args = parser.parse_args(argv)
    configure_process()
    import tensorflow as tf

    from textattn.config import load_config
    from textattn.data.character_ngrams import KeyedCharacterVectorizer, adapt_character_vectorizer
    from textattn.data.pipeline import split_texts
    from textattn.data.source import resolve_data

    config = resolve_data(load_config(args.config), args.data)
    splits = split_texts(config.data, config.seed)
    started = time.perf_counter()
    text_side = adapt_character_vectorizer(list(splits.fit[0]), 1_000_000, NGRAMS)
    keyed_side = KeyedCharacterVectorizer(text_side.get_vocabulary()[1:], NGRAMS)
    print(f"adapted and keyed in {time.perf_counter() - started:.0f} s")
    sides = {"TextVectorization": tf.function(text_side), "int keys": tf.function(keyed_side)}

    reviews = list(splits.validation[0])
    batches = [tf.constant(reviews[i : i + 512]) for i in range(0, 2048, 512)]
    edge = tf.constant(["", "ab", "abc", "é ü ☃ x", "a  b\tc<br />d", "!!!", "x" * 10_000])
    differing = sum(not same_bags(sides["int keys"](b), sides["TextVectorization"](b)) for b in batches + [edge])
    print(f"batches with different bags: {differing} of {len(batches) + 1} (4 x 512 reviews, edge cases)")
    if differing:
        sys.exit(1)

    batch, seconds = batches[0], {name: [] for name in sides}
    for r in range(args.rounds):
        for name in sides if r % 2 == 0 else reversed(list(sides)):
            started = time.perf_counter()
            sides[name](batch)
            seconds[name].append(time.perf_counter() - started)
    single = {name: [] for name in sides}
    for i in range(args.singles):
        text = tf.constant(reviews[i : i + 1])
        for name in sides if i % 2 == 0 else reversed(list(sides)):
            started = time.perf_counter()
            sides[name](text)
            single[name].append(time.perf_counter() - started)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"| character bags ({os.cpu_count()} cores, load {load:.1f}) | reviews/s at 512, median | batch-1 p50 ms |")
    print("|---|---|---|")
    for name in sides:
        print(f"| {name} | {512 / np.median(seconds[name]):,.0f} | {1000 * np.median(single[name]):.2f} |")


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))  # a wrong run directory or data path: one "error:" line, exit status 2
