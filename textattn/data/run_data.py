"""A config's data as model inputs: ``RunData`` (token ids, and n-gram bags when the variant reads them).

``load_data(config)`` prepares the data of a config whose source is settled
(``textattn.data.source.resolve_data``); a run, a search trial and an evaluation
all read their data through it.
"""

from __future__ import annotations

import dataclasses

from textattn import variants
from textattn.config import Config
from textattn.data import pipeline, streamed
from textattn.data.character_ngrams import split_vocabulary
from textattn.layers.naive_bayes_ngrams import class_document_counts
from textattn.variants import NGRAMS, TOKEN_IDS


@dataclasses.dataclass
class RunData:
    """A config's prepared data: token ids per split, and n-gram bags per split when the variant reads them."""

    tokens: pipeline.PreparedData
    ngrams: pipeline.NgramData | None
    _word_ngram_columns: int | None = dataclasses.field(default=None, repr=False, compare=False)

    streamed = False
    """False: the examples are in memory. textattn/data/streamed.py's StreamedData, which answers the
    same questions for data read a shard at a time, says True."""

    @property
    def vocabulary(self) -> list[str]:
        return self.tokens.vocabulary

    @property
    def ngram_vocabulary(self) -> list[str] | None:
        return self.ngrams.vocabulary if self.ngrams else None

    @property
    def source(self) -> str:
        return self.tokens.source

    @property
    def prep_seconds(self) -> float:
        return self.tokens.prep_seconds + (self.ngrams.prep_seconds if self.ngrams else 0.0)

    @property
    def cache_hit(self) -> bool:
        return self.tokens.cache_hit

    def count(self, split: str) -> int:
        """How many examples ``split`` ("train", "val", "test") holds."""
        return len(self.labels(split))

    def labels(self, split: str):
        """int32 (N,): the labels of ``split``, in the order of its unshuffled ``dataset``."""
        return getattr(self.tokens, "y_" + split)

    def ngram_class_counts(self, bags=None, labels=None):
        """float64 (classes, n-gram vocabulary): training documents of each class holding each n-gram
        (of ``bags``/``labels`` when given)."""
        bags = self.ngrams.train if bags is None else bags
        labels = self.tokens.y_train if labels is None else labels
        return class_document_counts(bags, labels, self.ngram_vocab_size, self.num_classes)

    @property
    def class_names(self) -> list[str]:
        """Label id i is class ``class_names[i]``."""
        return list(self.tokens.class_names)

    @property
    def num_classes(self) -> int:
        """The model's head width: one unit per class."""
        return len(self.tokens.class_names)

    @property
    def ngram_vocab_size(self) -> int | None:
        return len(self.ngrams.vocabulary) if self.ngrams else None

    @property
    def word_ngram_columns(self) -> int | None:
        """How many of the bag's columns are word n-grams (the OOV bucket included); the rest, up to
        ``ngram_vocab_size``, are character n-grams (``model.hybrid.character_ngrams``)."""
        if not self.ngrams:
            return None
        if self._word_ngram_columns is None:
            self._word_ngram_columns = len(split_vocabulary(self.ngrams.vocabulary)[0])
        return self._word_ngram_columns

    def inputs(self, name: str, split: str):
        """The input of variant ``name``'s model for ``split`` ("train", "val", "test"), and its labels (N,).

        The input is token ids (N, length), n-gram bags, or a dict of both, as the variant's ``inputs`` say.
        """
        arrays = {TOKEN_IDS: lambda: getattr(self.tokens, "x_" + split), NGRAMS: lambda: getattr(self.ngrams, split)}
        inputs = {key: arrays[key]() for key in variants.variant(name).inputs}
        labels = getattr(self.tokens, "y_" + split)
        return (inputs if len(inputs) > 1 else next(iter(inputs.values()))), labels

    def dataset(
        self,
        config: Config,
        split: str,
        variant: str | None = None,
        batch_size: int | None = None,
        shuffle: bool | None = None,
        for_fit: bool = False,
    ):
        """Batches of (input, label) of ``split`` for ``variant`` (default: the config's).

        The training split is shuffled with the config's seed (``shuffle`` overrides) and
        cropped as ``train.crop_*`` say. ``for_fit``: batches only fit() reads (training,
        validation), bucketed by length when ``train.bucket_by_length`` says so, so their
        order is not the split's.
        """
        x, y = self.inputs(variant or config.model.variant, split)
        seed = config.seed if (split == "train" if shuffle is None else shuffle) else None
        t = config.train
        crop = (
            pipeline.Crop(t.crop_probability, t.crop_min_tokens, t.crop_max_tokens, config.seed)
            if split == "train"
            else None
        )
        trim = pipeline.bucket_length_multiple(config) if for_fit and t.bucket_by_length else None
        return pipeline.make_dataset(x, y, batch_size or t.batch_size, seed, self.ngram_vocab_size, crop, trim)


def load_data(config: Config, verbose: bool = True):
    """The data ``config``'s variant reads, prepared (or loaded from the cache): ``RunData``, or for a
    streamed source (a prepared directory, a glob of shards) ``textattn.data.streamed.StreamedData``."""
    if config.data.source in streamed.STREAMED_KINDS:
        return streamed.load(config, verbose)
    tokens = pipeline.prepare(config.data, config.seed, verbose=verbose)
    ngrams = None
    if variants.variant(config.model.variant).reads_ngrams:
        n = config.model.ngram
        unlabeled = config.model.variant == "hybrid" and config.model.hybrid.self_training
        ngrams = pipeline.prepare_ngrams(
            config.data,
            n.max_ngram,
            n.vocab_size,
            config.seed,
            verbose,
            unlabeled=unlabeled,
            character_ngrams=config.model.hybrid.character_ngrams if config.model.variant == "hybrid" else (),
            character_vocab_size=config.model.hybrid.character_vocab_size,
        )
    return RunData(tokens, ngrams)
