"""Classification metrics on one split, computed with Keras metrics.

``classification_metrics`` takes integer labels of shape (N,) and the model's
probabilities: (N, 2) from a softmax head (column 1 is the positive class) or
(N, 1) / (N,) from a sigmoid head.
"""

from __future__ import annotations

import keras
import numpy as np

THRESHOLD = 0.5
AUC_THRESHOLDS = 1000


def positive_probability(probs: np.ndarray) -> np.ndarray:
    """P(positive) of shape (N,) from (N, 2) softmax or (N, 1) / (N,) sigmoid output."""
    probs = np.asarray(probs, dtype="float32")
    if probs.ndim == 2 and probs.shape[1] == 2:
        return probs[:, 1]
    if probs.ndim == 2 and probs.shape[1] == 1:
        return probs[:, 0]
    if probs.ndim == 1:
        return probs
    raise ValueError(f"expected probabilities of shape (N, 2), (N, 1) or (N,), got {probs.shape}")


def _result(metric, *args) -> float:
    metric.update_state(*args)
    return float(np.asarray(metric.result()))


def classification_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict:
    """accuracy, loss, precision, recall, f1, auc and the confusion matrix.

    The confusion matrix is ``[[TN, FP], [FN, TP]]`` (rows: true class,
    columns: predicted class). A softmax head predicts the arg-max class, a
    sigmoid head "positive" above 0.5; both agree with Precision/Recall's 0.5
    threshold on P(positive).
    """
    import tensorflow as tf

    y_true = np.asarray(y_true).astype("int32").reshape(-1)
    probs = np.asarray(probs, dtype="float32")
    softmax = probs.ndim == 2 and probs.shape[1] == 2
    p_pos = positive_probability(probs)
    if len(p_pos) != len(y_true):
        raise ValueError(f"{len(y_true)} labels but {len(p_pos)} predictions")

    if softmax:
        accuracy = _result(keras.metrics.SparseCategoricalAccuracy(), y_true, probs)
        loss = float(keras.losses.SparseCategoricalCrossentropy()(y_true, probs))
        predicted = np.argmax(probs, axis=1)
    else:
        y_col, p_col = y_true.reshape(-1, 1).astype("float32"), p_pos.reshape(-1, 1)
        accuracy = _result(keras.metrics.BinaryAccuracy(threshold=THRESHOLD), y_col, p_col)
        loss = float(keras.losses.BinaryCrossentropy()(y_col, p_col))
        predicted = (p_pos > THRESHOLD).astype("int32")

    precision = _result(keras.metrics.Precision(thresholds=THRESHOLD), y_true, p_pos)
    recall = _result(keras.metrics.Recall(thresholds=THRESHOLD), y_true, p_pos)
    # One column (the positive class), so "micro" is the binary F1 of that class.
    f1 = _result(keras.metrics.F1Score(average="micro", threshold=THRESHOLD),
                 y_true.reshape(-1, 1).astype("float32"), p_pos.reshape(-1, 1))
    auc = _result(keras.metrics.AUC(num_thresholds=AUC_THRESHOLDS, curve="ROC"), y_true, p_pos)
    confusion = tf.math.confusion_matrix(y_true, predicted, num_classes=2).numpy()
    return {
        "accuracy": accuracy,
        "loss": loss,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc,
        "confusion_matrix": confusion.astype(int).tolist(),
        "examples": int(len(y_true)),
    }
