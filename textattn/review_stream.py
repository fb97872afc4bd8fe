"""Review files read one line at a time, and the JSON records ``predict`` writes for them.

Two input formats, one review per line:

- ``text``: the line is the review (raw bytes; the model copes with any
  encoding damage). An empty line is an (empty) review.
- ``jsonl``: the line is a JSON object; its review is the string in the text
  field (``text`` unless told otherwise), and its other fields are carried to
  the output record unchanged. A blank line, or ``null`` in the text field, is
  an empty review (with no fields to carry), so output line i still belongs to
  input line i. A field named like one predict writes (``label``, say: the gold
  label of a labelled file) is carried as ``input_<name>``. A line that is not a
  JSON object, lacks the text field or has something other than a string there
  is a UserError naming the file and line.

Nothing here holds more than one line: a file of any size streams through.
``ReviewFile(path, (I, N))`` reads only shard I of N, a byte range, for N
processes that score one file between them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO, Iterator

from textattn.errors import UserError

TEXT = "text"
JSONL = "jsonl"
INPUT_FORMATS = (TEXT, JSONL)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
DEFAULT_TEXT_FIELD = "text"
CHUNK_LINES = 1024  # reviews read, scored and written at a time by predict
# What predict adds to every record; a carried field of the same name is renamed input_<name>.
PREDICTION_FIELDS = ("label", "label_id", "probability", "probabilities", "known_tokens")
CARRIED_PREFIX = "input_"


def input_format_of(path: str | None, requested: str | None) -> str:
    """The format of ``path``: ``requested`` when given, else ``jsonl`` for a .jsonl/.ndjson name, else ``text``."""
    if requested is not None:
        return requested
    if path is not None and path != "-" and path.lower().endswith(JSONL_SUFFIXES):
        return JSONL
    return TEXT


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N), 0 <= I < N; UserError otherwise."""
    index, _, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise UserError(f"--shard takes I/N with 0 <= I < N (0/4 to 3/4 for four processes), got {text!r}")
    return index, count


class ReviewFile:
    """The lines of a file (``-``: stdin), or of its shard I/N: the lines that begin in its I-th N-th by bytes.

    The N shards of a file hold each line exactly once, in order, so scores
    written per shard concatenate (``cat``) into those of the whole file; each
    process reads only its own part. Line numbers in errors are the whole
    file's (counted, for a shard, only when an error needs one).
    """

    def __init__(self, path: str, shard: tuple[int, int] = (0, 1)):
        self.path, self.shard = path, shard
        self.stream = sys.stdin.buffer if path == "-" else self._open(path)
        self._start, self._end = 0, None  # byte range of the lines read; None: to the end
        if shard != (0, 1):
            if path == "-" or not os.path.isfile(path):
                self.close()
                raise UserError(f"--shard needs a regular file to split by bytes, not {describe_path(path)!r}")
            size = os.fstat(self.stream.fileno()).st_size
            self._start, self._end = size * shard[0] // shard[1], size * (shard[0] + 1) // shard[1]
        self._first_offset = self._start  # where the first line read begins (in a shard: after a split line)
        self._lines_before = 0 if self._start == 0 else None

    @staticmethod
    def _open(path: str) -> BinaryIO:
        try:
            return open(path, "rb")
        except OSError as exc:
            raise UserError(
                f"cannot read {path!r} ({exc.strerror}); pass a file with one review per line, or - for stdin"
            ) from None

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(index from 1 among the lines read, the line without its ``\\n`` or ``\\r\\n``) for each line
        read; ``line_number(index)`` is its number in the file.

        The newline that ends the last line does not start another one.
        """
        index = 0
        try:
            for index, line in enumerate(self._raw_lines(), start=1):
                if line.endswith(b"\n"):
                    line = line[:-1]
                yield index, line[:-1] if line.endswith(b"\r") else line
        except OSError as exc:
            raise UserError(
                f"cannot read {describe_path(self.path)!r} after line {self.line_number(index)} ({exc.strerror})"
            ) from None

    def _raw_lines(self) -> Iterator[bytes]:
        """The lines (newline kept) that begin at a byte offset in [start, end)."""
        if self._end is None:
            yield from self.stream
            return
        position = self._start
        if position > 0:  # skip the rest of the line that byte start - 1 belongs to: the shard before owns it
            self.stream.seek(position - 1)
            position += len(self.stream.readline()) - 1
        self._first_offset = position
        while position < self._end:
            line = self.stream.readline()
            if not line:
                return
            yield line
            position += len(line)

    def line_number(self, index: int) -> int:
        """The file's number of the ``index``-th line read (from 1)."""
        return self.lines_before() + index

    def lines_before(self) -> int:
        """How many lines of the file come before the first one read: for a shard, counted once, by reading
        up to it (only errors need it)."""
        if self._lines_before is None:
            count, left = 0, self._first_offset
            with open(self.path, "rb") as f:
                while left > 0:
                    block = f.read(min(left, 1 << 20))
                    if not block:
                        break
                    count, left = count + block.count(b"\n"), left - len(block)
            self._lines_before = count
        return self._lines_before


