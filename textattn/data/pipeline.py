"""From a data config to batched token-id datasets.

The config's source is settled beforehand (``textattn.data.source.resolve_data``).
Steps: read the raw examples from it (cached after the first read); split
them (IMDB: shuffle its train and test splits with the seed and carve
validation from the start of train, the reference split; any other source:
textattn/data/carving.py); adapt a vocabulary on the part trained on,
vectorize every split once and cache the token ids. Later runs with the same
data settings load the cached arrays in well under a second.
"""

from __future__ import annotations

import dataclasses
import os
import time
import typing

import numpy as np

from textattn import backend
from textattn.config import Config, DataConfig
from textattn.data import aclimdb, cache, carving, counterfactual, labelled, multi_labels, tfds_source
from textattn.data.source import IMDB_VALIDATION, STREAMED_KINDS, Source, source_of
from textattn.errors import UserError
from textattn.variants import NGRAMS, TOKEN_IDS

# Bump when tokenization changes so stale cache entries are not reused.
PIPELINE_VERSION = 2


@dataclasses.dataclass
class TextSplits:
    """Raw reviews after the seeded shuffle: fit (trained on), validation, test."""

    fit: tuple[list[str], np.ndarray]
    validation: tuple[list[str], np.ndarray]
    test: tuple[list[str], np.ndarray]
    class_names: list[str]
    """Label id i is class ``class_names[i]``."""


@dataclasses.dataclass
class PreparedData:
    """Token ids, shape (N, sequence_length) int32, and labels, shape (N,) int32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    vocabulary: list[str]
    prep_seconds: float
    cache_hit: bool
    source: str
    class_names: list[str]
    """Label id i is class ``class_names[i]``; the head has ``len(class_names)`` units."""


def read_texts(source: Source, splits=("train", "test"), cache_dir: str | None = None, order: str = "canonical"):
    """IMDB's raw reviews per split, {split: (texts, labels)}, cached after the first read."""
    if not source.is_imdb:
        raise ValueError(f"{source.describe()} is not IMDB; read it with textattn.data.labelled.load")
    if order != "canonical" and source.kind != "local":
        raise UserError("data.order 'archive' needs a local aclImdb copy (--data PATH); TFDS has its own order")
    root = os.path.join(cache_dir or cache.default_cache_dir(), "texts")
    out = {}
    missing = []
    for split in splits:
        key = cache.cache_key(source=source.fingerprint(), split=split, order=order, version=PIPELINE_VERSION)
        entry = cache.load_entry(root, key)
        if entry is None:
            missing.append(split)
        else:
            out[split] = (cache.unpack_texts(entry["blob"], entry["ends"]), entry["labels"].tolist())
    if missing:
        if source.kind == "local":
            fresh = aclimdb.read_reviews(source.path, missing, order)
        else:
            fresh = tfds_source.read_reviews(missing)
        for split, (texts, labels) in fresh.items():
            key = cache.cache_key(source=source.fingerprint(), split=split, order=order, version=PIPELINE_VERSION)
            cache.save_entry(root, key, {**cache.pack_texts(texts), "labels": np.asarray(labels, np.int32)})
            out[split] = (texts, labels)
    return {split: out[split] for split in splits}


def split_texts(data: DataConfig, seed: int) -> TextSplits:
    """The fit, validation and test parts of the config's examples, deterministic from ``seed``.

    IMDB: train and test shuffled with ``seed``; validation is the first
    ``data.validation_size`` (None: 10,000) of train. Other sources: given
    splits honoured and the rest carved, stratified (textattn/data/carving.py). Streamed sources
    (``prepared``, ``shards``) are read by textattn/data/source_splits.py.
    """
    if data.source in STREAMED_KINDS:
        raise ValueError(f"{data.source} data is streamed; read its splits with textattn.data.source_splits")
    source = source_of(data)
    if not source.is_imdb:
        return _carved_texts(data, source, seed)
    if data.validation_by_movie and source.kind != "local":
        raise UserError(
            "data.validation_by_movie needs a local aclImdb copy (--data PATH): its train/urls_*.txt name each "
            "review's movie, which TFDS does not give"
        )
    raw = read_texts(source, ("train", "test"), data.cache_dir, data.order)
    rng = np.random.default_rng(seed)

    def shuffled(split):
        texts, labels = raw[split]
        order = rng.permutation(len(texts))
        return [texts[i] for i in order], np.asarray(labels, np.int32)[order]

    train_texts, train_labels = shuffled("train")
    test_texts, test_labels = shuffled("test")
    n_val = IMDB_VALIDATION if data.validation_size is None else data.validation_size
    if n_val >= len(train_texts):
        raise UserError(
            f"data.validation_size={n_val} leaves nothing to train on ({len(train_texts)} training reviews); "
            "lower it with --set data.validation_size=N"
        )
    validation = np.arange(len(train_texts)) < n_val
    if data.validation_by_movie and n_val > 0:
        validation = whole_movies(training_movies(data, source, train_texts), n_val, seed)
    fit_rows, val_rows = np.flatnonzero(~validation), np.flatnonzero(validation)
    return TextSplits(
        fit=([train_texts[i] for i in fit_rows], train_labels[fit_rows]),
        validation=([train_texts[i] for i in val_rows], train_labels[val_rows]),
        test=(test_texts, test_labels),
        class_names=list(aclimdb.CLASS_NAMES),
    )


