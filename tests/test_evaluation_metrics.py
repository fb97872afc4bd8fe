"""Evaluation building blocks: metrics on a hand-checked set, architecture columns, speed, table."""

import math

import numpy as np
import pytest
import tensorflow as tf
from helpers import fake_time

from textattn.config import config_from_dict
from textattn.evaluation import speed as speed_module
from textattn.evaluation.architecture import architecture_columns
from textattn.evaluation.metrics import classification_metrics, positive_probability
from textattn.evaluation.report import format_markdown, format_terminal, sort_rows
from textattn.evaluation.speed import measure_serving

# Eight reviews; P(positive) > 0.5 predicts positive.
Y = np.array([1, 1, 1, 0, 0, 0, 1, 0])
P = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.55, 0.7, 0.4], dtype="float32")
# Predicted: 1 1 0 1 0 1 1 0 -> TP = 3 (#0 #1 #6), FN = 1 (#2), FP = 2 (#3 #5), TN = 2 (#4 #7).
EXPECTED_CONFUSION = [[2, 2], [1, 3]]
EXPECTED_PRECISION = 3 / 5
EXPECTED_RECALL = 3 / 4
EXPECTED_F1 = 2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4)  # = 2/3
EXPECTED_ACCURACY = 5 / 8


def expected_auc(y, p):
    """ROC AUC as the share of (positive, negative) pairs ranked correctly."""
    pos, neg = p[y == 1], p[y == 0]
    return sum(float(a > b) + 0.5 * float(a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def expected_loss(y, p):
    return -np.mean([math.log(pi if yi == 1 else 1 - pi) for yi, pi in zip(y, p)])


def check(result):
    assert result["confusion_matrix"] == EXPECTED_CONFUSION
    assert result["accuracy"] == pytest.approx(EXPECTED_ACCURACY, abs=1e-6)
    assert result["precision"] == pytest.approx(EXPECTED_PRECISION, abs=1e-6)
    assert result["recall"] == pytest.approx(EXPECTED_RECALL, abs=1e-6)
    assert result["f1"] == pytest.approx(EXPECTED_F1, abs=1e-5)
    assert expected_auc(Y, P) == pytest.approx(13 / 16)  # the hand count: 4 + 4 + 1 + 4 of 16 pairs
    assert result["auc"] == pytest.approx(13 / 16, abs=1e-3)
    assert result["loss"] == pytest.approx(expected_loss(Y, P), abs=1e-5)
    assert result["examples"] == 8


def test_softmax_probabilities():
    check(classification_metrics(Y, np.stack([1 - P, P], axis=1)))


@pytest.mark.parametrize("shape", [(8, 1), (8,)])
def test_sigmoid_probabilities(shape):
    check(classification_metrics(Y, P.reshape(shape)))


def test_softmax_uses_column_one_as_positive():
    # Swapping the columns swaps predictions: every correct review becomes wrong.
    flipped = classification_metrics(Y, np.stack([P, 1 - P], axis=1))
    assert flipped["accuracy"] == pytest.approx(1 - EXPECTED_ACCURACY)
    assert flipped["confusion_matrix"] == [[2, 2], [3, 1]]
    assert flipped["auc"] == pytest.approx(1 - 13 / 16, abs=1e-3)


def test_perfect_and_bad_shapes():
    result = classification_metrics(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]))
    assert result["accuracy"] == 1.0 and result["f1"] == pytest.approx(1.0, abs=1e-6)
    assert result["confusion_matrix"] == [[2, 0], [0, 2]]
    with pytest.raises(ValueError):
        positive_probability(np.zeros((4, 3)))
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 1]), np.array([0.5, 0.5, 0.5]))


def config(variant, **model):
    return config_from_dict({"model": {"variant": variant, **model}})


@pytest.mark.parametrize(
    "variant, model, layers, heads",
    [
        ("baseline", {}, 0, None),
        ("attention", {"attention": {"num_layers": 3}}, 3, 1),
        ("mha", {"mha": {"num_layers": 1, "num_heads": 4}}, 1, 4),
        ("transformer", {"transformer": {"num_layers": 2, "num_heads": 8}}, 2, 8),
        ("additive", {"additive": {"num_layers": 2}}, 2, 1),
    ],
)
def test_architecture_columns(variant, model, layers, heads):
    cols = architecture_columns(config(variant, positional="sinusoidal", mask_padding=True, **model))
    assert cols == {
        "variant": variant,
        "positional": "sinusoidal",
        "pooling": "average",
        "mask_padding": True,
        "layers": layers,
        "heads": heads,
    }


def test_measure_serving_reports_latency_and_throughput(monkeypatch):
    """A serving function that takes 1 ms plus 0.1 ms per review (2 ms for long ones), on a fake clock."""
    clock = fake_time(monkeypatch, speed_module)
    seen = []

    def serve(texts):
        seen.append(texts.numpy().tolist())
        clock.advance(0.001 + sum(0.0001 if len(t) < 20 else 0.002 for t in seen[-1]))
        return {"probability": tf.zeros([len(seen[-1])])}

    texts = ["a great film", "dull and far too long"]
    stats = measure_serving(serve, texts, batch1_calls=20, batch_size=64, batches=2, warmup_calls=1)
    assert (stats["batch1_calls"], stats["batch_size"], stats["batches"]) == (20, 64, 2)
    # Single reviews alternate, 1.1 ms and 3 ms: the median falls between the two, p95 on the slow one.
    assert stats["batch1_p50_ms"] == pytest.approx((1.1 + 3.0) / 2)
    assert stats["batch1_p95_ms"] == pytest.approx(3.0)
    assert stats["throughput_reviews_per_s"] == pytest.approx(64 / (0.001 + 32 * 0.0001 + 32 * 0.002))
    assert len(seen) == 1 + 20 + 1 + 2 and [len(batch) for batch in seen[-3:]] == [64, 64, 64]

    one = measure_serving(serve, texts[:1], batch1_calls=1, batch_size=2, batches=1, warmup_calls=0)
    assert one["batch1_p50_ms"] == one["batch1_p95_ms"] == pytest.approx(1.1)


def row(run, accuracy):
    return {
        "run": run,
        "variant": "baseline",
        "positional": "none",
        "pooling": "average",
        "mask_padding": False,
        "layers": 0,
        "heads": None,
        "accuracy": accuracy,
        "loss": 0.3,
        "precision": 0.9,
        "recall": 0.8,
        "f1": 0.85,
        "auc": 0.95,
        "tn": 10,
        "fp": 2,
        "fn": 3,
        "tp": 12345,
        "params": 160036,
        "trainable": 160036,
        "non_embedding": 36,
        "model_bytes": 1_950_000,
        "reviews_per_s": 2500.4,
        "latency_ms": 3.14159,
        "fit_s_per_epoch": None,
    }


def test_table_sorted_by_accuracy_and_formatted():
    rows = sort_rows([row("b", 0.80), row("c", 0.90), row("a", 0.80)])
    assert [r["run"] for r in rows] == ["c", "a", "b"]  # ties broken by name
    text = format_terminal(rows).splitlines()
    assert len(text) == 2 + 3
    assert text[0].split()[:3] == ["run", "variant", "positional"]
    assert text[2].startswith("c ") and "0.9000" in text[2] and "12,345" in text[2] and "3.14" in text[2]
    assert text[2].rstrip().endswith("-")  # missing fit time
    md = format_markdown(rows).splitlines()
    assert len(md) == 5 and md[1].startswith("| :---") and md[2].startswith("| c |")
    assert all(line.count("|") == md[0].count("|") for line in md)
