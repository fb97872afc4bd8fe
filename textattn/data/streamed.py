"""Training data read from a prepared corpus a shard at a time: memory that does not grow with the corpus.

``load(config)`` is the streamed counterpart of ``textattn.data.run_data.load_data``
for ``data.source`` ``prepared`` (a directory written by ``textattn prepare``)
and ``shards`` (a glob of CSV/TSV/JSONL files, prepared into the cache on first
use). It returns ``StreamedData``, which answers what a run asks of its data
(``dataset``, ``labels``, ``count``, the vocabularies, the n-gram class counts)
as ``RunData`` does, without holding the examples.

Vocabularies. The word vocabulary (``data.vocab_size``) and, for the n-gram
variants, the n-gram vocabulary and each n-gram's per-class document counts
(for the log-count ratios) are fitted on the training split in streamed passes
(Keras' ``TextVectorization.adapt`` over a tf.data dataset: memory grows with
the distinct tokens, not with the examples). They are read from the prepared
directory's ``vocabularies/`` when ``textattn prepare --config`` wrote them
there (what several workers must use: one file, the same on every worker),
else computed once and cached.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from textattn import variants
from textattn.atomic_write import write_atomic
from textattn.config import Config, DataConfig
from textattn.data import cache, corpus, pipeline, shards
from textattn.data.pipeline import TextSplits
from textattn.data.source import FILE_KINDS, source_of
from textattn.errors import UserError
from textattn.runs import load_vocabulary, save_vocabulary
from textattn.variants import NGRAMS, TOKEN_IDS

STREAMED_KINDS = ("prepared", "shards")
SPLIT_NAMES = {"train": "train", "val": "validation", "validation": "validation", "test": "test"}
SHUFFLE_BUFFER = 10_000
"""Examples held for shuffling: what bounds a streamed run's memory for its data."""
VECTORIZE_BATCH = 256
VERSION = 1  # bump when what a cached vocabulary entry holds changes


def words_file(vocab_size: int) -> str:
    return f"words-{vocab_size}.txt"


def ngrams_file(max_ngram: int, vocab_size: int) -> str:
    return f"ngrams-{max_ngram}-{vocab_size}.txt"


def ngram_counts_file(max_ngram: int, vocab_size: int) -> str:
    return f"ngram-counts-{max_ngram}-{vocab_size}.npy"


# --------------------------------------------------------------------------- #
# Preparing a corpus from any source.


def prepare_source(
    data: DataConfig, seed: int, out_dir: str, shard_examples: int = corpus.DEFAULT_SHARD_EXAMPLES, finalize=None
) -> corpus.Manifest:
    """Write the examples of settled source ``data`` as a prepared directory ``out_dir``.

    CSV, TSV and JSONL files (one, or a glob) are streamed; the splits are
    hashed as textattn/data/corpus.py says. Other sources (aclImdb, class
    folders, TFDS) are read whole and keep the splits an in-memory run makes
    of them (IMDB: the reference split). ``finalize(tmp_dir, manifest)`` runs
    before the directory is renamed into place (to add vocabularies).
    """
    if data.source in ("shards",) + FILE_KINDS:
        paths = shards.expand(data.path) if data.source == "shards" else [data.path]
        kind = shards.kind_of_shards(paths) if data.source == "shards" else data.source
        notes_of = []

        def fill(writer):
            notes = shards.stream(
                paths, kind, data.text_field or "text", data.label_field or "label", data.split_field, writer
            )
            notes_of.extend(notes)
            if notes:
                return [f"{len(notes)} line(s) had bytes that are not UTF-8, read as U+FFFD (first: {notes[0]})"]
            return []

        return corpus.write_corpus(
            out_dir,
            fill,
            seed,
            data.test_fraction,
            data.validation_fraction,
            describe(data),
            shard_examples,
            finalize=finalize,
        )
    splits = split_texts(data, seed) if data.source in STREAMED_KINDS else pipeline.split_texts(data, seed)

    def fill_whole(writer):
        for split, (texts, labels) in (("train", splits.fit), ("validation", splits.validation), ("test", splits.test)):
            for i, (text, label) in enumerate(zip(texts, labels.tolist())):
                writer.add(text, label, split, f"{split} example {i}")
        return []

    return corpus.write_corpus(
        out_dir,
        fill_whole,
        seed,
        data.test_fraction,
        data.validation_fraction,
        describe(data),
        shard_examples,
        class_names=splits.class_names,
        finalize=finalize,
    )


