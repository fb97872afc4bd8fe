"""Multi-label examples: each text with a set of labels, as a multi-hot matrix, checked and split.

Where the label sets come from (``data.multi_label: true``):

- JSONL: the label key (``data.label_field``, default ``label``; ``labels``
  when the rows have that key and no ``label``) holds a list, e.g.
  ``{"text": ..., "labels": ["positive", "long"]}``; a lone string or integer is
  a set of one;
- CSV/TSV: the label column split by ``data.label_separator`` (e.g. ``a|b``);
- class folders: one file name (its path below the class folder) under several
  class folders is one example with those labels; its copies must hold the same text.

Label ``i`` is ``class_names[i]``, names sorted as strings. Checks, each one
line naming the row: an empty label set; a label only in validation or test
rows; a separator that occurs in no row; fewer than 2 labels in all. A
single-label config meeting multi-label data is refused by
``textattn.data.labelled`` (JSONL lists) and ``single_label_folders`` (shared
file names), each saying to set ``data.multi_label``.

Splits: given ones are honoured; the rest are carved by
``textattn.data.carving``, stratified by label set (each distinct set is a
stratum, so a rare set stays in training).
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from textattn.data import carving, folders, tables
from textattn.data.rows import Rows
from textattn.data.split_codes import SPLIT_CODES, TEST, TRAIN
from textattn.errors import UserError

JSONL_LIST_KEY = "labels"
MULTI_LABEL_KINDS = ("csv", "tsv", "jsonl", "folders")


@dataclasses.dataclass
class MultiLabelled:
    """N examples: texts, labels float32 (N, L) multi-hot over ``class_names``, splits int8 (N,)."""

    texts: list[str]
    labels: np.ndarray
    splits: np.ndarray
    class_names: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)


def check_source(data) -> None:
    """UserError unless the settled ``data`` config's source can hold label sets."""
    if data.source not in MULTI_LABEL_KINDS:
        where = data.path or f"tfds:{data.tfds_name}"
        raise UserError(
            f"data.multi_label reads label sets from a JSONL, CSV or TSV file or class folders, "
            f"not {data.source} data ({where}); pass such a file with --data, or set data.multi_label=false"
        )


def read(data) -> MultiLabelled:
    """The label sets of the settled ``data`` config's source, checked (see the module docstring)."""
    check_source(data)
    if data.source == "folders":
        rows = folders.read_tree(data.path)
        texts, sets, splits, where = _grouped_by_file_name(rows, data.path)
    else:
        rows = _read_table(data)
        sets = [_label_set(label, w, data) for label, w in zip(rows.labels, rows.where)]
        if data.source != "jsonl":
            _check_separator_used(rows, data)
        texts, splits, where = rows.texts, rows.splits, rows.where
    names = sorted({name for labels in sets for name in labels})
    if len(names) < 2:
        raise UserError(
            f"{data.path}: the rows name {len(names)} label(s) ({', '.join(names)}); multi-label "
            "data needs at least 2 (with one, train a single-label model)"
        )
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(sets), len(names)), np.float32)
    for row, labels in enumerate(sets):
        matrix[row, [index[name] for name in labels]] = 1.0
    codes = np.asarray([SPLIT_CODES[s] for s in splits], np.int8)
    _check_training_rows(matrix, codes, names, where)
    return MultiLabelled(list(texts), matrix, codes, names, rows.notes())


def carve(data, seed: int):
    """(fit, validation, test, class_names): each part (texts, labels float32 (n, L)), carved as
    ``carving.carve`` does with each distinct label set as one class."""
    examples = read(data)
    _, set_ids = np.unique(examples.labels, axis=0, return_inverse=True)
    parts = carving.carve(
        set_ids.reshape(-1).astype(np.int64),
        examples.splits,
        seed,
        data.test_fraction,
        data.validation_fraction,
        data.validation_size,
    )
    return (*[([examples.texts[i] for i in p], examples.labels[p]) for p in parts], examples.class_names)


