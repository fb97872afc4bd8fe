"""train.threshold and train.abstain: parsing, fitting on known arrays, applying (NumPy and TensorFlow)."""

import numpy as np
import pytest
import tensorflow as tf

from textattn import thresholds
from textattn.config import apply_overrides, config_from_dict
from textattn.errors import UserError

# Eight validation reviews, sorted by p(pos); the third surest is negative, the fourth positive.
P_POS = np.array([0.9, 0.8, 0.7, 0.45, 0.4, 0.3, 0.2, 0.1], dtype=np.float32)
LABELS = np.array([1, 1, 0, 1, 0, 0, 0, 0])
PROBS = np.stack([1.0 - P_POS, P_POS], axis=1)
NAMES = ["neg", "pos"]


@pytest.mark.parametrize(
    "text, spec",
    [
        ("argmax", thresholds.ThresholdSpec("argmax")),
        ("macro_f1", thresholds.ThresholdSpec("macro_f1")),
        ("precision=0.95", thresholds.ThresholdSpec("precision", 0.95)),
        ("precision=1", thresholds.ThresholdSpec("precision", 1.0)),
    ],
)
def test_parse_spec(text, spec):
    assert thresholds.parse_spec(text) == spec


@pytest.mark.parametrize("text", ["f1", "precision", "precision=0", "precision=1.5", "precision=high", "recall=0.9"])
def test_bad_threshold_spec_is_a_user_error(text):
    with pytest.raises(UserError, match="train.threshold must be argmax, macro_f1 or precision=P"):
        config_from_dict({"train": {"threshold": text}})


@pytest.mark.parametrize("value", [0.0, 1.5, -0.2])
def test_abstain_floor_must_be_a_probability(value):
    with pytest.raises(UserError, match=r"train.abstain must be in \(0, 1\]"):
        apply_overrides(config_from_dict({}), [f"train.abstain={value}"])


def test_precision_cut_is_the_lowest_reaching_the_target():
    # Predicting the top 1 or 2 as pos is 100 % precise, the top 3 only 67 %: the cut lies between 0.8 and 0.7.
    cut, reached = thresholds.fit_binary_cut(P_POS, LABELS == 1, thresholds.parse_spec("precision=0.95"))
    assert (cut, reached) == (pytest.approx(0.75), True)
    # 75 % is reached by the top 4 (3 of 4), the lowest such cut: between 0.45 and 0.4.
    cut, reached = thresholds.fit_binary_cut(P_POS, LABELS == 1, thresholds.parse_spec("precision=0.75"))
    assert (cut, reached) == (pytest.approx(0.425), True)


def test_precision_out_of_reach_keeps_the_most_precise_cut():
    scores = np.array([0.9, 0.8, 0.3])
    cut, reached = thresholds.fit_binary_cut(
        scores, np.array([False, True, True]), thresholds.parse_spec("precision=1")
    )
    # Top 1: 0/1; top 2: 1/2; top 3: 2/3, the most precise: the cut below every score.
    assert (cut, reached) == (pytest.approx(0.15), False)


def test_macro_f1_cut_by_hand():
    # Top 2 as pos: F1 pos 4/5, neg 10/11 (mean 0.8545); top 4: 6/7 and 8/9 (0.8730, the best); top 5: 0.75.
    cut, _ = thresholds.fit_binary_cut(P_POS, LABELS == 1, thresholds.parse_spec("macro_f1"))
    assert cut == pytest.approx(0.425)
    assert thresholds.macro_f1(LABELS, (P_POS > cut).astype(int), 2) == pytest.approx((6 / 7 + 8 / 9) / 2)


def test_fit_decision_binary_cut_on_the_minority_class_and_its_offsets():
    decision = thresholds.fit_decision("precision=0.95", None, PROBS, LABELS, NAMES)
    assert decision["class"] == "pos" and decision["threshold"] == pytest.approx(0.75)
    assert decision["offsets"] == pytest.approx([0.0, 0.5])  # 2t - 1
    assert thresholds.decide(PROBS, decision).tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    assert decision["validation"]["per_class"][1]["precision"] == 1.0
    assert decision["validation"]["per_class"][1]["recall"] == pytest.approx(2 / 3)
    # When neg is the minority, the cut is on p(neg).
    flipped = thresholds.fit_decision("precision=0.95", None, PROBS[:, ::-1], 1 - LABELS, NAMES)
    assert flipped["class"] == "neg" and flipped["threshold"] == pytest.approx(0.75)


def test_argmax_decision_changes_nothing():
    decision = thresholds.fit_decision("argmax", None, PROBS, LABELS, NAMES)
    assert decision["offsets"] == [0.0, 0.0] and decision["threshold"] is None
    np.testing.assert_array_equal(thresholds.decide(PROBS, decision), np.argmax(PROBS, axis=1))


def test_abstain_answers_unknown_below_the_floor():
    decision = thresholds.fit_decision("argmax", 0.75, PROBS, LABELS, NAMES)
    # Top probabilities: 0.9 0.8 0.7 0.55 0.6 0.7 0.8 0.9.
    assert thresholds.decide(PROBS, decision).tolist() == [1, 1, -1, -1, -1, -1, 0, 0]
    scored = decision["validation"]
    assert scored["coverage"] == pytest.approx(0.5) and scored["answered_accuracy"] == 1.0
    assert scored["accuracy"] == pytest.approx(6 / 8)  # the rule's labels, every row counted


def test_multiclass_macro_f1_offsets_fix_an_under_predicted_class():
    # Class 2 is always second to class 0 by 0.05; the offsets must give it its rows back.
    probs = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.45, 0.15, 0.4], [0.46, 0.1, 0.44], [0.6, 0.3, 0.1]], dtype=np.float32
    )
    labels = np.array([0, 1, 2, 2, 0])
    assert thresholds.macro_f1(labels, probs.argmax(axis=1), 3) < 1.0
    decision = thresholds.fit_decision("macro_f1", None, probs, labels, ["a", "b", "c"])
    assert thresholds.decide(probs, decision).tolist() == labels.tolist()
    assert decision["validation"]["macro_f1"] == 1.0 and decision["threshold"] is None


def test_precision_needs_two_classes():
    with pytest.raises(UserError, match="needs 2 classes; the data has 3"):
        thresholds.check_classes("precision=0.9", 3)
    thresholds.check_classes("macro_f1", 3)


def test_minority_class():
    assert thresholds.minority_class([0, 0, 1], 2) == 1
    assert thresholds.minority_class([0, 1, 1], 2) == 0
    assert thresholds.minority_class([0, 1], 2) == 1  # a tie: the positive class


def test_tensorflow_decision_matches_numpy():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet([1.0, 1.0, 1.0], size=500).astype(np.float32)
    decision = {"offsets": [0.0, -0.1, 0.05], "abstain": 0.5}
    expected = thresholds.decide(probs, decision)
    assert (expected == -1).any() and (expected >= 0).any()
    np.testing.assert_array_equal(thresholds.decide_tf(tf.constant(probs), decision).numpy(), expected)
    np.testing.assert_array_equal(thresholds.decide_tf(tf.constant(probs), None).numpy(), probs.argmax(axis=1))


def test_describe():
    assert thresholds.describe(None) == "arg-max class"
    decision = thresholds.fit_decision("precision=0.95", 0.6, PROBS, LABELS, NAMES)
    assert thresholds.describe(decision) == (
        "pos when p(pos) > 0.75 (precision); unknown when the top probability < 0.6"
    )
