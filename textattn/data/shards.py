"""Labelled files read as a stream: one CSV, TSV or JSONL file, or a glob of them (shards).

    --data 'tickets/part-*.jsonl'      every matching file, in name order
    --data big.csv                     one file, read a line at a time

Rows go to a sink (anything with ``add(text, label, split, where)``) as they are
read, so memory does not grow with the files. The readers and their checks are
those of textattn/data/tables.py; between shards, every file must have the same
columns (CSV/TSV: the same header; JSONL: a split field in all or none) and at
least one row.
"""

from __future__ import annotations

import glob
import os

from textattn.data import tables
from textattn.errors import UserError

GLOB_CHARS = "*?["


def is_glob(path: str) -> bool:
    return any(c in path for c in GLOB_CHARS)


def expand(pattern: str) -> list[str]:
    """The files ``pattern`` matches, sorted; UserError when none, or when they are of different kinds."""
    paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    if not paths:
        raise UserError(
            f"--data {pattern!r} matches no files; check the pattern (quote it so the shell "
            "does not expand it), e.g. --data 'shards/part-*.jsonl'"
        )
    kinds = {p: tables.kind_of(p) for p in paths}
    first = paths[0]
    for path, kind in kinds.items():
        if kind is None:
            raise UserError(f"cannot tell what kind of data {path!r} holds; name the shards .csv, .tsv or .jsonl")
        if kind != kinds[first]:
            raise UserError(
                f"shard {path!r} is {kind.upper()} but {first!r} is {kinds[first].upper()}; "
                "every shard of --data must be of one kind"
            )
    return paths


def fingerprint(pattern: str) -> str:
    """Changes when any file ``pattern`` matches changes, appears or goes."""
    parts = []
    for path in expand(pattern):
        st = os.stat(path)
        parts.append(f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}")
    return "shards:" + "|".join(parts)


def kind_of_shards(paths: list[str]) -> str:
    return tables.kind_of(paths[0])


def decoded_lines(path: str, notes: list[str]):
    """The lines of ``path`` as str, each with its line ending; bytes that are not UTF-8 are read as
    U+FFFD and the line noted in ``notes``. A leading byte-order mark is dropped."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read data file {path!r} ({exc.strerror}); check --data") from None
    with f:
        for n, raw in enumerate(f, start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                notes.append(f"{path}, line {n}")
                yield raw.decode("utf-8", errors="replace")


class _Counting:
    """Passes rows on to ``sink`` and counts those with text (the sink skips empty ones)."""

    def __init__(self, sink):
        self.sink = sink
        self.count = 0

    def add(self, text: str, label, split, where: str) -> None:
        self.sink.add(text, label, split, where)
        if text.strip():
            self.count += 1


def stream(paths: list[str], kind: str, text_field: str, label_field: str, split_field: str, sink) -> list[str]:
    """Read every file of ``paths`` (all of ``kind``) into ``sink``; return notes about bytes not UTF-8.

    UserError for bad rows (as tables.py), for a shard without rows, and for shards whose columns
    differ from the first one's.
    """
    notes: list[str] = []
    first_columns = None
    for path in paths:
        counting = _Counting(sink)
        lines = decoded_lines(path, notes)
        if kind == "jsonl":
            columns = tables.read_jsonl(lines, path, text_field, label_field, split_field, counting)
            described = "a split field" if columns else "no split field"
        else:
            columns = tables.read_delimited(
                lines, path, tables.DELIMITERS[kind], text_field, label_field, split_field, counting
            )
            described = f"columns {columns}"
        if counting.count == 0:
            raise UserError(f"shard {path!r} has no rows with text; remove it from --data or fill it")
        if first_columns is None:
            first_columns, first_path, first_described = columns, path, described
        elif columns != first_columns:
            raise UserError(
                f"shard {path!r} has {described} but {first_path!r} has {first_described}; "
                "every shard needs the same columns"
            )
    return notes
