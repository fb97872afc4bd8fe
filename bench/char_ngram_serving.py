"""How fast can a character n-gram member's bags be found at serving time? (docs/reading.md, lever 10)

    python bench/char_ngram_serving.py [--config configs/default.yaml] [--rounds 8] [--singles 300]

Adapts ``char_ngram_member.character_vectorizer`` (1,000,000 character 3-6-grams) on the config's
training part. Then it builds the same bags a second way, from integer keys: each character gets an id
(its place in the vocabulary's alphabet, 0 for any other character), and each n-gram becomes one
int64, its ids as digits in base A + 1. An ``IntegerLookup`` holds the vocabulary's n-grams as such
keys. This is ``textattn.data.ngram_keys.KeyedNgramVectorizer``'s method, with characters in place of
words. It checks that both give the same SparseTensor on 2,048 validation reviews and on edge cases.
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

from char_ngram_member import character_vectorizer, lowercase_with_breaks  # noqa: E402

from textattn.data.ngram_keys import fits_in_keys  # noqa: E402
from textattn.startup import configure_process  # noqa: E402

NGRAMS = (3, 4, 5, 6)


def character_keys(vocabulary: list[str]) -> tuple[list[str], np.ndarray]:
    """The alphabet of a character n-gram vocabulary and each n-gram's key.

    Args:
        vocabulary: ``TextVectorization(split="character")`` n-grams without the OOV entry: n characters
            joined by single spaces (a space character is itself one of them).
    Returns:
        (alphabet: sorted characters, character i having id i + 1; keys: int64 (len(vocabulary),)).
    """
    grams = [gram[0::2] for gram in vocabulary]  # the characters sit at the even places
    if any(len(gram) * 2 - 1 != len(entry) or entry[1::2].strip(" ") for gram, entry in zip(grams, vocabulary)):
        raise ValueError("not a character n-gram vocabulary (n characters joined by single spaces)")
    alphabet = sorted({c for gram in grams for c in gram})
    base = len(alphabet) + 1
    if not fits_in_keys(len(alphabet), max(map(len, grams), default=1)):
        raise ValueError(f"{len(alphabet)} characters do not fit in int64 keys")
    ids = {c: i + 1 for i, c in enumerate(alphabet)}
    keys = np.array([sum(ids[c] * base ** (len(g) - 1 - k) for k, c in enumerate(g)) for g in grams], np.int64)
    return alphabet, keys


def keyed_character_vectorizer(vocabulary: list[str], ngrams: tuple = NGRAMS):
    """raw text (batch,) -> the same multi-hot SparseTensor (batch, len(vocabulary) + 1) as the adapted
    ``character_vectorizer``, found from integer keys."""
    import keras
    import tensorflow as tf

    alphabet, keys = character_keys(vocabulary)
    base = len(alphabet) + 1
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant([ord(c) for c in alphabet], tf.int64), tf.range(1, base, dtype=tf.int64)
        ),
        default_value=0,
    )
    lookup = keras.layers.IntegerLookup(vocabulary=keys, output_mode="multi_hot", sparse=True, mask_token=None)

    def vectorize(texts):
        chars = tf.strings.unicode_decode(lowercase_with_breaks(texts), "UTF-8")
        ids = table.lookup(tf.cast(chars.flat_values, tf.int64))
        size = tf.size(ids, out_type=tf.int64)
        position, last = tf.range(size), tf.maximum(size - 1, 0)
        row_end = tf.gather(chars.row_splits[1:], chars.value_rowids())
        key, known = ids, ids > 0
        grams, inside = [], []
        for offset in range(1, max(ngrams)):
            next_id = tf.gather(ids, tf.minimum(position + offset, last))
            key, known = key * base + next_id, known & (next_id > 0)
            if offset + 1 in ngrams:
                grams.append(tf.where(known, key, -1))  # an unknown character: the OOV column
                inside.append(position + offset < row_end)
        lengths = chars.row_lengths()
        bag = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(tf.stack(grams, axis=1), tf.stack(inside, axis=1)),
            tf.add_n([tf.maximum(lengths - width + 1, 0) for width in ngrams]),
            validate=False,
        )
        return lookup(bag)

    return vectorize


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
    from textattn.data.pipeline import split_texts
    from textattn.data.source import resolve_data

    config = resolve_data(load_config(args.config), args.data)
    splits = split_texts(config.data, config.seed)
    text_side = character_vectorizer(1_000_000, NGRAMS)
    started = time.perf_counter()
    text_side.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(list(splits.fit[0]), dtype=object)).batch(512))
    keyed_side = keyed_character_vectorizer(text_side.get_vocabulary()[1:])
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
