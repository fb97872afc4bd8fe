"""Classify raw reviews with a run directory or an exported SavedModel.

    python -m textattn predict MODEL "a great film" "dull and far too long"
    python -m textattn predict MODEL --file reviews.txt --jsonl
    cat reviews.txt | python -m textattn predict MODEL --file -

MODEL is either a run directory (the serving computation is built in-process,
the same one ``export`` writes) or a directory written by ``export``. Each
line of ``--file`` is one review; an empty line is an (empty) review too, so
output line i always belongs to input line i.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from textattn import export, runs
from textattn.errors import UserError

BATCH_SIZE = 256
PREVIEW_CHARS = 60


class Predictor:
    """Raw reviews -> positive-class probabilities, from a run directory or an exported SavedModel.

    ``predictor(texts)`` takes a list of review bytes (or str) and returns
    (probabilities float32 (n,), labels int32 (n,)); ``predictor.known_tokens``
    then holds int32 (n,) (-1 from an export made before that output existed).
    """

    def __init__(self, path: str):
        kind, self._loaded = export.open_model_path(path)
        if kind == "export":
            self._serve = getattr(self._loaded, export.SERVE, None)
            if self._serve is None:
                raise UserError(f"the SavedModel in {path!r} has no '{export.SERVE}' endpoint; "
                                "export it with `python -m textattn export`")
        else:
            self._serve = export.serving_function(path)

    def __call__(self, texts, batch_size: int = BATCH_SIZE):
        import tensorflow as tf

        self.known_tokens = np.zeros(0, np.int32)
        if not texts:
            return np.zeros(0, np.float32), np.zeros(0, np.int32)
        probabilities, labels, known = [], [], []
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            out = self._serve(tf.constant(batch, dtype=tf.string))
            probabilities.append(out[export.PROBABILITY].numpy())
            labels.append(out[export.LABEL].numpy())
            known.append(out[export.KNOWN_TOKENS].numpy() if export.KNOWN_TOKENS in out
                         else np.full(len(batch), -1, np.int32))
        self.known_tokens = np.concatenate(known)
        return np.concatenate(probabilities), np.concatenate(labels)


def read_reviews(path: str) -> list[bytes]:
    """One review per line of ``path`` ("-": stdin), as raw bytes (the model copes with any encoding damage)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise UserError(f"cannot read {path!r} ({exc.strerror}); pass a text file with one review per line, "
                        "or - for stdin") from None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line does not start another review
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


UNKNOWN = "unknown"


def label_name(label_id: int, known_tokens: int) -> str:
    """The class name, or ``unknown`` when the model saw no evidence (no in-vocabulary token)."""
    return UNKNOWN if known_tokens == 0 else export.LABEL_NAMES[label_id]


def format_plain(text: str, label_id: int, probability: float, known_tokens: int = -1) -> str:
    preview = " ".join(text.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 3] + "..."
    return f"{label_name(label_id, known_tokens):<8}  {probability:.4f}  {preview}"


def format_jsonl(text: str, label_id: int, probability: float, known_tokens: int = -1) -> str:
    record = {"text": text, "label": label_name(label_id, known_tokens), "label_id": label_id,
              "probability": probability}
    if known_tokens >= 0:
        record["known_tokens"] = known_tokens
    return json.dumps(record, ensure_ascii=False)


def run_predict(model: str, texts: list[str], file: str | None = None, jsonl: bool = False, out=None) -> int:
    """Print one line per review: label, positive-class probability and the review (or JSON with --jsonl)."""
    out = out or sys.stdout
    if not texts and file is None:
        raise UserError("no reviews given; pass TEXT arguments or --file PATH (--file - reads stdin)")
    # os.fsencode restores the exact bytes of an argument that is not valid UTF-8.
    reviews = [os.fsencode(t) for t in texts]
    if file is not None:
        reviews += read_reviews(file)
    predictor = Predictor(model)
    probabilities, labels = predictor(reviews)
    formatter = format_jsonl if jsonl else format_plain
    for review, label, probability, known in zip(reviews, labels, probabilities, predictor.known_tokens):
        text = review.decode("utf-8", errors="replace")
        print(formatter(text, int(label), float(probability), int(known)), file=out)
    out.flush()
    return 0