class BadLine(ValueError):
    """What is wrong with one input line; ``iter_reviews`` says which line."""


def iter_reviews(
    source: ReviewFile, input_format: str = TEXT, text_field: str = DEFAULT_TEXT_FIELD
) -> Iterator[tuple[bytes, dict]]:
    """(review bytes, its record) for each line of ``source``; the record holds the review, as str, in
    ``text_field`` (``text`` for text input) and, for JSONL, the line's other fields."""
    for index, line in source.lines():
        if input_format != JSONL:
            yield line, {text_field: line.decode("utf-8", errors="replace")}
            continue
        try:
            yield parse_jsonl_line(line, text_field)
        except BadLine as exc:
            raise UserError(f"{describe_path(source.path)}: line {source.line_number(index)} {exc}") from None


def parse_jsonl_line(line: bytes, text_field: str) -> tuple[bytes, dict]:
    """(review bytes, record) of one JSONL line; BadLine (its message continues "FILE: line N ...") if bad."""
    if not line.strip():
        return b"", {text_field: ""}
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        raise BadLine("is not UTF-8; JSONL must be UTF-8 text (or use --input-format text)") from None
    except ValueError as exc:
        reason = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise BadLine(f"is not valid JSON ({reason}); each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise BadLine(f"is a JSON {json_type(record)}, not an object; each line must be one JSON object")
    if text_field not in record:
        raise BadLine(f"has no {text_field!r} field; name the review's field with --text-field")
    clash = next(
        (
            name
            for name in PREDICTION_FIELDS
            if name in record and name != text_field and CARRIED_PREFIX + name in record
        ),
        None,
    )
    if clash is not None:
        raise BadLine(
            f"has fields {clash!r} and {CARRIED_PREFIX + clash!r}; predict writes {clash!r} itself and "
            f"carries the input's as {CARRIED_PREFIX + clash!r}: rename one of them"
        )
    text = record[text_field]
    if text is None:
        text = record[text_field] = ""
    elif not isinstance(text, str):
        raise BadLine(f"has a JSON {json_type(text)} in field {text_field!r}, not a string")
    # surrogatepass: a lone surrogate escape (\ud800) is kept here; the model's input replaces it with U+FFFD.
    return text.encode("utf-8", errors="surrogatepass"), record


def json_type(value) -> str:
    """The JSON name of a decoded value's type."""
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), "number")


def output_record(record: dict, prediction: dict, text_field: str, include_text: bool) -> dict:
    """The input ``record``'s fields (its text only with ``include_text``; one named like a prediction
    field as ``input_<name>``), then the ``prediction``'s."""
    carried = {
        (CARRIED_PREFIX + k if k in prediction and k != text_field else k): v
        for k, v in record.items()
        if include_text or k != text_field
    }
    return {**carried, **prediction}


def dumps_line(record: dict) -> str:
    """``record`` as one line of JSON (no newline), UTF-8-encodable.

    Non-ASCII text stays readable; a record holding a lone surrogate (from a
    ``\\ud800`` escape in the input) is written with ASCII escapes instead, so
    it survives the round trip exactly.
    """
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record)
    return line


def describe_path(path: str) -> str:
    """How an error names an input: its path, or ``<stdin>``."""
    return "<stdin>" if path == "-" else os.fspath(path)
