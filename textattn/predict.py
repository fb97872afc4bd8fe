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

import dataclasses
import json
import os
import sys

import numpy as np

from textattn import export, runs
from textattn.errors import UserError

BATCH_SIZE = 256
PREVIEW_CHARS = 60


@dataclasses.dataclass
class Predictions:
    """What ``serve`` answered for n reviews of a C-class model.

    ``probabilities`` float32 (n, C); ``label_ids`` int32 (n,), -1 where the model
    saw no evidence; ``labels`` the class names (``export.NO_LABEL`` where -1);
    ``known_tokens`` int32 (n,) (-1 from an export made before that output existed).
    """

    class_names: list[str]
    probabilities: np.ndarray
    label_ids: np.ndarray
    labels: list[str]
    known_tokens: np.ndarray

    @property
    def confidence(self) -> np.ndarray:
        """float32 (n,): the probability of each predicted class (1/C where there is none)."""
        rows = np.arange(len(self.label_ids))
        return np.where(self.label_ids >= 0, self.probabilities[rows, np.maximum(self.label_ids, 0)],
                        np.float32(1.0 / len(self.class_names))).astype(np.float32)


class Predictor:
    """Raw reviews -> class probabilities and names, from a run directory or an exported SavedModel.

    ``predictor(texts)`` takes a list of review bytes (or str) and returns ``Predictions``.
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
        self.class_names = class_names_of(kind, path)

    def __call__(self, texts, batch_size: int = BATCH_SIZE) -> Predictions:
        import tensorflow as tf

        parts = {key: [] for key in ("probabilities", "label_ids", "known_tokens")}
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            out = self._serve(tf.constant(batch, dtype=tf.string))
            probabilities, label_ids = answer_arrays(out)
            parts["probabilities"].append(probabilities)
            parts["label_ids"].append(label_ids)
            parts["known_tokens"].append(out[export.KNOWN_TOKENS].numpy() if export.KNOWN_TOKENS in out
                                         else np.full(len(batch), -1, np.int32))
        c = len(self.class_names)
        probabilities = np.concatenate(parts["probabilities"]) if texts else np.zeros((0, c), np.float32)
        label_ids = np.concatenate(parts["label_ids"]) if texts else np.zeros(0, np.int32)
        known = np.concatenate(parts["known_tokens"]) if texts else np.zeros(0, np.int32)
        labels = [self.class_names[i] if i >= 0 else export.NO_LABEL for i in label_ids]
        return Predictions(self.class_names, probabilities, label_ids, labels, known)


def answer_arrays(out) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 (n, C), label ids int32 (n,)) from a serve answer, of either export format.

    A format 1 export answered ``probability`` (positive class) and an int ``label``
    (0 also when it saw no evidence: known_tokens 0).
    """
    if export.PROBABILITIES in out:
        return out[export.PROBABILITIES].numpy(), out[export.LABEL_ID].numpy()
    p = out[export.PROBABILITY].numpy()
    label_ids = out[export.LABEL].numpy().astype(np.int32)
    if export.KNOWN_TOKENS in out:
        label_ids = np.where(out[export.KNOWN_TOKENS].numpy() == 0, export.NO_LABEL_ID, label_ids)
    return np.stack([1.0 - p, p], axis=1).astype(np.float32), label_ids


def class_names_of(kind: str, path: str) -> list[str]:
    """The class names of MODEL (``kind`` from ``export.open_model_path``): a run's, or an export's metadata.json
    (format 1: its "labels")."""
    if kind != "export":
        return runs.load_class_names(path)
    try:
        metadata = runs.read_json(os.path.join(path, export.METADATA))
    except (OSError, ValueError):
        raise UserError(f"{path!r} has no readable {export.METADATA}; re-export the run") from None
    names = metadata.get("class_names")
    if names is None and isinstance(metadata.get("labels"), dict):
        names = [metadata["labels"][key] for key in sorted(metadata["labels"], key=int)]
    if not names:
        raise UserError(f"{export.METADATA} in {path!r} names no classes; re-export the run")
    return [str(name) for name in names]


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


def format_plain(text: str, label: str, probability: float) -> str:
    """The class name, its probability and the start of the review."""
    preview = " ".join(text.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 3] + "..."
    return f"{label:<8}  {probability:.4f}  {preview}"


def format_jsonl(text: str, label: str, label_id: int, probability: float, probabilities: dict,
                 known_tokens: int = -1) -> str:
    record = {"text": text, "label": label, "label_id": label_id, "probability": probability,
              "probabilities": probabilities}
    if known_tokens >= 0:
        record["known_tokens"] = known_tokens
    return json.dumps(record, ensure_ascii=False)


def run_predict(model: str, texts: list[str], file: str | None = None, jsonl: bool = False, out=None) -> int:
    """Print one line per review: class name, its probability and the review (or JSON with --jsonl).

    A review without evidence (no in-vocabulary token) prints ``unknown`` with
    probability 1/C (0.5 for two classes); in JSON its label_id is -1.
    """
    out = out or sys.stdout
    if not texts and file is None:
        raise UserError("no reviews given; pass TEXT arguments or --file PATH (--file - reads stdin)")
    # os.fsencode restores the exact bytes of an argument that is not valid UTF-8.
    reviews = [os.fsencode(t) for t in texts]
    if file is not None:
        reviews += read_reviews(file)
    predictions = Predictor(model)(reviews)
    names = predictions.class_names
    for i, review in enumerate(reviews):
        text = review.decode("utf-8", errors="replace")
        label, confidence = predictions.labels[i], float(predictions.confidence[i])
        if jsonl:
            probabilities = {name: float(p) for name, p in zip(names, predictions.probabilities[i])}
            line = format_jsonl(text, label, int(predictions.label_ids[i]), confidence, probabilities,
                                int(predictions.known_tokens[i]))
        else:
            line = format_plain(text, label, confidence)
        print(line, file=out)
    out.flush()
    return 0