def describe(data: DataConfig) -> str:
    if data.source in STREAMED_KINDS:
        return data.path
    return source_of(data).describe()


def prepared_dir(data: DataConfig, seed: int, verbose: bool = True) -> tuple[str, bool]:
    """The prepared directory of a streamed source, and whether it was there already.

    ``prepared``: ``data.path`` itself. ``shards``: a directory in the cache, keyed
    by the files' paths, sizes and times and the split settings; written on first use.
    """
    if data.source == "prepared":
        return data.path, True
    root = os.path.join(data.cache_dir or cache.default_cache_dir(), "prepared")
    key = cache.cache_key(
        files=shards.fingerprint(data.path),
        seed=seed,
        test_fraction=data.test_fraction,
        validation_fraction=data.validation_fraction,
        text=data.text_field,
        label=data.label_field,
        split=data.split_field,
        version=VERSION,
    )
    path = os.path.join(root, key)
    if corpus.is_prepared(path):
        return path, True
    if verbose:
        print(f"Preparing {data.path} as TFRecord shards in {path} (streamed; cached for later runs)...", flush=True)
    os.makedirs(root, exist_ok=True)
    try:
        prepare_source(data, seed, path)
    except OSError:
        if not corpus.is_prepared(path):  # else another process published the same directory meanwhile
            raise
    return path, False


def split_texts(data: DataConfig, seed: int):
    """The prepared corpus' splits as ``pipeline.TextSplits``, read whole (for reports that show texts)."""
    manifest = corpus.read_manifest(prepared_dir(data, seed)[0])

    def part(split):
        texts = [
            t.decode("utf-8", errors="replace")
            for t in corpus.examples(manifest, split).map(lambda t, y: t).as_numpy_iterator()
        ]
        return texts, corpus.labels(manifest, split)

    return TextSplits(
        fit=part("train"), validation=part("validation"), test=part("test"), class_names=list(manifest.class_names)
    )


# --------------------------------------------------------------------------- #
# Vocabularies, fitted on the training split in streamed passes.


def train_texts(manifest: corpus.Manifest, batch_size: int = 1024):
    """The training split's texts, batched (a tf.data.Dataset of string (batch,)), unshuffled."""
    return corpus.examples(manifest, "train").map(lambda text, label: text).batch(batch_size)


def fit_word_vocabulary(manifest: corpus.Manifest, vocab_size: int) -> list[str]:
    from textattn.data import text

    vectorizer = text.make_vectorizer(vocab_size)
    vectorizer.adapt(train_texts(manifest))
    return [str(t) for t in vectorizer.get_vocabulary()]


def fit_ngram_vocabulary(manifest: corpus.Manifest, max_ngram: int, vocab_size: int) -> tuple[list[str], np.ndarray]:
    """The n-gram vocabulary, and counts float64 (classes, vocabulary): training documents of each
    class that hold each n-gram (two streamed passes: the vocabulary, then the counts)."""
    import tensorflow as tf

    from textattn.data import ngrams

    vectorizer = ngrams.make_ngram_vectorizer(vocab_size, max_ngram)
    vectorizer.adapt(train_texts(manifest))
    vocabulary = [str(t) for t in vectorizer.get_vocabulary()]
    size, num_classes = len(vocabulary), len(manifest.class_names)
    counts = np.zeros((num_classes, size), np.float64)
    batches = corpus.examples(manifest, "train").batch(1024)
    for features, labels in batches.map(lambda t, y: (vectorizer(t), y), num_parallel_calls=tf.data.AUTOTUNE):
        rows, ids = features.indices[:, 0].numpy(), features.indices[:, 1].numpy()
        keep = ids != ngrams.OOV_ID  # as in the in-memory bags: the OOV bucket carries no evidence
        rows, ids = rows[keep], ids[keep]
        per_value_label = labels.numpy()[rows]
        for c in range(num_classes):
            counts[c] += np.bincount(ids[per_value_label == c], minlength=size)[:size]
    return vocabulary, counts


def write_vocabularies(directory: str, manifest: corpus.Manifest, config: Config) -> None:
    """Fit the vocabularies ``config`` needs on ``manifest``'s training split and write them to ``directory``."""
    os.makedirs(directory, exist_ok=True)
    save_vocabulary(
        os.path.join(directory, words_file(config.data.vocab_size)),
        fit_word_vocabulary(manifest, config.data.vocab_size),
    )
    if variants.variant(config.model.variant).reads_ngrams:
        n = config.model.ngram
        vocabulary, counts = fit_ngram_vocabulary(manifest, n.max_ngram, n.vocab_size)
        save_vocabulary(os.path.join(directory, ngrams_file(n.max_ngram, n.vocab_size)), vocabulary)
        write_atomic(
            os.path.join(directory, ngram_counts_file(n.max_ngram, n.vocab_size)),
            lambda tmp: np.save(tmp, counts),
            suffix=".npy",
        )


