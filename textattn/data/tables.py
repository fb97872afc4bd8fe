"""Readers of labelled text in one file: CSV, TSV (Python's csv module) and JSONL.

Each returns ``Rows`` (textattn/data/rows.py). CSV and TSV files have a
header naming their columns; quoted fields may hold the delimiter, quotes
("" inside quotes) and newlines. A JSONL file has one JSON object per line.
Rows are named by the line on which they start (``FILE, line N``), so a
message points where an editor does. Blank lines are ignored.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys

from textattn.data.rows import Rows, decode_lines, split_of
from textattn.errors import UserError

DELIMITERS = {"csv": ",", "tsv": "\t"}
_FIELD_HINT = {"text": "data.text_field", "label": "data.label_field"}


def read_file(path: str, kind: str, text_field: str, label_field: str, split_field: str) -> Rows:
    """The rows of ``path``, a ``kind`` ("csv", "tsv" or "jsonl") file; bad input raises UserError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UserError(f"cannot read data file {path!r} ({exc.strerror}); check --data") from None
    content, bad_lines = decode_lines(data)
    if not content.strip():
        raise UserError(
            f"data file {path!r} is empty; it needs a header and labelled rows"
            if kind != "jsonl"
            else f"data file {path!r} is empty; it needs one JSON object per line"
        )
    rows = Rows(origin=path)
    rows.not_utf8 = [f"{path}, line {n}" for n in bad_lines]
    if kind == "jsonl":
        read_jsonl(content.split("\n"), path, text_field, label_field, split_field, rows)
    else:
        read_delimited(
            io.StringIO(content, newline=""), path, DELIMITERS[kind], text_field, label_field, split_field, rows
        )
    if not rows.texts:
        raise UserError(
            f"data file {path!r} has no rows with text; add labelled rows "
            f"(skipped {len(rows.skipped_empty)} whose text is empty)"
        )
    return rows


def _missing(where: str, role: str, name: str, present) -> UserError:
    setting = _FIELD_HINT[role]
    return UserError(
        f"{where}: no {role} column {name!r} (found: {', '.join(map(str, present)) or 'none'}); "
        f"rename the column or set {setting}, e.g. --set {setting}=NAME"
    )


def read_delimited(
    lines, path: str, delimiter: str, text_field: str, label_field: str, split_field: str, rows
) -> list[str]:
    """Add the rows of CSV/TSV ``lines`` (an iterable of str, each with its line ending) to ``rows``
    (anything with ``add(text, label, split, where)``); return the header. Bad input raises UserError."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # whole reviews or documents can be long
    reader = csv.reader(lines, delimiter=delimiter)
    start, header = 1, None
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            if header is None:
                header = [name.strip() for name in record]
                for role, name in (("text", text_field), ("label", label_field)):
                    if name not in header:
                        raise _missing(f"{path}, line {line} (the header)", role, name, header)
                text_i, label_i = header.index(text_field), header.index(label_field)
                split_i = header.index(split_field) if split_field in header else None
                continue
            where = f"{path}, line {line}"
            if len(record) != len(header):
                raise UserError(
                    f"{where}: {len(record)} fields where the header has {len(header)}; "
                    f"quote fields that hold the delimiter {delimiter!r}, quotes or newlines"
                )
            label = record[label_i].strip()
            if not label:
                raise UserError(f"{where}: the {label_field!r} field is empty; give every row a label")
            split = split_of(record[split_i], where, split_field) if split_i is not None else None
            rows.add(record[text_i], label, split, where)
    except csv.Error as exc:
        raise UserError(
            f"{path}, line {reader.line_num}: not valid {'TSV' if delimiter == chr(9) else 'CSV'} "
            f"({exc}); check its quoting"
        ) from None
    if header is None:
        raise UserError(f"data file {path!r} is empty; it needs a header and labelled rows")
    return header


def read_jsonl(lines, path: str, text_field: str, label_field: str, split_field: str, rows) -> bool | None:
    """Add the rows of JSONL ``lines`` (an iterable of str) to ``rows`` (anything with
    ``add(text, label, split, where)``); return whether they have a split field (None: no rows).
    Bad input raises UserError."""
    has_split = None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise UserError(f"{where}: not valid JSON ({exc}); a JSONL file has one JSON object per line") from None
        if not isinstance(record, dict):
            raise UserError(
                f"{where}: a JSON {type(record).__name__}, not an object; "
                f'write one object per line, e.g. {{"{text_field}": ..., "{label_field}": ...}}'
            )
        for role, name in (("text", text_field), ("label", label_field)):
            if name not in record:
                raise _missing(where, role, name, record)
        if has_split is None:
            has_split = split_field in record
        elif has_split != (split_field in record):
            raise UserError(
                f"{where}: {'no' if has_split else 'a'} {split_field!r} field, unlike the first row; "
                f"give every row a {split_field!r} or none"
            )
        text = record[text_field]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise UserError(f"{where}: {text_field!r} is a JSON {type(text).__name__}, not a string")
        label = record[label_field]
        if isinstance(label, str):
            label = label.strip()
        if label is None or label == "":
            raise UserError(f"{where}: the {label_field!r} field is empty; give every row a label")
        split = split_of(record[split_field], where, split_field) if has_split else None
        rows.add(text, label, split, where)
    return has_split


def sniff_kind(path: str) -> str | None:
    """ "jsonl", "tsv" or "csv" from the first non-blank line of ``path``; None when it looks like none."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return None
    first = next((ln for ln in head.decode("utf-8", errors="replace").splitlines() if ln.strip()), "")
    if first.lstrip().startswith("{"):
        return "jsonl"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    return None


def kind_of(path: str) -> str | None:
    """The table kind of ``path`` from its extension, else from its content (see ``sniff_kind``)."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".csv", ".tsv"):
        return ext[1:]
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    return sniff_kind(path)
