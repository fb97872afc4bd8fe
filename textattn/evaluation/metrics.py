"""Classification metrics on one split, computed with Keras metrics.

``classification_metrics`` takes integer labels of shape (N,) and the model's
probabilities: (N, 2) from a softmax head (column 1 is the positive class),
(N, 1) / (N,) from a sigmoid head, or (N, C) with C > 2 from a softmax head
over C classes.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

THRESHOLD = 0.5
AUC_THRESHOLDS = 1000
BINARY_CLASS_NAMES = ("negative", "positive")


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


def _class_names(class_names, num_classes: int) -> list[str]:
    """``class_names`` as a list of str; default: negative/positive for 2 classes, "0".."C-1" otherwise."""
    if class_names is None:
        return list(BINARY_CLASS_NAMES) if num_classes == 2 else [str(i) for i in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes")
    return names


def per_class_metrics(y_true: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> dict:
    """{"per_class": [{class, precision, recall, f1, support}], "macro_f1"} from predicted labels.

    Args:
        y_true: int array (N,) of true classes in [0, C).
        predicted: int array (N,) of predicted classes in [0, C).
        class_names: C names, in class index order.

    Keras metrics on one-hot labels and one-hot predictions, so every number
    agrees with the confusion matrix: Precision/Recall with ``class_id`` and
    F1Score(average=None). A class never predicted has precision 0, one never
    present recall 0 (and support 0). ``macro_f1`` is the unweighted mean of
    the per-class F1 scores.
    """
    num_classes = len(class_names)
    eye = np.eye(num_classes, dtype="float32")
    true_onehot, pred_onehot = eye[y_true], eye[predicted]  # (N, C) each
    f1_metric = keras.metrics.F1Score(average=None, threshold=THRESHOLD)
    f1_metric.update_state(true_onehot, pred_onehot)
    f1 = np.asarray(f1_metric.result(), dtype="float64")  # (C,)
    support = np.bincount(y_true, minlength=num_classes)
    rows = []
    for k, name in enumerate(class_names):
        rows.append(
            {
                "class": name,
                "precision": _result(
                    keras.metrics.Precision(thresholds=THRESHOLD, class_id=k), true_onehot, pred_onehot
                ),
                "recall": _result(keras.metrics.Recall(thresholds=THRESHOLD, class_id=k), true_onehot, pred_onehot),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
        )
    return {"per_class": rows, "macro_f1": float(np.mean(f1))}


def _check_labels(y_true: np.ndarray, num_classes: int) -> None:
    if len(y_true) and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] for {num_classes} classes")


def multiclass_metrics(y_true: np.ndarray, probs: np.ndarray, class_names=None) -> dict:
    """accuracy, loss, per_class, macro_f1, confusion_matrix and examples for (N, C) softmax output.

    The predicted class is the arg-max column; the confusion matrix is C x C
    with rows the true class and columns the predicted class.
    """
    y_true = np.asarray(y_true).astype("int32").reshape(-1)
    probs = np.asarray(probs, dtype="float32")
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"expected probabilities of shape (N, C), got {probs.shape}")
    num_classes = probs.shape[1]
    names = _class_names(class_names, num_classes)
    if len(probs) != len(y_true):
        raise ValueError(f"{len(y_true)} labels but {len(probs)} predictions")
    _check_labels(y_true, num_classes)

    predicted = np.argmax(probs, axis=1)
    confusion = tf.math.confusion_matrix(y_true, predicted, num_classes=num_classes).numpy()
    return {
        "accuracy": _result(keras.metrics.SparseCategoricalAccuracy(), y_true, probs),
        "loss": float(keras.losses.SparseCategoricalCrossentropy()(y_true, probs)),
        **per_class_metrics(y_true, predicted, names),
        "confusion_matrix": confusion.astype(int).tolist(),
        "examples": int(len(y_true)),
        **per_class_metrics(y_true, predicted, names),
    }


def classification_metrics(y_true: np.ndarray, probs: np.ndarray, class_names=None) -> dict:
    """Metrics of predicted probabilities against integer labels (N,).

    Binary ((N, 2), (N, 1) or (N,)): accuracy, loss, precision, recall, f1,
    auc (of the positive class), the confusion matrix ``[[TN, FP], [FN, TP]]``
    (rows: true class, columns: predicted class), examples, and
    ``per_class`` / ``macro_f1`` as in ``per_class_metrics``. A softmax head
    predicts the arg-max class, a sigmoid head "positive" above 0.5; both
    agree with Precision/Recall's 0.5 threshold on P(positive).

    C > 2 classes ((N, C)): see ``multiclass_metrics``.

    ``class_names`` names the classes in index order (default: negative,
    positive for two classes, "0".."C-1" for more).
    """
    probs = np.asarray(probs, dtype="float32")
    if probs.ndim == 2 and probs.shape[1] > 2:
        return multiclass_metrics(y_true, probs, class_names)
    y_true = np.asarray(y_true).astype("int32").reshape(-1)
    names = _class_names(class_names, 2)
    softmax = probs.ndim == 2 and probs.shape[1] == 2
    p_pos = positive_probability(probs)
    if len(p_pos) != len(y_true):
        raise ValueError(f"{len(y_true)} labels but {len(p_pos)} predictions")
    _check_labels(y_true, 2)

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
    f1 = _result(
        keras.metrics.F1Score(average="micro", threshold=THRESHOLD),
        y_true.reshape(-1, 1).astype("float32"),
        p_pos.reshape(-1, 1),
    )
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
        **per_class_metrics(y_true, predicted, names),
    }
