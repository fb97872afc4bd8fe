"""Coverage and accuracy: how accurate a model is on the share of reviews it is surest of.

``coverage_curve`` sorts a split's reviews by their top class probability and
gives the accuracy of the decision rule's labels on the surest 100 %, 90 %, ...,
50 % of them: what an abstain floor (``train.abstain``) at that probability
would trade. ``evaluate_decision`` is what ``evaluate`` stores per run under
``decision``: the run's rule, what it scores on the split, and the curve.
"""

from __future__ import annotations

import math

import numpy as np

from textattn import thresholds

COVERAGE_LEVELS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
IMBALANCE_RATIO = 1.5
"""A split is called imbalanced when its largest class has at least this many times the examples of its smallest."""


def coverage_curve(
    labels: np.ndarray, probabilities: np.ndarray, decision: dict | None = None, levels=COVERAGE_LEVELS
) -> list[dict]:
    """[{coverage, accuracy, min_probability, answered}] per level: the rule's accuracy on the ceil(level * N)
    reviews of highest top probability (ties kept in split order), and the lowest top probability among them."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    predicted = thresholds.decide(probabilities, {**(decision or {}), "abstain": None})
    top = probabilities.max(axis=1)
    order = np.argsort(-top, kind="stable")
    curve = []
    for level in levels:
        k = max(1, math.ceil(level * len(labels) - 1e-9))
        chosen = order[:k]
        curve.append(
            {
                "coverage": float(level),
                "accuracy": float(np.mean(predicted[chosen] == labels[chosen])),
                "min_probability": float(top[chosen].min()),
                "answered": int(k),
            }
        )
    return curve


def evaluate_decision(
    decision: dict | None, labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]
) -> dict:
    """The run's ``decision`` (None: arg-max) scored on a split, with its coverage curve and a one-line description."""
    return {
        "rule": thresholds.describe(decision),
        "settings": decision,
        **thresholds.score_decision(labels, probabilities, decision, class_names),
        "coverage_curve": coverage_curve(labels, probabilities, decision),
    }


def imbalanced(row: dict) -> bool:
    """Whether a report row's split is imbalanced (``IMBALANCE_RATIO``), from its per-class supports."""
    supports = [c["support"] for c in row.get("per_class") or []]
    return bool(supports) and min(supports) * IMBALANCE_RATIO <= max(supports)


def format_curves(rows: list[dict]) -> str:
    """Per run: its decision rule and what it scores, then accuracy at each coverage level."""
    blocks = []
    for row in rows:
        result = row.get("decision")
        if not result:
            continue
        levels = result["coverage_curve"]
        recall = ", ".join(f"{c['class']} {c['recall']:.4f}" for c in result["per_class"])
        lines = [
            f"{row['run']}: {result['rule']}: accuracy {result['accuracy']:.4f}, macro-F1 "
            f"{result['macro_f1']:.4f}, recall {recall}"
        ]
        if result["settings"] and result["settings"].get("abstain") is not None:
            lines.append(
                f"  abstain floor {result['settings']['abstain']:g}: coverage {result['coverage']:.3f}, "
                f"accuracy on the answered {result['answered_accuracy'] or 0:.4f}"
            )
        lines.append("  coverage  " + "  ".join(f"{p['coverage']:>6.0%}" for p in levels))
        lines.append("  accuracy  " + "  ".join(f"{p['accuracy']:>6.4f}" for p in levels))
        lines.append("  p(top) >= " + "  ".join(f"{p['min_probability']:>6.3f}" for p in levels))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
