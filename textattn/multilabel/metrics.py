"""Multi-label figures: micro- and macro-F1, subset accuracy, and a per-label table.

    micro_f1         F1 of every (example, label) decision pooled
    macro_f1         the mean of the labels' F1 (each label counts the same)
    subset_accuracy  share of examples whose predicted label set is exactly the true one
    per_label        per label: threshold, precision, recall, F1, support (true examples)

F1 comes from ``keras.metrics.F1Score`` on the thresholded predictions; a
label never predicted and never true has F1 0 there, as in Keras.
"""

from __future__ import annotations

import keras
import numpy as np


def predicted_sets(probabilities: np.ndarray, thresholds) -> np.ndarray:
    """bool (N, L): label l is predicted where its probability is at least ``thresholds[l]``."""
    return np.asarray(probabilities) >= np.asarray(thresholds, np.float32)[None, :]


def _f1(y_true: np.ndarray, predicted: np.ndarray, average: str | None) -> np.ndarray:
    metric = keras.metrics.F1Score(average=average, threshold=0.5)
    metric.update_state(y_true.astype(np.float32), predicted.astype(np.float32))
    return np.asarray(keras.ops.convert_to_numpy(metric.result()), np.float64)


def multi_label_metrics(y_true: np.ndarray, probabilities: np.ndarray, thresholds, class_names: list[str]) -> dict:
    """The figures above for y_true (N, L) multi-hot and probabilities (N, L), JSON-ready."""
    y_true = np.asarray(y_true) > 0.5
    predicted = predicted_sets(probabilities, thresholds)
    true_positives = (y_true & predicted).sum(axis=0)
    n_predicted, support = predicted.sum(axis=0), y_true.sum(axis=0)
    per_label_f1 = _f1(y_true, predicted, None)
    rows = []
    for i, name in enumerate(class_names):
        rows.append(
            {
                "label": name,
                "threshold": round(float(thresholds[i]), 6),
                "precision": float(true_positives[i] / n_predicted[i]) if n_predicted[i] else 0.0,
                "recall": float(true_positives[i] / support[i]) if support[i] else 0.0,
                "f1": float(per_label_f1[i]),
                "support": int(support[i]),
            }
        )
    return {
        "micro_f1": float(_f1(y_true, predicted, "micro")),
        "macro_f1": float(_f1(y_true, predicted, "macro")),
        "subset_accuracy": float(np.mean(np.all(y_true == predicted, axis=1))) if len(y_true) else 0.0,
        "examples": int(len(y_true)),
        "per_label": rows,
    }


def format_table(figures: dict) -> str:
    """The per-label table and the summary figures as aligned text lines."""
    width = max([5] + [len(row["label"]) for row in figures["per_label"]])
    lines = [f"{'label':<{width}}  threshold  precision  recall      f1  support"]
    for row in figures["per_label"]:
        lines.append(
            f"{row['label']:<{width}}  {row['threshold']:9.3f}  {row['precision']:9.4f}  {row['recall']:6.4f}"
            f"  {row['f1']:6.4f}  {row['support']:7d}"
        )
    lines.append(
        f"micro-F1 {figures['micro_f1']:.4f}  macro-F1 {figures['macro_f1']:.4f}  "
        f"subset accuracy {figures['subset_accuracy']:.4f}  ({figures['examples']} examples)"
    )
    return "\n".join(lines)
