"""Where the examples come from: chosen once per command, then carried by the config.

``resolve_data`` settles ``config.data``: ``source`` becomes one of

- ``local``: an aclImdb copy (directory or .tar.gz) at the absolute ``path``;
- ``csv``, ``tsv``, ``jsonl``: a labelled file at ``path`` (textattn/data/tables.py);
- ``folders``: a tree of class folders at ``path`` (textattn/data/folders.py);
- ``tfds``: the TFDS dataset ``tfds_name`` (``imdb_reviews`` by default);
- ``shards``: a glob of CSV, TSV or JSONL files (``path`` the pattern), streamed;
- ``prepared``: a directory written by ``textattn prepare``, streamed.

The last two are read a shard at a time (textattn/data/streamed.py); the others
are held in memory.

``--data PATH`` (or ``data.path``, or $TEXTATTN_DATA) is recognised by its
extension (.csv, .tsv, .jsonl), its layout (aclImdb, class folders, a prepared
directory), a tar archive (aclImdb), else its first line; a pattern with
``*``, ``?`` or ``[`` is a glob of shards; ``tfds:NAME`` names a TFDS dataset;
a ``data.source`` of csv, tsv, jsonl or folders overrides the guess. A
labelled file or tree is read and checked here, and a TFDS dataset other
than IMDB looked up, so bad data stops a command before it writes anything.
Everything after (the pipeline, a run's saved config.yaml, a resumed run,
``evaluate``) reads the settled config and never looks at --data or
$TEXTATTN_DATA again.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tarfile

from textattn.config import Config, DataConfig
from textattn.data import aclimdb, corpus, folders, shards, tables, tfds_source
from textattn.errors import UserError

DATA_ENV = "TEXTATTN_DATA"
TFDS_PREFIX = "tfds:"
FILE_KINDS = ("csv", "tsv", "jsonl")
LABELLED_KINDS = FILE_KINDS + ("folders",)
STREAMED_KINDS = ("shards", "prepared")
"""Sources read as labelled examples and split by textattn/data/carving.py."""
IMDB_VALIDATION = 10_000
"""Validation reviews of the reference IMDB split when ``data.validation_size`` is None."""


@dataclasses.dataclass(frozen=True)
class Source:
    kind: str  # "local" (aclImdb), "tfds", "csv", "tsv", "jsonl", "folders", "shards" or "prepared"
    path: str | None = None
    tfds_name: str = tfds_source.TFDS_NAME
    text_field: str | None = None
    label_field: str | None = None
    split_field: str = "split"

    @property
    def is_imdb(self) -> bool:
        """aclImdb or TFDS imdb_reviews: the reference split (train 25,000 / test 25,000) and unlabelled reviews."""
        return self.kind == "local" or (self.kind == "tfds" and self.tfds_name == tfds_source.TFDS_NAME)

    def fingerprint(self) -> str:
        """Changes when the examples read from this source can change (files, fields, dataset)."""
        if self.kind == "local":
            return aclimdb.fingerprint(self.path)
        if self.is_imdb:
            return tfds_source.fingerprint()
        fields = f"text={self.text_field}:label={self.label_field}:split={self.split_field}"
        if self.kind == "tfds":
            return f"tfds:{self.tfds_name}:{fields}"
        if self.kind == "folders":
            return f"folders:{self.path}:{folders.fingerprint(self.path)}"
        if self.kind == "prepared":
            return corpus.fingerprint(self.path)
        if self.kind == "shards":
            return shards.fingerprint(self.path)
        st = os.stat(self.path)
        return f"{self.kind}:{self.path}:{st.st_size}:{st.st_mtime_ns}:{fields}"

    def describe(self) -> str:
        return f"{TFDS_PREFIX}{self.tfds_name}" if self.kind == "tfds" else self.path


def resolve_data(config: Config, cli_path: str | None = None) -> Config:
    """``config`` with its data source settled; a wrong path or bad data raises UserError.

    The path, in this order: ``cli_path`` (--data), the config's ``data.path``
    (unless ``data.source`` is tfds), $TEXTATTN_DATA; TFDS ``data.tfds_name``
    when none is given (an error when ``data.source`` names a local kind).
    """
    data = config.data
    path = cli_path or (None if data.source == "tfds" else data.path or os.environ.get(DATA_ENV) or None)
    if path and path.startswith(TFDS_PREFIX):
        name = path[len(TFDS_PREFIX) :].strip()
        if not name:
            raise UserError(f"--data {path!r} names no dataset; write tfds:NAME, e.g. tfds:ag_news_subset")
        settled = dataclasses.replace(data, source="tfds", path=None, tfds_name=name)
    elif path and (data.source == "shards" or (shards.is_glob(path) and not os.path.exists(path))):
        shards.expand(path)  # no match, or files of different kinds: one line now
        settled = dataclasses.replace(data, source="shards", path=os.path.abspath(path))
    elif path:
        settled = dataclasses.replace(data, source=_kind_of(path, data.source), path=os.path.abspath(path))
    elif data.source in ("auto", "tfds"):
        settled = dataclasses.replace(data, source="tfds", path=None)
    else:
        raise UserError(f"data.source is {data.source!r} but no path was given; pass --data PATH or set {DATA_ENV}")
    if settled.order != "canonical" and settled.source != "local":
        raise UserError("data.order 'archive' needs a local aclImdb copy (--data PATH); other sources keep their order")
    if settled.source == "prepared":
        corpus.read_manifest(settled.path)  # a damaged manifest or a missing shard: before anything is written
    if settled.source == "tfds":
        tfds_source.check_available(settled.tfds_name)  # an unknown name, or offline: before anything is written
    if settled.multi_label:
        from textattn.data import multi_labels

        for note in multi_labels.read(settled).notes:  # also refuses sources without label sets
            print(f"warning: {note}", file=sys.stderr, flush=True)
    elif settled.source in LABELLED_KINDS:
        from textattn.data import labelled

        for note in labelled.load(source_of(settled), settled.cache_dir).notes:
            print(f"warning: {note}", file=sys.stderr, flush=True)
    return dataclasses.replace(config, data=settled)


def _kind_of(path: str, declared: str) -> str:
    """The source kind of an existing local ``path``: ``declared`` when it names one, else recognised."""
    if not os.path.exists(path):
        raise UserError(
            f"data path {path!r} does not exist; pass --data or set {DATA_ENV} to a CSV, TSV or JSONL "
            "file, a folder of class folders, or an aclImdb directory or .tar.gz"
        )
    if declared in FILE_KINDS:
        if not os.path.isfile(path):
            raise UserError(f"data.source is {declared!r} but {path!r} is not a file")
        return declared
    if declared == "prepared" or (declared == "auto" and corpus_dir(path)):
        if not corpus_dir(path):
            raise UserError(
                f"data.source is 'prepared' but {path!r} has no manifest.json; write one with "
                "textattn prepare --data SOURCE --out DIR"
            )
        return "prepared"
    if declared == "folders":
        if not folders.is_class_tree(path):
            raise UserError(f"data.source is 'folders' but {path!r} has no subfolders; {folders.LAYOUT_HINT}")
        return declared
    if os.path.isdir(path):
        try:
            aclimdb.check_path(path)
            return "local"
        except UserError:
            if folders.is_class_tree(path):
                return "folders"
        raise UserError(
            f"directory {path!r} has neither class subfolders nor the aclImdb layout; "
            f"{folders.LAYOUT_HINT}, or {aclimdb.LAYOUT_HINT}"
        )
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".tsv", ".jsonl", ".ndjson") and tarfile.is_tarfile(path):
        return "local"
    kind = tables.kind_of(path)
    if kind is None:
        raise UserError(
            f"cannot tell what kind of data {path!r} holds; name it .csv, .tsv or .jsonl, or set "
            "data.source (csv, tsv, jsonl, folders)"
        )
    return kind


def corpus_dir(path: str) -> bool:
    """Whether ``path`` is a directory written by ``textattn prepare``."""
    return os.path.isdir(path) and corpus.is_prepared(path)


def source_of(data: DataConfig) -> Source:
    """The Source of a settled data config (see ``resolve_data``)."""
    fields = dict(text_field=data.text_field, label_field=data.label_field, split_field=data.split_field)
    if data.source == "local" and data.path:
        return Source("local", data.path)
    if data.source == "tfds":
        return Source("tfds", tfds_name=data.tfds_name, **fields)
    if data.source in LABELLED_KINDS + STREAMED_KINDS and data.path:
        return Source(data.source, data.path, **fields)
    raise ValueError(
        f"data source not settled (source {data.source!r}, path {data.path!r}); "
        "pass the config through resolve_data first"
    )