def training_movies(data: DataConfig, source: Source, texts: list[str]) -> list[str]:
    """The movie of each of ``texts`` (IMDB training reviews), read from the local aclImdb copy."""
    movie_of = aclimdb.read_training_movies(source.path)
    missing = sum(t not in movie_of for t in texts)
    if missing:
        raise UserError(f"{source.describe()}: {missing} training reviews have no movie in train/urls_*.txt")
    return [movie_of[t] for t in texts]


def whole_movies(movies: list[str], size: int, seed: int) -> np.ndarray:
    """bool (N,): the reviews of movies taken in a seeded random order until at least ``size`` reviews."""
    names, movie_ids = np.unique(np.asarray(movies), return_inverse=True)
    order = np.random.default_rng([seed, 2]).permutation(len(names))
    counts = np.bincount(movie_ids, minlength=len(names))[order]
    taken = order[: int(np.searchsorted(np.cumsum(counts), size)) + 1]
    return np.isin(movie_ids, taken)


def _carved_texts(data: DataConfig, source: Source, seed: int) -> TextSplits:
    if data.multi_label:  # labels float32 (n, L), multi-hot
        *parts, class_names = multi_labels.carve(data, seed)
        return TextSplits(*parts, class_names=class_names)
    examples = labelled.load(source, data.cache_dir)
    fit, val, test = carving.carve(
        examples.labels, examples.splits, seed, data.test_fraction, data.validation_fraction, data.validation_size
    )

    def part(indices):
        return [examples.texts[i] for i in indices], examples.labels[indices].astype(np.int32)

    return TextSplits(fit=part(fit), validation=part(val), test=part(test), class_names=examples.class_names)


def split_settings(data: DataConfig) -> dict:
    """The data settings that decide which examples go to which split (for cache keys)."""
    settings = {
        "validation_size": data.validation_size,
        "order": data.order,
        "test_fraction": data.test_fraction,
        "validation_fraction": data.validation_fraction,
        "reader": labelled.VERSION,
    }
    # Only when it moves reviews (the final fit's validation_size 0 does not), so other keys stay as they were.
    if data.validation_by_movie and data.validation_size != 0:
        settings["validation_by_movie"] = True
    if data.multi_label:  # only then, so that single-label cache keys stay as they were
        settings["multi_label"] = data.label_separator or True
    return settings


def text_settings(data: DataConfig) -> dict:
    """The data settings that change the tokens made of a text (for cache keys); empty for the defaults, so
    entries cached before a setting existed are still found."""
    settings = {} if data.negation == "none" else {"negation": data.negation}
    return {**settings, "counterfactual": counterfactual.VERSION} if data.counterfactual else settings


