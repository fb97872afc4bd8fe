"""Per-label decision thresholds, each fitted on validation to maximise that label's F1.

A label is predicted when its sigmoid probability is at least its threshold.
Stored in the run directory as thresholds.json ({label name: threshold}), and
inside the export (textattn/multilabel/serve.py).
"""

from __future__ import annotations

import json
import os

import numpy as np

from textattn.atomic_write import write_json
from textattn.errors import UserError

FILE = "thresholds.json"
DEFAULT = 0.5
"""The threshold of a label without positive validation examples, whose F1 cannot be fitted."""


def fit_thresholds(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """float32 (L,): per label, the threshold with the best F1 on (y_true, probabilities), both (N, L).

    Candidates cut between consecutive distinct probabilities (the midpoint, so
    that a validation example sits on one side and nearby ones follow it); on a
    tie the higher threshold wins. A label with no positive example keeps ``DEFAULT``.
    """
    y_true = np.asarray(y_true, np.float64)
    probabilities = np.asarray(probabilities, np.float64)
    return np.asarray([_best_threshold(y_true[:, i], probabilities[:, i]) for i in range(y_true.shape[1])], np.float32)


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    positives = y.sum()
    if positives == 0:
        return DEFAULT
    order = np.argsort(-p, kind="stable")
    p_sorted, true_positives = p[order], np.cumsum(y[order])
    # Predicting the top k means a threshold at p_sorted[k-1]; ties must go together, so k ends a run of equals.
    ends = np.flatnonzero(np.append(p_sorted[1:] != p_sorted[:-1], True))
    predicted = ends + 1
    f1 = 2.0 * true_positives[ends] / (predicted + positives)
    best = int(np.argmax(f1))
    at = p_sorted[ends[best]]
    below = p_sorted[ends[best] + 1] if ends[best] + 1 < len(p_sorted) else None
    return float(at if below is None else (at + below) / 2.0)


def save(run_dir: str, class_names: list[str], thresholds: np.ndarray) -> None:
    write_json(os.path.join(run_dir, FILE), {name: float(t) for name, t in zip(class_names, thresholds)})


def load(run_dir: str, class_names: list[str]) -> list[float]:
    """The run's thresholds in ``class_names`` order; UserError when thresholds.json is missing or disagrees."""
    path = os.path.join(run_dir, FILE)
    try:
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError):
        raise UserError(f"{run_dir!r} has no readable {FILE} (a multi-label run writes it); retrain the run") from None
    if not isinstance(stored, dict) or sorted(stored) != sorted(class_names):
        raise UserError(f"{path}: its labels differ from the run's classes.txt; retrain the run")
    return [float(stored[name]) for name in class_names]
