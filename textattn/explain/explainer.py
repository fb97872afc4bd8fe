"""Explain raw reviews with a run directory or an exported SavedModel.

``Explainer(MODEL)(texts)`` gives one ``Explanation`` per review. A run
directory is explained in-process (``endpoint.explain_function``); an export
through its ``explain`` endpoint, with TensorFlow alone.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from textattn import runs, serving
from textattn.explain import endpoint
from textattn.explain.meaning import describe
from textattn.multilabel import predictions as multi_label
from textattn.predict import answer_arrays, class_names_of

BATCH_SIZE = 32


@dataclasses.dataclass
class Explanation:
    """One review: the answer, its tokens (padding dropped) with their weights, and n-gram rows.

    ``label`` is the predicted class name (``serving.NO_LABEL`` without evidence, label_id -1)
    and ``probability`` its probability. ``weights`` are non-negative and sum to 1
    (0 tokens: empty); ``ngrams`` holds (n-gram, signed contribution) pairs,
    largest |contribution| first, for ``ngram`` and ``hybrid`` models and is
    empty otherwise: toward ``ngram_toward`` (two classes: the second class,
    against the first; more: the predicted class, against the others' mean).
    """

    text: str
    label: str
    label_id: int
    probability: float
    known_tokens: int
    tokens: list[str]
    weights: list[float]
    ngrams: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    ngram_toward: str = ""
    ngram_against: str = ""
    ngram_measure: str = "log-odds"
    """What a contribution adds to: the log-odds (two classes), or log p(predicted) minus the mean log p."""
    labels: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    """Multi-label models: the predicted (label, probability) pairs, most probable first; ``label`` joins
    their names, ``probability`` is the first's (``multilabel.predictions.NO_LABELS`` and 0 for none)."""

    def top(self, k: int) -> list[tuple[int, str, float]]:
        """The ``k`` heaviest token occurrences as (position, token, weight), heaviest first."""
        order = sorted(range(len(self.tokens)), key=lambda i: (-self.weights[i], i))
        return [(i, self.tokens[i], self.weights[i]) for i in order[: max(k, 0)]]


class Explainer:
    """Raw reviews (bytes or str) -> list of ``Explanation``; ``meaning`` says what a weight is."""

    def __init__(self, path: str):
        kind, self._loaded = serving.open_model_path(path)
        if kind == "export":
            self._explain = serving.export_endpoint(
                self._loaded,
                path,
                endpoint.EXPLAIN,
                " (exported before it existed); re-export the run with "
                "`python -m textattn export RUN_DIR OUT_DIR --overwrite`, or explain the run directory itself",
            )
            self.meaning = _export_meaning(path)
        else:
            self._explain = endpoint.explain_function(path)
            self.meaning = describe(runs.load_config(path))
        self.class_names = class_names_of(kind, path)

    def __call__(self, texts, batch_size: int = BATCH_SIZE) -> list[Explanation]:
        result = []
        for start in range(0, len(texts), batch_size):
            batch = [
                t.encode("utf-8", "surrogateescape") if isinstance(t, str) else t
                for t in texts[start : start + batch_size]
            ]
            answer = self._explain(tf.constant(batch, dtype=tf.string))
            multi = multi_label.PREDICTED in answer
            probabilities, label_ids = (
                answer_arrays(answer) if not multi else (answer[serving.PROBABILITIES].numpy(), np.full(len(batch), -1))
            )
            out = {key: value.numpy() for key, value in answer.items()}
            for i, raw in enumerate(batch):
                label_id = int(label_ids[i])
                labels = (
                    multi_label.label_set(self.class_names, probabilities[i], out[multi_label.PREDICTED][i])
                    if multi
                    else []
                )
                real = out[endpoint.TOKENS][i] != b""
                ngrams = []
                if endpoint.NGRAMS in out:
                    present = out[endpoint.NGRAMS][i] != b""
                    ngrams = [
                        (g.decode("utf-8", "replace"), float(c))
                        for g, c in zip(out[endpoint.NGRAMS][i][present], out[endpoint.NGRAM_CONTRIBUTIONS][i][present])
                    ]
                result.append(
                    Explanation(
                        text=raw.decode("utf-8", errors="replace"),
                        label=(", ".join(name for name, _ in labels) or multi_label.NO_LABELS)
                        if multi
                        else self.class_names[label_id]
                        if label_id >= 0
                        else serving.NO_LABEL,
                        label_id=label_id,
                        probability=(labels[0][1] if labels else 0.0)
                        if multi
                        else float(probabilities[i, label_id])
                        if label_id >= 0
                        else 1.0 / len(self.class_names),
                        labels=labels,
                        known_tokens=int(out[serving.KNOWN_TOKENS][i]),
                        tokens=[t.decode("utf-8", "replace") for t in out[endpoint.TOKENS][i][real]],
                        weights=[float(w) for w in out[endpoint.WEIGHTS][i][real]],
                        ngrams=ngrams,
                        **self._ngram_direction(label_id),
                    )
                )
        return result

    def _ngram_direction(self, label_id: int) -> dict:
        """Which class an n-gram's positive contribution points toward, and against (``ngram_evidence``)."""
        names = self.class_names
        if len(names) == 2:
            return {"ngram_toward": names[1], "ngram_against": names[0]}
        if label_id < 0:
            return {}
        return {
            "ngram_toward": names[label_id],
            "ngram_against": "the other classes",
            "ngram_measure": "log p - mean log p",
        }


def _export_meaning(path: str) -> str:
    try:
        return runs.read_json(os.path.join(path, serving.METADATA))["explain"]["weights"]
    except (OSError, ValueError, KeyError, TypeError):
        return "token weights (metadata.json does not say which kind)"