def prepare(data: DataConfig, seed: int, verbose: bool = True) -> PreparedData:
    """Token-id arrays for fit / validation / test, from the cache when possible."""
    from textattn.data import text  # imports TensorFlow; keep config-only paths light

    start = time.perf_counter()
    source = source_of(data)
    root = os.path.join(data.cache_dir or cache.default_cache_dir(), "tokens")
    key = cache.cache_key(
        source=source.fingerprint(),
        vocab_size=data.vocab_size,
        sequence_length=data.sequence_length,
        keep=data.keep,
        seed=seed,
        version=PIPELINE_VERSION,
        **split_settings(data),
        **text_settings(data),
    )
    entry = cache.load_entry(root, key)
    cache_hit = entry is not None
    if entry is None:
        if verbose:
            print(f"Preparing data from {source.describe()} (cached for later runs)...", flush=True)
        splits = counterfactual.augmented(split_texts(data, seed), data.counterfactual)
        vectorizer = text.adapt_vectorizer(splits.fit[0], data.vocab_size, negation=data.negation)
        entry = {**cache.packed("vocab_", vectorizer.get_vocabulary()), **cache.packed("classes_", splits.class_names)}
        for name, (texts, labels) in (("train", splits.fit), ("val", splits.validation), ("test", splits.test)):
            entry["x_" + name] = text.texts_to_ids(vectorizer, texts, data.sequence_length, data.keep)
            entry["y_" + name] = labels
        cache.save_entry(root, key, entry)
    x_train, y_train = entry["x_train"], entry["y_train"]
    if data.train_limit is not None:
        x_train, y_train = x_train[: data.train_limit], y_train[: data.train_limit]
    x_test, y_test = entry["x_test"], entry["y_test"]
    if data.test_limit is not None:
        x_test, y_test = x_test[: data.test_limit], y_test[: data.test_limit]
    return PreparedData(
        x_train=x_train,
        y_train=y_train,
        x_val=entry["x_val"],
        y_val=entry["y_val"],
        x_test=x_test,
        y_test=y_test,
        vocabulary=cache.unpacked(entry, "vocab_"),
        prep_seconds=time.perf_counter() - start,
        cache_hit=cache_hit,
        source=source.describe(),
        class_names=cache.unpacked(entry, "classes_"),
    )