def _cached_vocabularies(manifest: corpus.Manifest, config: Config, fingerprint: str) -> str:
    """A directory holding ``config``'s vocabularies: the prepared directory's, else the cache's (fitted now)."""
    if config.data.negation != "none":
        raise UserError(
            f"data.negation={config.data.negation} is not available for streamed sources (shards, "
            "prepared) yet; train on a file, folder or aclImdb source, or set data.negation=none"
        )
    names = [words_file(config.data.vocab_size)]
    if variants.variant(config.model.variant).reads_ngrams:
        n = config.model.ngram
        names += [ngrams_file(n.max_ngram, n.vocab_size), ngram_counts_file(n.max_ngram, n.vocab_size)]
    own = manifest.vocabulary_dir()
    if all(os.path.isfile(os.path.join(own, name)) for name in names):
        return own
    if config.train.distribution == "multi_worker":
        raise UserError(
            f"{manifest.path} holds no vocabularies for this config ({', '.join(names)}); every worker "
            "must read the same ones: write them once with textattn prepare --data SOURCE --out DIR "
            "--config CONFIG, and train every worker on DIR"
        )
    root = os.path.join(config.data.cache_dir or cache.default_cache_dir(), "streamed-vocabularies")
    path = os.path.join(root, cache.cache_key(corpus=fingerprint, version=VERSION))
    if all(os.path.isfile(os.path.join(path, name)) for name in names):
        return path
    print(
        f"Fitting vocabularies on the {manifest.counts['train']:,} training examples (streamed; cached)...", flush=True
    )
    write_vocabularies(path, manifest, config)
    return path


# --------------------------------------------------------------------------- #
# The data of a run.


