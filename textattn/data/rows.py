"""Labelled rows as read from a file or a folder tree, before labels become ids.

A reader (``tables``, ``folders``, ``tfds_source``) returns ``Rows``: each
kept example's text, raw label (a string, or an int from JSON/TFDS), split
(``train``, ``validation``, ``test`` or None when the source names none) and
where it came from (``FILE, line N`` or a file path), for one-line errors.
``textattn.data.labelled`` turns them into class ids and checks them.
"""

from __future__ import annotations

import dataclasses

from textattn.errors import UserError

SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation", "dev": "validation", "test": "test"}
"""Accepted values of a split column (case-insensitive) and the split each one means."""


@dataclasses.dataclass
class Rows:
    """Examples in source order; the four lists have one entry per kept example."""

    origin: str
    """The file or folder read, for messages."""
    texts: list[str] = dataclasses.field(default_factory=list)
    labels: list = dataclasses.field(default_factory=list)
    splits: list = dataclasses.field(default_factory=list)
    where: list[str] = dataclasses.field(default_factory=list)
    skipped_empty: list[str] = dataclasses.field(default_factory=list)
    """Where each example whose text was empty (and so was skipped) was."""
    not_utf8: list[str] = dataclasses.field(default_factory=list)
    """Where each line or file with bytes that are not UTF-8 (read with U+FFFD) was."""

    def add(self, text: str, label, split: str | None, where: str) -> None:
        if not text.strip():
            self.skipped_empty.append(where)
            return
        self.texts.append(text)
        self.labels.append(label)
        self.splits.append(split)
        self.where.append(where)

    def notes(self) -> list[str]:
        """One line per thing the reader let pass but the user should know about."""
        out = []
        if self.skipped_empty:
            out.append(
                f"{self.origin}: skipped {len(self.skipped_empty)} example(s) whose text is empty "
                f"(first: {self.skipped_empty[0]})"
            )
        if self.not_utf8:
            out.append(
                f"{self.origin}: {len(self.not_utf8)} line(s) or file(s) had bytes that are not UTF-8, "
                f"read as U+FFFD (first: {self.not_utf8[0]})"
            )
        return out


def decode_lines(data: bytes) -> tuple[str, list[int]]:
    """``data`` decoded as UTF-8 (a leading byte-order mark dropped), and the 1-based numbers of the
    lines that held bytes that are not UTF-8 (each such byte read as U+FFFD).

    Decoded line by line: a newline byte never occurs inside a UTF-8 sequence,
    and a bad line costs one extra decode, not a rescan of the file.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, bad = data.split(b"\n"), []
    for i, line in enumerate(lines):
        try:
            lines[i] = line.decode("utf-8")
        except UnicodeDecodeError:
            lines[i] = line.decode("utf-8", errors="replace")
            bad.append(i + 1)
    return "\n".join(lines), bad


def split_of(value, where: str, field: str) -> str:
    """The split a split-column value names; anything else raises UserError."""
    name = SPLIT_NAMES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if name is None:
        raise UserError(
            f"{where}: {field} is {value!r}; use train, validation (or val, dev) or test, "
            f"or leave the {field!r} column out to carve the splits from the data"
        )
    return name