class NgramBags(typing.NamedTuple):
    """Each review's distinct n-gram ids, ragged: values int32 (nnz,), row_splits int64 (N + 1,)."""

    values: np.ndarray
    row_splits: np.ndarray

    def __len__(self):  # the number of reviews, not of fields
        return len(self.row_splits) - 1

    def take(self, indices) -> "NgramBags":
        """The bags of reviews ``indices`` (int array), in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        lengths = np.diff(self.row_splits)[indices]
        starts = self.row_splits[indices]
        # Position of every kept value: its bag's start plus its offset inside the bag.
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        values = self.values[np.repeat(starts, lengths) + offsets]
        return NgramBags(values, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def rows(self, start: int, stop: int) -> "NgramBags":
        lo, hi = self.row_splits[start], self.row_splits[stop]
        return NgramBags(self.values[lo:hi], self.row_splits[start : stop + 1] - lo)


@dataclasses.dataclass
class NgramData:
    """Bags of n-gram ids per split, from a vocabulary fitted on the part trained on."""

    train: NgramBags
    val: NgramBags
    test: NgramBags
    vocabulary: list[str]
    prep_seconds: float
    cache_hit: bool
    class_names: list[str] = dataclasses.field(default_factory=list)
    """As ``PreparedData.class_names``."""
    unsup: NgramBags | None = None
    """The unlabelled reviews (aclImdb train/unsup), with ``unlabeled=True``; None for sources without any."""


def prepare_ngrams(
    data: DataConfig,
    max_ngram: int,
    vocab_size: int,
    seed: int,
    verbose: bool = True,
    unlabeled: bool = False,
    character_ngrams=(),
    character_vocab_size: int = 1_000_000,
) -> NgramData:
    """N-gram bags for fit / validation / test (same reviews, same order as ``prepare``), cached.

    With ``unlabeled`` the 50,000 unlabelled reviews are bagged too, with the
    same vocabulary (fitted on the labelled part trained on only); only IMDB
    has them: for any other source ``unsup`` is None. With ``character_ngrams``
    (widths, ``model.hybrid.character_ngrams``) each bag also holds the review's
    character n-grams, the ``character_vocab_size`` - 1 most frequent of the part
    trained on, after the word n-grams (textattn/data/character_ngrams.py); the
    unlabelled reviews' bags hold their word n-grams only.
    """
    from textattn.data import ngrams  # imports TensorFlow

    start = time.perf_counter()
    source = source_of(data)
    root = os.path.join(data.cache_dir or cache.default_cache_dir(), "ngrams")
    key = cache.cache_key(
        source=source.fingerprint(),
        max_ngram=max_ngram,
        vocab_size=vocab_size,
        seed=seed,
        version=PIPELINE_VERSION,
        unlabeled=unlabeled and source.is_imdb,
        **(
            {"character_ngrams": sorted(character_ngrams), "character_vocab_size": character_vocab_size}
            if character_ngrams
            else {}
        ),
        **split_settings(data),
        **text_settings(data),
    )
    entry = cache.load_entry(root, key)
    cache_hit = entry is not None
    if entry is None:
        if verbose:
            print(f"Preparing {max_ngram}-gram bags from {source.describe()} (cached for later runs)...", flush=True)
        splits = counterfactual.augmented(split_texts(data, seed), data.counterfactual)
        vectorizer = ngrams.adapt_ngram_vectorizer(splits.fit[0], vocab_size, max_ngram, negation=data.negation)
        vocabulary = [str(t) for t in vectorizer.get_vocabulary()]
        characters = None
        if character_ngrams:
            from textattn.data import character_ngrams as chars

            characters = chars.adapt_character_vectorizer(splits.fit[0], character_vocab_size, character_ngrams)
            vocabulary = chars.bag_vocabulary(vocabulary, characters.get_vocabulary())

        def bag(texts, with_characters=True):
            words = ngrams.texts_to_bags(vectorizer, texts)
            if characters is None or not with_characters:
                return words
            # Character column j (its OOV column 0 left out) follows the word columns: id j + V_words - 1.
            return ngrams.join_bags(words, ngrams.texts_to_bags(characters, texts), vectorizer.vocabulary_size() - 1)

        entry = {**cache.packed("vocab_", vocabulary), **cache.packed("classes_", splits.class_names)}
        for name, (texts, _) in (("train", splits.fit), ("val", splits.validation), ("test", splits.test)):
            entry[name + "_values"], entry[name + "_row_splits"] = bag(texts)
        if unlabeled and source.is_imdb:
            unsup_texts = read_texts(source, ("unsup",), data.cache_dir, data.order)["unsup"][0]
            # Only the n-gram branch reads them (self-training), and it reads the word columns.
            entry["unsup_values"], entry["unsup_row_splits"] = bag(unsup_texts, with_characters=False)
        cache.save_entry(root, key, entry)

    def bags(name, limit=None):
        b = NgramBags(entry[name + "_values"], entry[name + "_row_splits"])
        return b.rows(0, min(limit, len(b))) if limit is not None else b

    return NgramData(
        train=bags("train", data.train_limit),
        val=bags("val"),
        test=bags("test", data.test_limit),
        vocabulary=cache.unpacked(entry, "vocab_"),
        prep_seconds=time.perf_counter() - start,
        cache_hit=cache_hit,
        class_names=cache.unpacked(entry, "classes_"),
        unsup=bags("unsup") if unlabeled and "unsup_values" in entry else None,
    )


@dataclasses.dataclass(frozen=True)
class Crop:
    """With ``probability``, a review's token ids become a random window of ``min_tokens`` to
    ``max_tokens`` of its tokens (all of them when it is shorter), padded like any review.

    Called on one review's ids, shape (length,), tokens first and padding (0) after.
    """

    probability: float
    min_tokens: int
    max_tokens: int
    seed: int = 0

    def __call__(self, ids):
        import tensorflow as tf

        length = tf.shape(ids)[0]
        n = tf.reduce_sum(tf.cast(ids != 0, tf.int32))
        size = tf.minimum(n, tf.random.uniform([], self.min_tokens, self.max_tokens + 1, tf.int32, seed=self.seed))
        start = tf.random.uniform([], 0, n - size + 1, tf.int32, seed=self.seed + 1)
        window = tf.pad(ids[start : start + size], [[0, length - size]])
        window = tf.reshape(window, tf.shape(ids))
        return tf.where(tf.random.uniform([], seed=self.seed + 2) < self.probability, window, ids)


def bucket_length_multiple(config: Config) -> int:
    """Bucketed batches' lengths are multiples of this: 1 where any length costs nothing extra, 32 where
    each new length compiles a new program (XLA, JAX), so at most length / 32 of them are compiled."""
    return 32 if config.train.jit_compile or backend.name() == "jax" else 1


# Length bucketing sorts windows of this many shuffled batches by length, so a batch holds reviews of
# similar length while which reviews meet in a batch still changes every epoch.
BUCKET_WINDOW_BATCHES = 8


def make_dataset(
    x,
    y: np.ndarray,
    batch_size: int,
    shuffle_seed: int | None = None,
    ngram_vocab_size: int | None = None,
    crop: "Crop | None" = None,
    trim_multiple: int | None = None,
):
    """A batched, prefetched tf.data.Dataset of (model input, label).

    ``x`` is token ids (N, length), NgramBags (each batch becomes a multi-hot
    SparseTensor (batch, ngram_vocab_size)), or a dict of both keyed
    ``token_ids`` and ``ngrams`` for the hybrid's two inputs. With
    ``shuffle_seed`` the examples are reshuffled every epoch, deterministically.
    ``crop`` replaces token-id reviews by random windows of themselves (see ``Crop``).
    With ``trim_multiple`` batches are bucketed by length (``length_bucketed``)
    and token ids come as (batch, L), L the batch's longest review rounded up
    to a multiple of ``trim_multiple``; examples then come in another order.
    """
    import tensorflow as tf

    parts = dict(x) if isinstance(x, dict) else {NGRAMS if isinstance(x, NgramBags) else TOKEN_IDS: x}
    if NGRAMS in parts:
        if ngram_vocab_size is None:
            raise ValueError("n-gram input needs ngram_vocab_size")
        bags = parts[NGRAMS]
        parts[NGRAMS] = tf.RaggedTensor.from_row_splits(bags.values.astype(np.int64), bags.row_splits)
    ds = tf.data.Dataset.from_tensor_slices((parts, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
    return batched(ds, len(y), batch_size, not isinstance(x, dict), shuffle_seed, ngram_vocab_size, crop, trim_multiple)


def batched(
    ds,
    size: int,
    batch_size: int,
    single: bool,
    shuffle_seed: int | None = None,
    ngram_vocab_size: int | None = None,
    crop: "Crop | None" = None,
    trim_multiple: int | None = None,
):
    """Examples ({token_ids: (length,), ngrams: ragged (None,)}, label), already shuffled when they
    should be, -> the batched, prefetched dataset ``make_dataset`` describes. ``size``: how many
    examples ``ds`` holds; ``single``: the model takes the one input itself, not a dict."""
    import tensorflow as tf

    from textattn.data.ngrams import bags_to_sparse

    keys = ds.element_spec[0].keys()
    if crop is not None and crop.probability > 0 and TOKEN_IDS in keys:
        ds = ds.map(lambda p, label: ({**p, TOKEN_IDS: crop(p[TOKEN_IDS])}, label))
    if trim_multiple is not None and TOKEN_IDS in keys:
        window = BUCKET_WINDOW_BATCHES if shuffle_seed is not None else -(-size // batch_size)
        ds = length_bucketed(ds, batch_size, window, trim_multiple, size, shuffle_seed)
    else:
        ds = ds.batch(batch_size)

    def to_model_input(batch, batch_labels):
        if NGRAMS in batch:
            batch = {**batch, NGRAMS: bags_to_sparse(batch[NGRAMS], ngram_vocab_size)}
        return (next(iter(batch.values())) if single else batch), batch_labels

    ds = ds.map(to_model_input).prefetch(tf.data.AUTOTUNE)
    return ds.apply(tf.data.experimental.assert_cardinality(-(-size // batch_size)))


def token_counts(ids):
    """Token ids int (batch, length), padding (0) after the tokens -> each row's token count (batch,)."""
    import tensorflow as tf

    return tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)


