"""The fit, validation and test texts of any settled data source, whether it is held in memory
(textattn/data/pipeline.py) or streamed a shard at a time (textattn/data/streamed.py).

The one place that knows both: streamed sources are prepared through the in-memory pipeline's
helpers, so the pipeline cannot ask the streamed reader in turn.
"""

from __future__ import annotations

from textattn.config import DataConfig
from textattn.data import corpus, pipeline, streamed
from textattn.data.source import IMDB_VALIDATION, STREAMED_KINDS, source_of


def split_texts(data: DataConfig, seed: int) -> pipeline.TextSplits:
    """The fit, validation and test parts of the config's examples, deterministic from ``seed``
    (``pipeline.split_texts``; a prepared corpus' or shards' parts read whole, ``streamed.split_texts``)."""
    if data.source in STREAMED_KINDS:
        return streamed.split_texts(data, seed)
    return pipeline.split_texts(data, seed)


def validation_count(data: DataConfig, seed: int) -> int:
    """How many examples the validation part of ``data`` holds (IMDB and streamed data without reading it)."""
    if data.source in STREAMED_KINDS:
        return corpus.read_manifest(streamed.prepared_dir(data, seed)[0]).counts["validation"]
    if source_of(data).is_imdb and not data.validation_by_movie:  # by movie: about that many, read to count
        return IMDB_VALIDATION if data.validation_size is None else data.validation_size
    return len(pipeline.split_texts(data, seed).validation[1])
