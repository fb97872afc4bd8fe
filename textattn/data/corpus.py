"""A prepared corpus: labelled examples in TFRecord shards per split, described by a manifest.

    DIR/
      manifest.json             class names, splits (their files, example and class counts), source
      train-00000.tfrecord      tf.train.Example {text: bytes, label: bytes (the class name)}
      validation-00000.tfrecord
      test-00000.tfrecord
      vocabularies/             word and n-gram vocabularies (and n-gram class counts) fitted on train

``textattn prepare`` writes one (textattn/commands/prepare.py); training reads
it through tf.data a shard at a time (textattn/data/streamed.py), so memory
does not grow with the corpus. A directory is written under a temporary name
and renamed into place when complete: a killed or failed prepare leaves none.

Splits. Rows whose source names their split (a split column, aclImdb's and
TFDS' train/test) keep it. The others are assigned by a hash of the seed and
their text: ``data.test_fraction`` of them test, then ``data.validation_fraction``
of the rest validation, unless the source gives test (validation) rows, in which
case those rows go to train. A hash, unlike textattn/data/carving.py's
stratified draw, needs no second pass and no memory; identical texts land in
the same split.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import zlib

import numpy as np

from textattn.atomic_write import write_json
from textattn.errors import UserError

MANIFEST = "manifest.json"
FORMAT = 1
SPLITS = ("train", "validation", "test")
VOCABULARIES = "vocabularies"
DEFAULT_SHARD_EXAMPLES = 100_000
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)$")
# Written streams: the split a row was given, or the part of a hashed row: fit (train), or carved test /
# validation, which join train at the end when the source gives rows of that split itself.
_CARVED = {"test": "carved-test", "validation": "carved-validation"}


def is_prepared(path: str) -> bool:
    return os.path.isfile(os.path.join(path, MANIFEST))


@dataclasses.dataclass
class Manifest:
    """What a prepared directory holds; ``files[split]`` are paths relative to the directory."""

    path: str
    class_names: list[str]
    files: dict[str, list[str]]
    counts: dict[str, int]
    class_counts: dict[str, list[int]]
    source: str
    notes: list[str]

    def paths(self, split: str) -> list[str]:
        return [os.path.join(self.path, f) for f in self.files[split]]

    def vocabulary_dir(self) -> str:
        return os.path.join(self.path, VOCABULARIES)


def read_manifest(path: str) -> Manifest:
    """The manifest of prepared directory ``path``; UserError when it is missing, damaged or a shard is gone."""
    file = os.path.join(path, MANIFEST)
    try:
        with open(file, encoding="utf-8") as f:
            raw = json.load(f)
        if raw.get("format") != FORMAT:
            raise UserError(
                f"{file} is of format {raw.get('format')!r}, this textattn reads {FORMAT}; "
                "prepare the data again with textattn prepare"
            )
        splits = raw["splits"]
        manifest = Manifest(
            path=os.path.abspath(path),
            class_names=list(raw["class_names"]),
            files={s: list(splits[s]["files"]) for s in SPLITS},
            counts={s: int(splits[s]["count"]) for s in SPLITS},
            class_counts={s: list(splits[s]["class_counts"]) for s in SPLITS},
            source=str(raw.get("source", "")),
            notes=list(raw.get("notes", [])),
        )
    except OSError as exc:
        raise UserError(f"cannot read {file} ({exc.strerror}); pass a directory written by textattn prepare") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError(f"{file} is damaged (not the JSON textattn prepare writes); prepare the data again") from None
    for split in SPLITS:
        for shard in manifest.paths(split):
            if not os.path.isfile(shard):
                raise UserError(
                    f"shard {shard} named in {file} is missing; copy the whole prepared directory "
                    "or prepare the data again"
                )
    return manifest


def fingerprint(path: str) -> str:
    """Changes when the prepared directory is rewritten (its manifest's identity and content)."""
    file = os.path.join(path, MANIFEST)
    st = os.stat(file)
    with open(file, "rb") as f:
        crc = zlib.crc32(f.read())
    return f"prepared:{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}:{crc:08x}"


def hashed_part(text: str, seed: int, test_fraction: float, validation_fraction: float) -> str:
    """ "test", "validation" or "train" for a row without a given split, from a hash of seed and text."""
    u = zlib.crc32(f"{seed}\x00{text}".encode("utf-8", errors="surrogatepass")) / 2**32
    if u < test_fraction:
        return "test"
    if u < test_fraction + validation_fraction * (1.0 - test_fraction):
        return "validation"
    return "train"


class _ShardWriter:
    """TFRecord files ``PREFIX-00000.tfrecord``, ... of at most ``shard_examples`` examples each."""

    def __init__(self, directory: str, prefix: str, shard_examples: int):
        self.directory, self.prefix, self.shard_examples = directory, prefix, shard_examples
        self.files: list[str] = []
        self.count = 0
        self._writer = None

    def write(self, text: bytes, label: bytes) -> None:
        import tensorflow as tf

        if self.count % self.shard_examples == 0:
            self.close()
            name = f"{self.prefix}-{len(self.files):05d}.tfrecord"
            self.files.append(name)
            self._writer = tf.io.TFRecordWriter(os.path.join(self.directory, name))
        example = tf.train.Example(
            features=tf.train.Features(
                feature={
                    "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text])),
                    "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[label])),
                }
            )
        )
        self._writer.write(example.SerializeToString())
        self.count += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class CorpusWriter:
    """A sink for labelled rows (``add(text, label, split, where)``): checks labels and writes shards.

    Labels: all integers (sorted numerically, named ``str(int)``) or all words
    (sorted), as textattn/data/labelled.py; ``class_names`` fixes them instead
    (labels are then ids into it). Empty texts are skipped and counted. With
    ``class_names`` the rows' splits are final (a source split in memory); else
    rows of no split or of train are hashed (see the module docstring).
    """

    def __init__(
        self,
        directory: str,
        seed: int,
        test_fraction: float,
        validation_fraction: float,
        shard_examples: int = DEFAULT_SHARD_EXAMPLES,
        class_names: list[str] | None = None,
    ):
        self.directory = directory
        self.seed, self.test_fraction, self.validation_fraction = seed, test_fraction, validation_fraction
        self.shard_examples = shard_examples
        self.given_class_names = class_names
        self.streams: dict[str, _ShardWriter] = {}
        self.label_counts: dict[str, dict[str, int]] = {}
        self.first_where: dict[str, str] = {}
        self.given_splits: set[str] = set()
        self.skipped_empty = 0
        self._kind = None
        self._kind_where = None

    def add(self, text: str, label, split: str | None, where: str) -> None:
        if not text.strip():
            self.skipped_empty += 1
            return
        key = self._label_key(label, where)
        if self.given_class_names is None and split in (None, "train"):
            part = hashed_part(text, self.seed, self.test_fraction, self.validation_fraction)
            stream = _CARVED.get(part, "train")
        else:
            stream = split
            self.given_splits.add(split)
        writer = self.streams.get(stream)
        if writer is None:
            writer = self.streams[stream] = _ShardWriter(self.directory, stream, self.shard_examples)
        writer.write(text.encode("utf-8", errors="replace"), key.encode("utf-8"))
        counts = self.label_counts.setdefault(stream, {})
        counts[key] = counts.get(key, 0) + 1
        self.first_where.setdefault(key, where)

    def _label_key(self, label, where: str) -> str:
        if self.given_class_names is not None:
            return self.given_class_names[int(label)]
        if isinstance(label, bool) or not isinstance(label, (int, str)):
            raise UserError(f"{where}: label {label!r} is a {type(label).__name__}; labels are words or integers")
        kind = "integer" if isinstance(label, int) or _INTEGER.match(label) else "word"
        if self._kind is None:
            self._kind, self._kind_where, self._kind_label = kind, where, label
        elif kind != self._kind:
            raise UserError(
                f"{where}: label {label!r} is {'an' if kind == 'integer' else 'a'} {kind}, but "
                f"{self._kind_where} has {'an' if self._kind == 'integer' else 'a'} {self._kind} "
                f"({self._kind_label!r}); labels must be all integers or all words"
            )
        return str(int(label)) if kind == "integer" else label

    def finish(self, source: str, notes: list[str]) -> dict:
        """Close the shards, settle the splits and class names, check them; return the manifest (a dict)."""
        for writer in self.streams.values():
            writer.close()
        parts = {split: [split] for split in SPLITS}
        for split, carved in _CARVED.items():
            parts[split if split not in self.given_splits else "train"].append(carved)
        keys = {k for counts in self.label_counts.values() for k in counts}
        if self.given_class_names is not None:
            class_names = list(self.given_class_names)
        elif self._kind == "integer":
            class_names = [str(v) for v in sorted(int(k) for k in keys)]
        else:
            class_names = sorted(keys)
        splits = {}
        for split in SPLITS:
            files = [f for stream in parts[split] if stream in self.streams for f in self.streams[stream].files]
            class_counts = [
                sum(self.label_counts.get(stream, {}).get(name, 0) for stream in parts[split]) for name in class_names
            ]
            splits[split] = {"files": files, "count": int(sum(class_counts)), "class_counts": class_counts}
        self._check(class_names, splits)
        if self.skipped_empty:
            notes = [*notes, f"{source}: skipped {self.skipped_empty} example(s) whose text is empty"]
        return {
            "format": FORMAT,
            "class_names": class_names,
            "splits": splits,
            "source": source,
            "notes": notes,
            "settings": {
                "seed": self.seed,
                "test_fraction": self.test_fraction,
                "validation_fraction": self.validation_fraction,
            },
        }

    def _check(self, class_names: list[str], splits: dict) -> None:
        if not class_names:
            raise UserError("the data has no rows with text; add labelled rows")
        train = splits["train"]["class_counts"]
        for c, name in enumerate(class_names):
            if train[c] >= 2:
                continue
            where = self.first_where.get(name, "the data")
            if train[c] == 0:
                where_split = "test" if splits["test"]["class_counts"][c] else "validation"
                raise UserError(
                    f"{where}: label {name!r} is in the {where_split} rows only; every class needs "
                    "training rows (fix the label or the split column)"
                )
            raise UserError(
                f"{where}: class {name!r} has only 1 training example; each class needs at least 2 "
                "(add examples or drop the class)"
            )


def write_corpus(
    out_dir: str,
    fill,
    seed: int,
    test_fraction: float,
    validation_fraction: float,
    source: str,
    shard_examples: int = DEFAULT_SHARD_EXAMPLES,
    class_names: list[str] | None = None,
    finalize=None,
) -> Manifest:
    """Write a prepared directory at ``out_dir`` from ``fill(writer)`` (which adds the rows and returns notes).

    Written under a temporary name beside ``out_dir`` and renamed when complete; on any error
    nothing is left. ``out_dir`` must not exist. ``finalize(tmp_dir, manifest)`` may add files
    (vocabularies) before the rename.
    """
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}-", dir=parent)
    try:
        writer = CorpusWriter(tmp, seed, test_fraction, validation_fraction, shard_examples, class_names)
        notes = fill(writer) or []
        manifest = writer.finish(source, notes)
        write_json(os.path.join(tmp, MANIFEST), manifest)
        if finalize is not None:
            finalize(tmp, read_manifest(tmp))
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_manifest(out_dir)