def length_bucketed(
    ds, batch_size: int, window_batches: int, trim_multiple: int, size: int, shuffle_seed: int | None = None
):
    """Unbatched examples ({token_ids: (length,), ...}, label) -> batches of reviews of similar length.

    Each window of ``window_batches`` batches is sorted by token count and cut
    into batches; with ``shuffle_seed`` the batches are reshuffled (the caller
    shuffles the examples before). Each batch's token ids lose the padding
    after its longest review, rounded up to a multiple of ``trim_multiple``:
    (batch, L), L <= length. The dataset keeps its cardinality, ceil(size / batch_size).
    """
    import tensorflow as tf

    def sort_window(parts, labels):
        order = tf.argsort(token_counts(parts[TOKEN_IDS]), stable=True)
        return tf.nest.map_structure(lambda t: tf.gather(t, order), (parts, labels))

    def trim(parts, labels):
        ids = parts[TOKEN_IDS]
        longest = tf.reduce_max(token_counts(ids))
        keep = tf.minimum(tf.shape(ids)[1], tf.maximum(-(-longest // trim_multiple), 1) * trim_multiple)
        return {**parts, TOKEN_IDS: ids[:, :keep]}, labels

    ds = ds.batch(batch_size * window_batches).map(sort_window).unbatch().batch(batch_size)
    if shuffle_seed is not None:
        ds = ds.shuffle(window_batches, seed=shuffle_seed + 1, reshuffle_each_iteration=True)
    ds = ds.map(trim)
    return ds.apply(tf.data.experimental.assert_cardinality(-(-size // batch_size)))
