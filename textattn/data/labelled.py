"""Labelled examples with class ids, checked: what every source but the aclImdb reference becomes.

Class names and ids. Label id i is ``class_names[i]``. Labels that are all
integers (ints in JSON, or strings such as ``3`` or ``-1``) are sorted
numerically and named ``str(int)``; labels that are all words are sorted as
strings. TFDS datasets keep their ClassLabel order (see tfds_source.py).
A source that mixes integers and words is refused: it is most often a column
shifted by a stray delimiter.

Checks (each a one-line UserError naming the file and row): mixed label
kinds; a label found only in validation or test rows; a class with fewer than
2 training examples (the rows that are neither given as test nor as
validation). ``load`` caches the result, keyed by the source's fingerprint
(files' paths, sizes and modification times, and the field settings).
"""

from __future__ import annotations

import dataclasses
import os
import re

import numpy as np

from textattn.data import cache, folders, multi_labels, tables, tfds_source
from textattn.data.rows import Rows
from textattn.data.split_codes import SPLIT_CODES, TEST, TRAIN
from textattn.errors import UserError

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)$")
VERSION = 1  # bump when reading or checking changes what a cached entry holds


@dataclasses.dataclass
class Labelled:
    """N examples: texts, labels int32 (N,) (ids into ``class_names``), splits int8 (N,) (TRAIN/VALIDATION/TEST)."""

    texts: list[str]
    labels: np.ndarray
    splits: np.ndarray
    class_names: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)
    """Lines to show the user: examples skipped, bytes replaced."""


def from_rows(rows: Rows, class_names: list[str] | None = None) -> Labelled:
    """Class ids for ``rows``' labels (names as the module docstring says, or ``class_names``
    when the rows' labels are already ids into it), checked."""
    if class_names is None:
        class_names, labels = _class_ids(rows)
    else:
        labels = np.asarray(rows.labels, np.int32)
    splits = np.asarray([SPLIT_CODES[s] for s in rows.splits], np.int8)
    _check_training_examples(rows, labels, splits, class_names)
    return Labelled(rows.texts, labels, splits, list(class_names), rows.notes())


def _kind(label, where: str) -> str:
    if isinstance(label, list):
        raise UserError(
            f"{where}: label {label!r} is a list (multi-label data); set data.multi_label=true "
            "to train one sigmoid per label"
        )
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise UserError(f"{where}: label {label!r} is a {type(label).__name__}; labels are words or integers")
    return "integer" if isinstance(label, int) or _INTEGER.match(label) else "word"


def _class_ids(rows: Rows) -> tuple[list[str], np.ndarray]:
    first_kind = _kind(rows.labels[0], rows.where[0])
    for label, where in zip(rows.labels, rows.where):
        kind = _kind(label, where)
        if kind != first_kind:
            raise UserError(
                f"{where}: label {label!r} is {'an' if kind == 'integer' else 'a'} {kind}, but "
                f"{rows.where[0]} has {'an' if first_kind == 'integer' else 'a'} {first_kind} "
                f"({rows.labels[0]!r}); labels must be all integers or all words"
            )
    if first_kind == "integer":
        values = [int(v) for v in rows.labels]
        names = [str(v) for v in sorted(set(values))]
        keys = [str(v) for v in values]
    else:
        names = sorted(set(rows.labels))
        keys = rows.labels
    ids = {name: i for i, name in enumerate(names)}
    return names, np.asarray([ids[k] for k in keys], np.int32)


def _check_training_examples(rows: Rows, labels: np.ndarray, splits: np.ndarray, class_names) -> None:
    counts = np.bincount(labels[splits == TRAIN], minlength=len(class_names))
    for c, name in enumerate(class_names):
        if counts[c] >= 2:
            continue
        at = np.flatnonzero(labels == c)
        where = rows.where[at[0]]
        if counts[c] == 0:
            split = "test" if splits[at[0]] == TEST else "validation"
            raise UserError(
                f"{where}: label {name!r} is in the {split} rows only; every class needs training "
                "rows (fix the label or the split column)"
            )
        raise UserError(
            f"{where}: class {name!r} has only 1 training example; each class needs at least 2 "
            "(add examples or drop the class)"
        )


def read(source) -> Labelled:
    """Read and check ``source`` (a ``textattn.data.source.Source`` of a labelled-file or TFDS kind)."""
    if (
        source.kind == "jsonl"
        and source.label_field is None
        and multi_labels.first_record_has(source.path, multi_labels.JSONL_LIST_KEY, "label")
    ):
        raise UserError(
            f"{source.path}: the rows have a {multi_labels.JSONL_LIST_KEY!r} key and no 'label' "
            "(multi-label data); set data.multi_label=true, or data.label_field for single labels"
        )
    if source.kind in tables.DELIMITERS or source.kind == "jsonl":
        return from_rows(
            tables.read_file(
                source.path, source.kind, source.text_field or "text", source.label_field or "label", source.split_field
            )
        )
    if source.kind == "folders":
        rows = folders.read_tree(source.path)
        examples = from_rows(rows)  # its own errors first, as before multi-label data existed
        multi_labels.single_label_folders(rows, source.path)
        return examples
    if source.kind == "tfds":
        rows, class_names = tfds_source.read_rows(source.tfds_name, source.text_field, source.label_field)
        return from_rows(rows, class_names)
    raise ValueError(f"not a labelled-examples source: {source.kind}")


def load(source, cache_dir: str | None = None) -> Labelled:
    """``read(source)``, from the cache when its files and field settings are unchanged."""
    root = os.path.join(cache_dir or cache.default_cache_dir(), "labelled")
    key = cache.cache_key(source=source.fingerprint(), version=VERSION)
    entry = cache.load_entry(root, key)
    if entry is not None:
        return Labelled(
            texts=cache.unpacked(entry, "texts_"),
            labels=entry["labels"],
            splits=entry["splits"],
            class_names=cache.unpacked(entry, "classes_"),
            notes=cache.unpacked(entry, "notes_"),
        )
    data = read(source)
    arrays = {"labels": data.labels, "splits": data.splits}
    for name, texts in (("texts", data.texts), ("classes", data.class_names), ("notes", data.notes)):
        arrays.update(cache.packed(f"{name}_", texts))
    cache.save_entry(root, key, arrays)
    return data