def _read_table(data) -> Rows:
    label_field = data.label_field
    if label_field is None:
        label_field = "label"
        if data.source == "jsonl" and first_record_has(data.path, JSONL_LIST_KEY, "label"):
            label_field = JSONL_LIST_KEY
    if data.source != "jsonl" and data.label_separator is None:
        raise UserError(
            f"data.multi_label with a {data.source.upper()} file needs data.label_separator, what "
            "separates a row's labels in its label column, e.g. --set data.label_separator='|'"
        )
    return tables.read_file(data.path, data.source, data.text_field or "text", label_field, data.split_field)


def first_record_has(path: str, key: str, other: str) -> bool:
    """Whether the first JSON object of ``path`` has ``key`` and not ``other``."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    return False  # the reader says what is wrong, with the line
                return isinstance(record, dict) and key in record and other not in record
    return False


def _label_set(label, where: str, data) -> list[str]:
    """A row's raw label (a JSON list, string or integer; a CSV field) -> its distinct label names."""
    if isinstance(label, list):
        items = label
    elif data.source == "jsonl":
        items = [label]
    else:
        items = label.split(data.label_separator)
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise UserError(f"{where}: label {item!r} is a {type(item).__name__}; labels are words or integers")
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise UserError(f"{where}: the label set {label!r} is empty; give every row at least one label")
    return names


def _check_separator_used(rows: Rows, data) -> None:
    if not any(data.label_separator in label for label in rows.labels):
        raise UserError(
            f"{rows.origin}: data.label_separator {data.label_separator!r} occurs in no row's "
            f"{data.label_field or 'label'!r} column; set the separator the column uses"
        )


def _check_training_rows(matrix: np.ndarray, codes: np.ndarray, names: list[str], where: list[str]) -> None:
    in_training = matrix[codes == TRAIN].sum(axis=0)
    for i, name in enumerate(names):
        if in_training[i] == 0:
            first = int(np.flatnonzero(matrix[:, i])[0])
            split = "test" if codes[first] == TEST else "validation"
            raise UserError(
                f"{where[first]}: label {name!r} is in the {split} rows only; every label needs "
                "training rows (fix the label or the split column)"
            )


def file_key(path: str, root: str) -> tuple[str | None, str, str]:
    """(split folder or None, class folder, path below the class folder) of a file of a class tree."""
    parts = os.path.relpath(path, root).split(os.sep)
    if len(parts) >= 3 and parts[0].lower() in ("train", "test", "validation", "val", "dev"):
        return parts[0].lower(), parts[1], os.path.join(*parts[2:])
    return None, parts[0], os.path.join(*parts[1:])


def _grouped_by_file_name(rows: Rows, root: str):
    """Rows of a class tree -> one example per (split, file name), labelled with every class folder holding it."""
    groups: dict[tuple, int] = {}
    texts, sets, splits, where = [], [], [], []
    for text, label, split, path in zip(rows.texts, rows.labels, rows.splits, rows.where):
        split_folder, _, name = file_key(path, root)
        key = (split_folder, name)
        if key not in groups:
            groups[key] = len(texts)
            texts.append(text), sets.append([label]), splits.append(split), where.append(path)
            continue
        first = groups[key]
        if texts[first] != text:
            raise UserError(
                f"{path}: same file name as {where[first]} but another text; with data.multi_label "
                "one file name under several class folders is one example, so its copies must match"
            )
        if label not in sets[first]:
            sets[first].append(label)
    return texts, sets, splits, where


def single_label_folders(rows: Rows, root: str) -> None:
    """A class tree read single-label: UserError when one file, same name and text, is in several class folders."""
    seen: dict[tuple, tuple[str, str, str]] = {}
    for text, label, path in zip(rows.texts, rows.labels, rows.where):
        split_folder, _, name = file_key(path, root)
        first = seen.setdefault((split_folder, name), (label, text, path))
        if first[0] != label and first[1] == text:
            raise UserError(
                f"{path}: the same file is in class folders {first[0]!r} and {label!r} "
                "(multi-label data); set data.multi_label=true to train one sigmoid per label"
            )
