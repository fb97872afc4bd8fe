"""evaluate's coverage-accuracy curve, its text and plot, and the imbalanced-split test."""

import numpy as np
import pytest

from textattn.evaluation import coverage
from textattn.evaluation.coverage_plot import COVERAGE_PLOT, plot_coverage

# Ten reviews, surest first (top probabilities 0.99 ... 0.54); the 5th and 8th to 10th are wrong.
P_POS = np.array([0.99, 0.02, 0.95, 0.08, 0.88, 0.2, 0.75, 0.7, 0.4, 0.54], dtype=np.float32)
LABELS = np.array([1, 0, 1, 0, 0, 0, 1, 0, 1, 0])
PROBS = np.stack([1.0 - P_POS, P_POS], axis=1)


def test_coverage_curve_by_hand():
    curve = coverage.coverage_curve(LABELS, PROBS)
    assert [p["coverage"] for p in curve] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert [p["answered"] for p in curve] == [10, 9, 8, 7, 6, 5]
    # Wrong: 0.88 (5th surest), 0.7 (8th), 0.4 (9th, top 0.6), 0.54 (10th).
    expected = [6 / 10, 6 / 9, 6 / 8, 6 / 7, 5 / 6, 4 / 5]
    assert [p["accuracy"] for p in curve] == pytest.approx(expected)
    assert curve[-1]["min_probability"] == pytest.approx(0.88)
    assert curve[0]["min_probability"] == pytest.approx(0.54)


def test_coverage_curve_uses_the_decision_rule():
    # A cut at 0.6 on p(pos) turns the 0.54 review into neg: right, so 100 % coverage gains one.
    decision = {"offsets": [0.0, 2 * 0.6 - 1.0], "abstain": 0.9}  # the abstain floor does not change the curve
    curve = coverage.coverage_curve(LABELS, PROBS, decision)
    assert curve[0]["accuracy"] == pytest.approx(7 / 10)


def test_evaluate_decision_and_its_text():
    result = coverage.evaluate_decision(
        {"rule": "argmax", "offsets": [0.0, 0.0], "threshold": None, "abstain": 0.9}, LABELS, PROBS, ["neg", "pos"]
    )
    assert result["coverage"] == pytest.approx(0.4)  # 0.99, 0.98, 0.95, 0.92 are at least 0.9
    assert result["answered_accuracy"] == 1.0
    text = coverage.format_curves([{"run": "r1", "decision": result}])
    assert "r1: arg-max class; unknown when the top probability < 0.9: accuracy 0.6000" in text
    assert "abstain floor 0.9: coverage 0.400, accuracy on the answered 1.0000" in text
    assert "accuracy  0.6000  0.6667  0.7500  0.8571  0.8333  0.8000" in text


def test_imbalanced_rows():
    assert coverage.imbalanced({"per_class": [{"support": 900}, {"support": 100}]})
    assert not coverage.imbalanced({"per_class": [{"support": 510}, {"support": 490}]})
    assert not coverage.imbalanced({})


def test_plot_coverage_writes_a_png(tmp_path):
    result = coverage.evaluate_decision(None, LABELS, PROBS, ["neg", "pos"])
    path = plot_coverage([{"name": "a", "run": "a", "decision": result}], str(tmp_path), "test")
    assert path == str(tmp_path / COVERAGE_PLOT)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert plot_coverage([{"name": "a", "run": "a"}], str(tmp_path / "none"), "test") is None
