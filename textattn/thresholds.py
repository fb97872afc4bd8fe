"""Decision rules (``train.threshold``, ``train.abstain``): from class probabilities to a label.

A rule is fitted on the validation split's calibrated probabilities and kept
as a ``decision`` dict (metrics.json, the export's metadata.json)::

    {"rule": "argmax" | "macro_f1" | "precision", "offsets": [C floats],
     "class": name or None, "threshold": t or None, "target_precision": P or None,
     "abstain": floor or None, "validation": {...what it scored there}}

Every rule is served the same way: ``label_id = argmax(probabilities - offsets)``
(the lower class id on a tie), then -1 ("unknown") where the top probability
is below ``abstain``. ``argmax`` has offsets 0. A two-class cut "class k when
p_k > t" is offsets 0 except ``offsets[k] = 2t - 1``; cuts are placed halfway
between the two neighbouring validation probabilities they separate, so no
validation example sits on one.
"""

from __future__ import annotations

import os

import numpy as np

from textattn import runs
from textattn.errors import UserError
from textattn.threshold_spec import ARGMAX, MACRO_F1, PRECISION, ThresholdSpec, parse_spec

ABSTAINED = -1
OFFSET_GRID = np.round(np.linspace(-0.5, 0.5, 41), 6)  # per-class offsets tried by the C-class macro-F1 search
SEARCH_PASSES = 3


def check_classes(spec_text: str, num_classes: int) -> None:
    """UserError, before any training, for a rule the data's number of classes cannot have."""
    if parse_spec(spec_text).rule == PRECISION and num_classes != 2:
        raise UserError(
            f"train.threshold={spec_text} cuts one class's probability and needs 2 classes; the data has "
            f"{num_classes}: use train.threshold=macro_f1 (per-class offsets) or argmax"
        )


