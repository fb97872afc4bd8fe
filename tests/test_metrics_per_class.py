"""Per-class precision/recall/F1, macro F1 and N-class metrics, checked by hand."""

import math

import numpy as np
import pytest

from textattn.evaluation.metrics import classification_metrics

# Nine examples, three classes; each row's arg-max is PRED.
Y3 = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
PRED3 = np.array([0, 0, 1, 1, 2, 2, 2, 0, 1])
# Rows: true class; columns: predicted class.
CONFUSION3 = [[2, 1, 0], [0, 1, 1], [1, 1, 2]]
# Class 0: TP 2 of 3 predicted, 3 true; class 1: TP 1 of 3 predicted, 2 true; class 2: TP 2 of 3, 4 true.
PRECISION3 = [2 / 3, 1 / 3, 2 / 3]
RECALL3 = [2 / 3, 1 / 2, 1 / 2]
F1_3 = [2 / 3, 2 / 5, 4 / 7]
SUPPORT3 = [3, 2, 4]


def probs_for(predicted, classes, seed=0):
    """Softmax-like rows (N, classes) whose arg-max is ``predicted``, with varied confidences."""
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.05, 0.3, size=(len(predicted), classes))
    probs[np.arange(len(predicted)), predicted] = rng.uniform(0.6, 0.9, size=len(predicted))
    return (probs / probs.sum(axis=1, keepdims=True)).astype("float32")


def test_three_classes_by_hand():
    probs = probs_for(PRED3, 3)
    result = classification_metrics(Y3, probs, class_names=["neg", "neutral", "pos"])
    assert set(result) == {"accuracy", "loss", "per_class", "macro_f1", "confusion_matrix", "examples"}
    assert result["confusion_matrix"] == CONFUSION3
    assert result["accuracy"] == pytest.approx(5 / 9, abs=1e-6)
    expected_loss = -np.mean(np.log(probs[np.arange(9), Y3]))
    assert result["loss"] == pytest.approx(expected_loss, abs=1e-5)
    assert result["examples"] == 9
    assert [row["class"] for row in result["per_class"]] == ["neg", "neutral", "pos"]
    assert [row["precision"] for row in result["per_class"]] == pytest.approx(PRECISION3, abs=1e-6)
    assert [row["recall"] for row in result["per_class"]] == pytest.approx(RECALL3, abs=1e-6)
    assert [row["f1"] for row in result["per_class"]] == pytest.approx(F1_3, abs=1e-5)
    assert [row["support"] for row in result["per_class"]] == SUPPORT3
    assert result["macro_f1"] == pytest.approx(sum(F1_3) / 3, abs=1e-5)


def test_default_names_and_a_class_never_seen():
    # Four classes; class 3 is neither present nor predicted, class 2 predicted but never present.
    y = np.array([0, 1, 1, 0])
    predicted = np.array([0, 1, 2, 0])
    result = classification_metrics(y, probs_for(predicted, 4))
    rows = result["per_class"]
    assert [row["class"] for row in rows] == ["0", "1", "2", "3"]
    assert rows[0] == {"class": "0", "precision": 1.0, "recall": 1.0, "f1": pytest.approx(1.0), "support": 2}
    assert (rows[1]["precision"], rows[1]["recall"]) == (1.0, 0.5)
    assert (rows[2]["precision"], rows[2]["recall"], rows[2]["f1"], rows[2]["support"]) == (0.0, 0.0, 0.0, 0)
    assert (rows[3]["precision"], rows[3]["recall"], rows[3]["f1"], rows[3]["support"]) == (0.0, 0.0, 0.0, 0)
    assert result["macro_f1"] == pytest.approx((1 + 2 / 3 + 0 + 0) / 4, abs=1e-5)
    assert len(result["confusion_matrix"]) == 4 and result["confusion_matrix"][1] == [0, 1, 1, 0]


def test_multiclass_agrees_with_scikit_learn_on_random_data():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, size=300)
    probs = rng.dirichlet(np.ones(5), size=300).astype("float32")
    result = classification_metrics(y, probs)
    predicted = probs.argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, predicted, labels=range(5), zero_division=0
    )
    assert [r["precision"] for r in result["per_class"]] == pytest.approx(precision, abs=1e-5)
    assert [r["recall"] for r in result["per_class"]] == pytest.approx(recall, abs=1e-5)
    assert [r["f1"] for r in result["per_class"]] == pytest.approx(f1, abs=1e-5)
    assert [r["support"] for r in result["per_class"]] == support.tolist()
    assert result["macro_f1"] == pytest.approx(metrics.f1_score(y, predicted, average="macro"), abs=1e-5)
    assert result["confusion_matrix"] == metrics.confusion_matrix(y, predicted, labels=range(5)).tolist()
    assert result["accuracy"] == pytest.approx(metrics.accuracy_score(y, predicted), abs=1e-6)


# The binary set of test_evaluation_metrics: TN 2, FP 2, FN 1, TP 3.
Y = np.array([1, 1, 1, 0, 0, 0, 1, 0])
P = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.55, 0.7, 0.4], dtype="float32")
BINARY_KEYS = {"accuracy", "loss", "precision", "recall", "f1", "auc", "confusion_matrix", "examples"}


@pytest.mark.parametrize(
    "probs", [P, P.reshape(-1, 1), np.stack([1 - P, P], axis=1)], ids=["sigmoid-N", "sigmoid-N1", "softmax"]
)
def test_binary_gains_per_class_and_macro_f1(probs):
    result = classification_metrics(Y, probs)
    assert set(result) == BINARY_KEYS | {"per_class", "macro_f1"}
    negative, positive = result["per_class"]
    # Negative class: 2 right of 3 predicted negative, 2 of 4 negatives found.
    assert negative == {
        "class": "negative",
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(1 / 2),
        "f1": pytest.approx(4 / 7, abs=1e-6),
        "support": 4,
    }
    # Positive class: the binary precision, recall and F1.
    assert positive["class"] == "positive" and positive["support"] == 4
    for key in ("precision", "recall", "f1"):
        assert positive[key] == pytest.approx(result[key], abs=1e-6)
    assert result["macro_f1"] == pytest.approx((4 / 7 + 2 / 3) / 2, abs=1e-6)


def test_binary_sigmoid_at_exactly_one_half_is_negative_everywhere():
    result = classification_metrics(np.array([0, 1]), np.array([0.5, 0.5]), class_names=("bad", "good"))
    assert result["confusion_matrix"] == [[1, 0], [1, 0]]
    assert [row["class"] for row in result["per_class"]] == ["bad", "good"]
    assert result["per_class"][0]["recall"] == 1.0 and result["per_class"][1]["recall"] == 0.0
    assert result["accuracy"] == 0.5 and not math.isnan(result["macro_f1"])


def test_bad_class_names_and_labels_are_refused():
    with pytest.raises(ValueError):
        classification_metrics(Y3, probs_for(PRED3, 3), class_names=["a", "b"])
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 3]), probs_for(np.array([0, 1]), 3))
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 2]), np.array([0.2, 0.9]))
    with pytest.raises(ValueError):
        classification_metrics(Y3[:5], probs_for(PRED3, 3))
