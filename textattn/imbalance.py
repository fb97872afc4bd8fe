"""What a training run does about class imbalance: its hooks for ``train.class_weight``,
``train.threshold`` and ``train.abstain`` (textattn/class_weights.py, textattn/thresholds.py).

``check`` runs before any training (a wrong class name or rule fails then, leaving
nothing behind); ``fit_decision`` after calibration, on validation; ``run_metrics``
gives metrics.json's ``class_weight``, ``decision`` and ``test_decision``.
"""

from __future__ import annotations

import numpy as np

from textattn import class_weights, thresholds


def check(config, data) -> None:
    """UserError when ``train.class_weight`` or ``train.threshold`` does not fit the data's classes."""
    class_weights.resolve(config.train.class_weight, data.labels("train"), data.class_names)
    thresholds.check_classes(config.train.threshold, data.num_classes)


def fit_decision(config, probabilities: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict:
    """The run's decision rule fitted on validation's calibrated ``probabilities`` (N, C); printed in one line."""
    decision = thresholds.fit_decision(config.train.threshold, config.train.abstain, probabilities, labels, class_names)
    if decision["rule"] != thresholds.ARGMAX or decision["abstain"] is not None:
        v = decision["validation"]
        reached = "" if v["target_reached"] else f" (precision {config.train.threshold} not reached on validation)"
        print(
            f"Decision: {thresholds.describe(decision)}; validation macro-F1 {v['macro_f1']:.4f}, "
            f"coverage {v['coverage']:.3f}{reached}",
            flush=True,
        )
    return decision


def run_metrics(config, data, decision: dict, test_probabilities: np.ndarray, test_labels: np.ndarray) -> dict:
    """metrics.json's entries: the class weights used, the decision rule, and what the rule scores on test."""
    return {
        "class_weight": class_weights.describe(config, data.labels("train"), data.class_names),
        "decision": decision,
        "test_decision": thresholds.score_decision(test_labels, test_probabilities, decision, data.class_names),
    }
