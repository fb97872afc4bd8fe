"""Stage 4 of a run: the test split, touched once after every choice is made, and metrics.json's content."""

from __future__ import annotations

import dataclasses
import statistics

import keras
import numpy as np

from textattn.config import Config
from textattn.data.run_data import RunData
from textattn.evaluation.calibration import brier_score, expected_calibration_error
from textattn.inference import calibrate, predict
from textattn.models import count_params
from textattn.models.bag_models import CHARACTER_MEMBER, LEXICON_BRANCH, NB_EXPERT, NGRAM_BRANCH, WORD_BRANCH
from textattn.training.compile import compile_model
from textattn.versions import versions


@dataclasses.dataclass
class TestScores:
    probabilities: np.ndarray
    """Calibrated, (N, classes)."""
    accuracy: float
    loss: float
    ece: float
    brier: float


def score_on_test(config: Config, model: keras.Model, data: RunData, temperature: float) -> TestScores:
    """The model's calibrated probabilities on the test split, scored."""
    compile_model(model, config)
    probs = calibrate(predict(model, config, data, "test"), temperature)
    y = data.labels("test")
    return TestScores(
        probabilities=probs,
        accuracy=accuracy(probs, y),
        loss=float(keras.losses.SparseCategoricalCrossentropy()(y, probs)),
        ece=expected_calibration_error(y, probs),
        brier=brier_score(y, probs),
    )


def score_branches_on_test(config: Config, model: keras.Model, data: RunData, branches: dict) -> None:
    """Add each hybrid branch's test accuracy to ``branches`` ({"ngram": ..., "word": ...[, "lexicon": ...]
    [, "naive_bayes": ...][, "characters": ...]})."""
    y = data.labels("test")
    members = [("ngram", NGRAM_BRANCH, "ngram"), ("word", WORD_BRANCH, config.model.hybrid.branch)]
    if config.model.hybrid.lexicon != "none":
        members.append(("lexicon", LEXICON_BRANCH, config.model.hybrid.branch))
    if config.model.hybrid.naive_bayes_expert:
        members.append(("naive_bayes", NB_EXPERT, "ngram"))
    if config.model.hybrid.character_ngrams:
        members.append(("characters", CHARACTER_MEMBER, "ngram"))
    for key, layer, branch_variant in members:
        probs = predict(model.get_layer(layer), config, data, "test", branch_variant)
        branches.setdefault(key, {})["test_accuracy"] = accuracy(probs, y)


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows of ``probs`` (N, classes) whose arg-max is the label (N,)."""
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def run_metrics(
    config: Config,
    model: keras.Model,
    data: RunData,
    test: TestScores,
    calibration: dict,
    validation_phase: dict,
    history: list[dict],
    session,
    *,
    prep_seconds: float,
    fit_wall: float,
    n_validation: int,
    resumed: bool,
    branches: dict | None,
    final: dict | None,
) -> dict:
    """metrics.json: what the run chose, how it scores on test, and what it took (see README, Training)."""
    epoch_seconds = [row.get("epoch_seconds", 0.0) for row in history]
    fit_seconds = sum(epoch_seconds) + (branches["ngram"]["fit_seconds"] if branches else 0.0)
    metrics = {
        "name": config.name,
        "variant": config.model.variant,
        "params": count_params(model),
        "best_val_accuracy": validation_phase["best_val_accuracy"],
        "best_epoch": validation_phase["best_epoch"],
        "final_val_accuracy": validation_phase["final_val_accuracy"],
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "test_ece": test.ece,
        "test_brier": test.brier,
        "calibration": calibration,
        "epochs_run": len(history),
        "data_prep_seconds": round(prep_seconds, 3),
        "data_cache_hit": data.cache_hit,
        "fit_seconds": round(fit_seconds + (final["fit_seconds"] if final else 0.0), 3),
        "fit_seconds_per_epoch_median": round(statistics.median(epoch_seconds), 3),
        "fit_wall_seconds_last_session": round(fit_wall, 3),
        "resumed": resumed,
        "distribution": {"kind": session.kind, "replicas": session.replicas},
        "train_examples": int(data.count("train")),
        "validation_examples": n_validation,
        "test_examples": int(data.count("test")),
        "data_source": data.source,
        "class_names": data.class_names,
        "seed": config.seed,
        "versions": versions(),
    }
    if branches:
        metrics["branches"] = branches
    if final:
        metrics["validation_phase"] = validation_phase
        metrics["final_fit"] = final
    return metrics