def macro_f1(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Unweighted mean over classes of F1 (a class never true nor predicted scores 0)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    scores = []
    for c in range(num_classes):
        tp = np.sum((predicted == c) & (labels == c))
        denominator = np.sum(predicted == c) + np.sum(labels == c)
        scores.append(2.0 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def decide(probabilities: np.ndarray, decision: dict | None) -> np.ndarray:
    """int (N,): the decision's label per row of ``probabilities`` (N, C), ``ABSTAINED`` below the abstain floor."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if not decision:
        return np.argmax(probabilities, axis=1)
    offsets = np.asarray(decision.get("offsets") or np.zeros(probabilities.shape[1]), dtype=np.float32)
    labels = np.argmax(probabilities - offsets, axis=1)
    if decision.get("abstain") is not None:
        labels = np.where(probabilities.max(axis=1) < np.float32(decision["abstain"]), ABSTAINED, labels)
    return labels


def decide_tf(probabilities, decision: dict | None):
    """``decide`` in TensorFlow ops (the export's serving computation): int32 (batch,) from float32 (batch, C)."""
    import tensorflow as tf

    if not decision or (not any(decision.get("offsets") or []) and decision.get("abstain") is None):
        return tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    offsets = tf.constant(decision.get("offsets") or [0.0] * int(probabilities.shape[-1]), tf.float32)
    labels = tf.argmax(probabilities - offsets, axis=-1, output_type=tf.int32)
    if decision.get("abstain") is not None:
        below = tf.reduce_max(probabilities, axis=-1) < tf.constant(decision["abstain"], tf.float32)
        labels = tf.where(below, ABSTAINED, labels)
    return labels


def _cuts(scores: np.ndarray, is_class: np.ndarray):
    """Every distinct cut of ``scores`` (N,): (thresholds, true positives, predicted positives), one per cut.

    Cut m predicts positive the m highest scores (m = 0 and N included, ties never split); its
    threshold lies halfway between the m-th and (m+1)-th highest distinct scores.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order].astype(np.float64)
    tp = np.concatenate([[0], np.cumsum(is_class[order])])
    m = np.arange(len(scores) + 1)
    boundary = np.concatenate([[True], sorted_scores[:-1] != sorted_scores[1:], [True]])
    upper = np.concatenate([[1.0], sorted_scores])
    lower = np.concatenate([sorted_scores, [0.0]])
    thresholds = np.where(m == 0, 1.0, (upper + lower) / 2.0)
    return thresholds[boundary], tp[boundary], m[boundary]


def fit_binary_cut(scores: np.ndarray, is_class: np.ndarray, rule: ThresholdSpec) -> tuple[float, bool]:
    """(threshold t for "positive when score > t", whether ``rule``'s target was reached) on these scores.

    macro_f1: the cut with the highest macro-F1 of the two classes (ties: the one nearest 0.5).
    precision=P: the lowest cut whose precision is at least P; when none is, the most precise
    cut (ties: the lowest), and False.
    """
    is_class = np.asarray(is_class, dtype=bool)
    thresholds, tp, predicted = _cuts(np.asarray(scores, dtype=np.float64), is_class)
    positives, n = int(is_class.sum()), len(is_class)
    fp, fn = predicted - tp, positives - tp
    tn = n - positives - fp
    if rule.rule == MACRO_F1:
        f1_pos = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
        f1_neg = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros(len(tn)), where=(2 * tn + fn + fp) > 0)
        score = (f1_pos + f1_neg) / 2.0
        best = np.flatnonzero(np.isclose(score, score.max(), rtol=0, atol=1e-12))
        return float(thresholds[best[np.argmin(np.abs(thresholds[best] - 0.5))]]), True
    precision = np.divide(tp, predicted, out=np.zeros(len(tp)), where=predicted > 0)
    reached = np.flatnonzero((precision >= rule.precision) & (predicted > 0))
    if len(reached):
        return float(thresholds[reached[-1]]), True
    best = np.flatnonzero(precision == precision.max())
    return float(thresholds[best[-1]]), False


def fit_offsets(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """float64 (C,): offsets maximizing macro-F1 of ``argmax(p - offsets)``, by coordinate search over
    ``OFFSET_GRID`` (each class in turn, ``SEARCH_PASSES`` times; ties keep the smaller offset)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    num_classes = probabilities.shape[1]
    offsets = np.zeros(num_classes)
    best = macro_f1(labels, np.argmax(probabilities, axis=1), num_classes)
    for _ in range(SEARCH_PASSES):
        improved = False
        for c in range(num_classes):
            for value in sorted(OFFSET_GRID, key=abs):
                trial = offsets.copy()
                trial[c] = value
                score = macro_f1(labels, np.argmax(probabilities - trial.astype(np.float32), axis=1), num_classes)
                if score > best + 1e-12:
                    best, offsets, improved = score, trial, True
        if not improved:
            break
    return offsets


def minority_class(labels: np.ndarray, num_classes: int) -> int:
    """The class with the fewest examples (ties: the higher id, the positive class of two)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    return int(num_classes - 1 - np.argmin(counts[::-1]))


def fit_decision(
    spec_text: str, abstain: float | None, probabilities: np.ndarray, labels: np.ndarray, class_names: list[str]
) -> dict:
    """The decision dict (module docstring) of ``train.threshold``/``train.abstain`` fitted on validation
    ``probabilities`` (N, C, calibrated) and ``labels`` (N,)."""
    spec = parse_spec(spec_text)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    labels = np.asarray(labels)
    num_classes = probabilities.shape[1]
    check_classes(spec_text, num_classes)
    decision = {
        "rule": spec.rule,
        "offsets": [0.0] * num_classes,
        "class": None,
        "threshold": None,
        "target_precision": spec.precision,
        "abstain": abstain,
    }
    reached = True
    if spec.rule != ARGMAX and num_classes == 2:
        k = minority_class(labels, 2)
        t, reached = fit_binary_cut(probabilities[:, k], labels == k, spec)
        decision.update({"class": class_names[k], "threshold": t})
        decision["offsets"][k] = 2.0 * t - 1.0
    elif spec.rule == MACRO_F1:
        decision["offsets"] = [float(o) for o in fit_offsets(probabilities, labels)]
    decision["validation"] = {**score_decision(labels, probabilities, decision, class_names), "target_reached": reached}
    return decision


def score_decision(labels: np.ndarray, probabilities: np.ndarray, decision: dict | None, class_names) -> dict:
    """What ``decision`` does on a labelled split: per-class precision/recall, macro-F1 and accuracy of the rule
    over the answered rows, and coverage (the answered share; 1 without abstain)."""
    labels = np.asarray(labels)
    predicted = decide(probabilities, decision)
    answered = predicted != ABSTAINED
    num_classes = len(class_names)
    rule_labels = decide(probabilities, {**(decision or {}), "abstain": None})
    per_class = []
    for c, name in enumerate(class_names):
        tp = int(np.sum((rule_labels == c) & (labels == c)))
        predicted_c, support = int(np.sum(rule_labels == c)), int(np.sum(labels == c))
        per_class.append(
            {
                "class": name,
                "precision": tp / predicted_c if predicted_c else 0.0,
                "recall": tp / support if support else 0.0,
                "support": support,
            }
        )
    return {
        "accuracy": float(np.mean(rule_labels == labels)) if len(labels) else 0.0,
        "macro_f1": macro_f1(labels, rule_labels, num_classes),
        "per_class": per_class,
        "coverage": float(np.mean(answered)) if len(labels) else 0.0,
        "answered_accuracy": float(np.mean(predicted[answered] == labels[answered])) if answered.any() else None,
    }


def describe(decision: dict | None) -> str:
    """One line saying what the rule does, e.g. ``pos when p(pos) > 0.3125; unknown below 0.8``."""
    if not decision:
        return "arg-max class"
    if decision.get("threshold") is not None:
        text = f"{decision['class']} when p({decision['class']}) > {decision['threshold']:.4g} ({decision['rule']})"
    elif any(decision.get("offsets") or []):
        text = "argmax(p - offsets), offsets " + ", ".join(f"{o:+.3f}" for o in decision["offsets"])
    else:
        text = "arg-max class"
    if decision.get("abstain") is not None:
        text += f"; unknown when the top probability < {decision['abstain']:g}"
    return text


def load_decision(run_dir: str) -> dict | None:
    """The run's decision (metrics.json ``decision``); None for a run without one (arg-max, no abstain)."""
    try:
        return runs.read_json(os.path.join(run_dir, runs.METRICS)).get("decision")
    except (OSError, ValueError):
        return None
