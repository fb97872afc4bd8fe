"""What ``predict`` and ``explain`` show of a multi-label model: each text's label set with probabilities.

b 0.6748, a 0.6677  apple banana the film        (plain: labels by probability, then the text)
{"labels": ["b", "a"], "probabilities": {"a": 0.67, "b": 0.67, "c": 0.61}, "known_tokens": 4}
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from textattn import review_stream, runs, serving
from textattn.errors import UserError
from textattn.multilabel.serve import PREDICTED

NO_LABELS = "(no label)"
PREVIEW_CHARS = 60


def is_multi_label(kind: str, path: str) -> bool:
    """Whether MODEL (``kind`` from ``serving.open_model_path``) is multi-label: its config, or its export's metadata."""
    if kind != "export":
        return bool(runs.load_config(path).data.multi_label)
    try:
        return bool(runs.read_json(os.path.join(path, serving.METADATA)).get("multi_label"))
    except (OSError, ValueError):
        raise UserError(f"{path!r} has no readable {serving.METADATA}; re-export the run") from None


def label_set(class_names: list[str], probabilities: np.ndarray, predicted: np.ndarray) -> list[tuple[str, float]]:
    """One text's predicted (label, probability) pairs, most probable first."""
    chosen = [(class_names[i], float(probabilities[i])) for i in np.flatnonzero(predicted)]
    return sorted(chosen, key=lambda pair: -pair[1])


@dataclasses.dataclass
class MultiLabelPredictions:
    """``serve``'s answer for n texts: probabilities float32 (n, L), predicted bool (n, L), known_tokens int32 (n,)."""

    class_names: list[str]
    probabilities: np.ndarray
    predicted: np.ndarray
    known_tokens: np.ndarray

    def fields(self) -> list[dict]:
        """Per text: {"labels": names by probability, "probabilities": by label name, "known_tokens"}."""
        return [
            {
                "labels": [name for name, _ in label_set(self.class_names, p, chosen)],
                "probabilities": dict(zip(self.class_names, p.tolist())),
                "known_tokens": int(known),
            }
            for p, chosen, known in zip(self.probabilities, self.predicted, self.known_tokens)
        ]

    def plain(self, i: int, text: str) -> str:
        labels = label_set(self.class_names, self.probabilities[i], self.predicted[i])
        shown = ", ".join(f"{name} {p:.4f}" for name, p in labels) or NO_LABELS
        preview = " ".join(text.split())
        if len(preview) > PREVIEW_CHARS:
            preview = preview[: PREVIEW_CHARS - 3] + "..."
        return f"{shown}  {preview}"


def collect(serve, texts, batch_size: int, class_names: list[str]) -> MultiLabelPredictions:
    """Call ``serve`` (a multi-label endpoint) on ``texts`` in batches of ``batch_size``."""
    import tensorflow as tf

    parts = {key: [] for key in (serving.PROBABILITIES, PREDICTED, serving.KNOWN_TOKENS)}
    for start in range(0, len(texts), batch_size):
        out = serve(tf.constant(texts[start : start + batch_size], dtype=tf.string))
        for key in parts:
            parts[key].append(out[key].numpy())
    n = len(class_names)
    empty = {
        serving.PROBABILITIES: np.zeros((0, n), np.float32),
        PREDICTED: np.zeros((0, n), bool),
        serving.KNOWN_TOKENS: np.zeros(0, np.int32),
    }
    joined = {key: np.concatenate(values) if values else empty[key] for key, values in parts.items()}
    return MultiLabelPredictions(
        class_names, joined[serving.PROBABILITIES], joined[PREDICTED], joined[serving.KNOWN_TOKENS]
    )


def output_lines(style, records: list[dict], predictions: MultiLabelPredictions) -> list[str]:
    """``predict.OutputStyle.lines`` for a multi-label model."""
    if not (style.to_file or style.jsonl):
        return [predictions.plain(i, record.get(style.text_field, "")) for i, record in enumerate(records)]
    include_text = style.include_text or not style.to_file
    return [
        review_stream.dumps_line(review_stream.output_record(record, fields, style.text_field, include_text))
        for record, fields in zip(records, predictions.fields())
    ]