def label_ids(manifest: Manifest):
    """A lookup table from class name (bytes) to label id, for tf.data maps."""
    import tensorflow as tf

    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(manifest.class_names), tf.range(len(manifest.class_names), dtype=tf.int32)
        ),
        default_value=-1,
    )


def examples(
    manifest: Manifest,
    split: str,
    shuffle_seed: int | None = None,
    shuffle_buffer: int = 10_000,
    num_shards: int = 1,
    shard_index: int = 0,
    with_text: bool = True,
):
    """tf.data.Dataset of (text string (), label int32 ()) of ``split``, read a shard at a time.

    Without ``shuffle_seed`` the order is the files' order, the same every time
    (labels and predictions line up). With it, the files' order is shuffled and
    examples pass through a shuffle buffer of ``shuffle_buffer``, both reshuffled
    every epoch. ``num_shards``/``shard_index``: this reader's share of the files. Without
    ``with_text`` the dataset holds the labels only.
    """
    import tensorflow as tf

    files = manifest.paths(split)
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(files, tf.string, shape=[len(files)]))
    if num_shards > 1:
        ds = ds.shard(num_shards, shard_index)
    if shuffle_seed is not None and files:
        ds = ds.shuffle(len(files), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(4, len(files))),
        block_length=16,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle_seed is not None:
        ds = ds.shuffle(shuffle_buffer, seed=shuffle_seed + 1, reshuffle_each_iteration=True)
    table = label_ids(manifest)
    spec = {"label": tf.io.FixedLenFeature([], tf.string)}
    if with_text:
        spec["text"] = tf.io.FixedLenFeature([], tf.string)

    def parse(record):
        parsed = tf.io.parse_single_example(record, spec)
        label = table.lookup(parsed["label"])
        return (parsed["text"], label) if with_text else label

    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def labels(manifest: Manifest, split: str) -> np.ndarray:
    """The labels int32 (N,) of ``split`` in ``examples(manifest, split)``'s unshuffled order."""
    out = list(examples(manifest, split, with_text=False).batch(65536).as_numpy_iterator())
    return np.concatenate(out).astype(np.int32) if out else np.zeros(0, np.int32)
