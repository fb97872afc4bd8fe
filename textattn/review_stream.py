"""Review files read one line at a time, and the JSON records ``predict`` writes for them.

Two input formats, one review per line:

- ``text``: the line is the review (raw bytes; the model copes with any
  encoding damage). An empty line is an (empty) review.
- ``jsonl``: the line is a JSON object; its review is the string in the text
  field (``text`` unless told otherwise), and its other fields are carried to
  the output record unchanged. A blank line, or ``null`` in the text field, is
  an empty review (with no fields to carry), so output line i still belongs to
  input line i. A line that is not a JSON object, lacks the text field or has
  something other than a string there, or a field that predict writes itself
  (``label``, ``probability``...), is a UserError naming the file and line.

Nothing here holds more than one line: a file of any size streams through.
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
# What predict adds to every record; a carried field of the same name would be lost.
PREDICTION_FIELDS = ("label", "label_id", "probability", "probabilities", "known_tokens")


def input_format_of(path: str | None, requested: str | None) -> str:
    """The format of ``path``: ``requested`` when given, else ``jsonl`` for a .jsonl/.ndjson name, else ``text``."""
    if requested is not None:
        return requested
    if path is not None and path != "-" and path.lower().endswith(JSONL_SUFFIXES):
        return JSONL
    return TEXT


def open_input(path: str) -> BinaryIO:
    """The file at ``path`` ("-": stdin) opened for binary reading; UserError where it cannot be read."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read {path!r} ({exc.strerror}); pass a file with one review per line, "
                        "or - for stdin") from None


def iter_lines(stream: BinaryIO, path: str) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, the line without its ``\\n`` or ``\\r\\n``) for each line of ``stream``.

    The newline that ends the last line does not start another one.
    """
    number = 0
    try:
        for number, line in enumerate(stream, start=1):
            if line.endswith(b"\n"):
                line = line[:-1]
            yield number, line[:-1] if line.endswith(b"\r") else line
    except OSError as exc:
        raise UserError(f"cannot read {describe_path(path)!r} after line {number} ({exc.strerror})") from None


def iter_reviews(stream: BinaryIO, path: str, input_format: str = TEXT,
                 text_field: str = DEFAULT_TEXT_FIELD) -> Iterator[tuple[bytes, dict]]:
    """(review bytes, its record) for each line of ``stream``; the record holds the review, as str, in
    ``text_field`` (``text`` for text input) and, for JSONL, the line's other fields."""
    for number, line in iter_lines(stream, path):
        if input_format == JSONL:
            yield parse_jsonl_line(line, text_field, f"{describe_path(path)}: line {number}")
        else:
            yield line, {text_field: line.decode("utf-8", errors="replace")}


def parse_jsonl_line(line: bytes, text_field: str, where: str) -> tuple[bytes, dict]:
    """(review bytes, record) of one JSONL line; ``where`` ("FILE: line N") starts the UserError of a bad line."""
    if not line.strip():
        return b"", {text_field: ""}
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        raise UserError(f"{where} is not UTF-8; JSONL must be UTF-8 text (or use --input-format text)") from None
    except ValueError as exc:
        reason = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise UserError(f"{where} is not valid JSON ({reason}); each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise UserError(f"{where} is a JSON {json_type(record)}, not an object; each line must be one JSON object")
    if text_field not in record:
        raise UserError(f"{where} has no {text_field!r} field; name the review's field with --text-field")
    clash = next((name for name in PREDICTION_FIELDS if name in record and name != text_field), None)
    if clash is not None:
        raise UserError(f"{where} has a field {clash!r}, which predict writes itself; rename it in the input "
                        f"(predict adds {', '.join(PREDICTION_FIELDS)})")
    text = record[text_field]
    if text is None:
        text = record[text_field] = ""
    elif not isinstance(text, str):
        raise UserError(f"{where}: field {text_field!r} is a JSON {json_type(text)}, not a string")
    # surrogatepass: a lone surrogate escape (\ud800) is kept here; the model's input replaces it with U+FFFD.
    return text.encode("utf-8", errors="surrogatepass"), record


def json_type(value) -> str:
    """The JSON name of a decoded value's type."""
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), "number")


def output_record(record: dict, prediction: dict, text_field: str, include_text: bool) -> dict:
    """The input ``record``'s fields (its text only with ``include_text``), then the ``prediction``'s."""
    carried = record if include_text else {k: v for k, v in record.items() if k != text_field}
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