@dataclasses.dataclass
class StreamedData:
    """A run's data read from a prepared corpus; the same questions as ``textattn.data.run_data.RunData`` answers."""

    manifest: corpus.Manifest
    vocabulary: list[str]
    ngram_vocabulary: list[str] | None
    ngram_counts: np.ndarray | None
    """float64 (classes, ngram vocabulary): training documents of each class holding each n-gram."""
    data_config: DataConfig
    max_ngram: int
    prep_seconds: float
    cache_hit: bool
    _labels: dict = dataclasses.field(default_factory=dict)

    streamed = True

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.manifest.class_names)

    @property
    def ngram_vocab_size(self) -> int | None:
        return len(self.ngram_vocabulary) if self.ngram_vocabulary is not None else None

    @property
    def word_ngram_columns(self) -> int | None:
        """As ``RunData.word_ngram_columns``: streamed bags hold word n-grams only."""
        return self.ngram_vocab_size

    @property
    def source(self) -> str:
        return self.manifest.source or self.manifest.path

    def count(self, split: str) -> int:
        """Examples in ``split`` ("train", "val", "test"), with ``data.train_limit``/``test_limit`` applied."""
        n = self.manifest.counts[SPLIT_NAMES[split]]
        limit = {"train": self.data_config.train_limit, "test": self.data_config.test_limit}.get(split)
        return n if limit is None else min(n, limit)

    def labels(self, split: str) -> np.ndarray:
        """int32 (N,): the labels of ``split`` in the order of its unshuffled ``dataset``."""
        if split not in self._labels:
            self._labels[split] = corpus.labels(self.manifest, SPLIT_NAMES[split])[: self.count(split)]
        return self._labels[split]

    def texts(self, split: str) -> list[str]:
        """The texts of ``split`` in the order of ``labels`` (read whole: for evaluation reports)."""
        texts = corpus.examples(self.manifest, SPLIT_NAMES[split]).map(lambda t, y: t).take(self.count(split))
        return [t.decode("utf-8", errors="replace") for t in texts.as_numpy_iterator()]

    def ngram_class_counts(self, bags=None, labels=None) -> np.ndarray:
        if bags is not None:
            raise ValueError("streamed data has no n-gram bags in memory")
        return self.ngram_counts

    def vectorizers(self):
        """(word vectorizer, n-gram vectorizer or None) with this data's vocabularies."""
        from textattn.data import ngrams, text

        words = text.make_vectorizer(self.data_config.vocab_size, self.vocabulary)
        bags = None
        if self.ngram_vocabulary is not None:
            bags = ngrams.make_ngram_vectorizer(len(self.ngram_vocabulary), self.max_ngram, self.ngram_vocabulary)
        return words, bags

    def dataset(
        self,
        config: Config,
        split: str,
        variant: str | None = None,
        batch_size: int | None = None,
        shuffle: bool | None = None,
        for_fit: bool = False,
    ):
        """Batches of (input, label) of ``split``, as ``RunData.dataset`` gives them, read a shard at a time.

        The training split is shuffled (its files' order, then a buffer of
        ``SHUFFLE_BUFFER`` examples, both anew every epoch) unless ``shuffle``
        is False; other splits keep the files' order, which ``labels`` follows.
        """
        import tensorflow as tf

        from textattn.data.text import truncate_and_pad

        inputs = variants.variant(variant or config.model.variant).inputs
        shuffled = split == "train" if shuffle is None else shuffle
        seed = config.seed if shuffled else None
        ds = corpus.examples(self.manifest, SPLIT_NAMES[split], seed, SHUFFLE_BUFFER)
        ds = ds.take(self.count(split))
        words, bags = self.vectorizers()
        d = self.data_config

        def vectorize(texts, labels):
            parts = {}
            if TOKEN_IDS in inputs:
                parts[TOKEN_IDS] = truncate_and_pad(words(texts), d.sequence_length, d.keep)
            if NGRAMS in inputs:
                parts[NGRAMS] = bag_ids(bags(texts))
            return parts, labels

        ds = ds.batch(VECTORIZE_BATCH).map(vectorize, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        t = config.train
        crop = (
            pipeline.Crop(t.crop_probability, t.crop_min_tokens, t.crop_max_tokens, config.seed)
            if split == "train"
            else None
        )
        trim = pipeline.bucket_length_multiple(config) if for_fit and t.bucket_by_length else None
        return pipeline.batched(
            ds, self.count(split), batch_size or t.batch_size, len(inputs) == 1, seed, self.ngram_vocab_size, crop, trim
        )


def bag_ids(features):
    """Multi-hot n-gram features, SparseTensor (batch, vocabulary), -> each row's in-vocabulary ids,
    ragged int64 (batch, None), sorted (the OOV bucket, id 0, carries no evidence and is dropped)."""
    import tensorflow as tf

    from textattn.data.ngrams import OOV_ID

    features = tf.sparse.reorder(features)
    keep = features.indices[:, 1] != OOV_ID
    indices = tf.boolean_mask(features.indices, keep)
    return tf.RaggedTensor.from_value_rowids(indices[:, 1], indices[:, 0], nrows=features.dense_shape[0])


def load(config: Config, verbose: bool = True) -> StreamedData:
    """The streamed data of ``config`` (``data.source`` prepared or shards), vocabularies fitted or read."""
    start = time.perf_counter()
    d = config.data
    if config.model.variant == "hybrid" and config.model.hybrid.character_ngrams:
        raise UserError(
            "model.hybrid.character_ngrams are not read from streamed data (a prepared directory or shards); "
            "set --set model.hybrid.character_ngrams=[], or train from the archive or folder itself"
        )
    if d.validation_size not in (None,):
        raise UserError(
            f"data.validation_size={d.validation_size} does not apply to streamed data, whose "
            "splits are fixed when it is prepared; set data.validation_fraction instead, or null"
        )
    path, cache_hit = prepared_dir(d, config.seed, verbose)
    manifest = corpus.read_manifest(path)
    for note in manifest.notes:
        if verbose:
            print(f"warning: {note}", flush=True)
    vocab_dir = _cached_vocabularies(manifest, config, corpus.fingerprint(path) + ":" + str(config.seed))
    vocabulary = load_vocabulary(os.path.join(vocab_dir, words_file(d.vocab_size)))
    ngram_vocabulary = counts = None
    if variants.variant(config.model.variant).reads_ngrams:
        n = config.model.ngram
        ngram_vocabulary = load_vocabulary(os.path.join(vocab_dir, ngrams_file(n.max_ngram, n.vocab_size)))
        counts = np.load(os.path.join(vocab_dir, ngram_counts_file(n.max_ngram, n.vocab_size)))
    return StreamedData(
        manifest,
        vocabulary,
        ngram_vocabulary,
        counts,
        d,
        config.model.ngram.max_ngram,
        time.perf_counter() - start,
        cache_hit,
    )
