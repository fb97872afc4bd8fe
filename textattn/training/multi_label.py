"""A multi-label run (``data.multi_label: true``): the training core's stages with one sigmoid per label.

1. Fit a word-sequence model whose head is one sigmoid per label
   (Dense(L, sigmoid)) with binary cross-entropy on multi-hot labels
   float32 (N, L), keeping the best epoch by validation ROC AUC averaged over
   the labels (``val_auc``, keras.metrics.AUC with multi_label=True), through
   the same run callbacks as a single-label run (``fit_with_run_callbacks``).
2. Fit each label's threshold on validation to maximise its F1 (thresholds.json).
3. Test once: micro/macro-F1, subset accuracy and the per-label table in metrics.json.

The run directory is a single-label run's (textattn/runs.py) plus thresholds.json;
there is no temperature (the thresholds take its place) and no final fit.
"""

from __future__ import annotations

import os
import statistics
import time

import keras

from textattn import backend, runs
from textattn.atomic_write import write_json
from textattn.config import Config
from textattn.data.run_data import RunData
from textattn.inference import predict_label_probabilities
from textattn.models import build_model, count_params
from textattn.multilabel import thresholds as label_thresholds
from textattn.multilabel.metrics import format_table, multi_label_metrics
from textattn.training.fit import fit_with_run_callbacks
from textattn.versions import versions

MONITOR = "val_auc"
"""The epoch kept: best validation ROC AUC, averaged over the labels (threshold-free, as the thresholds
are fitted afterwards; micro-F1 at 0.5 stalls while every label is still predicted)."""


def compile_multi_label(model: keras.Model, config: Config) -> keras.Model:
    """Compile with the config's optimizer, binary cross-entropy, per-label ROC AUC (averaged) and micro-F1 at 0.5."""
    t = config.train
    optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": t.learning_rate}})
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[
            keras.metrics.AUC(multi_label=True, num_labels=int(model.output_shape[-1]), name="auc"),
            keras.metrics.F1Score(average="micro", threshold=0.5, name="micro_f1"),
        ],
        jit_compile=backend.jit_compile(t.jit_compile, config.model.variant),
    )
    return model


def train_multi_label(config: Config, data: RunData, run_dir: str, resumed: bool, verbose) -> dict:
    """Fit, fit the thresholds, test; write metrics.json (and thresholds.json) into ``run_dir``; return the metrics."""
    names = data.class_names
    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    model = compile_multi_label(build_model(config, num_classes=len(names)), config)
    history = fit_with_run_callbacks(
        model, config, data, run_dir, os.path.join(run_dir, runs.MODEL), verbose, monitor=MONITOR
    )
    fit_wall = time.perf_counter() - start
    model = runs.load_model(run_dir)
    best = max(history, key=lambda row: row[MONITOR])

    y_val, val_probabilities = data.labels("val"), predict_label_probabilities(model, config, data, "val")
    thresholds = label_thresholds.fit_thresholds(y_val, val_probabilities)
    label_thresholds.save(run_dir, names, thresholds)
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), data.vocabulary)
    validation = multi_label_metrics(y_val, val_probabilities, thresholds, names)
    test = multi_label_metrics(
        data.labels("test"), predict_label_probabilities(model, config, data, "test"), thresholds, names
    )
    metrics = _metrics(config, model, data, history, best, thresholds, validation, test, fit_wall, resumed)
    write_json(os.path.join(run_dir, runs.METRICS), metrics)
    print(
        f"Best val AUC {best[MONITOR]:.4f} at epoch {best['epoch'] + 1}; test, with the fitted "
        f"thresholds:\n{format_table(test)}",
        flush=True,
    )
    return metrics


def _metrics(
    config: Config, model, data: RunData, history, best, thresholds, validation, test, fit_wall, resumed
) -> dict:
    """metrics.json of a multi-label run."""
    names = data.class_names
    epoch_seconds = [row.get("epoch_seconds", 0.0) for row in history]
    return {
        "name": config.name,
        "variant": config.model.variant,
        "multi_label": True,
        "params": count_params(model),
        "best_val_auc": best[MONITOR],
        "best_epoch": best["epoch"] + 1,
        "test_micro_f1": test["micro_f1"],
        "test_macro_f1": test["macro_f1"],
        "test_subset_accuracy": test["subset_accuracy"],
        "thresholds": {name: float(t) for name, t in zip(names, thresholds)},
        "validation": validation,
        "test": test,
        "epochs_run": len(history),
        "data_prep_seconds": round(data.prep_seconds, 3),
        "data_cache_hit": data.cache_hit,
        "fit_seconds": round(sum(epoch_seconds), 3),
        "fit_seconds_per_epoch_median": round(statistics.median(epoch_seconds), 3),
        "fit_wall_seconds_last_session": round(fit_wall, 3),
        "resumed": bool(resumed),
        "train_examples": int(data.count("train")),
        "validation_examples": int(data.count("val")),
        "test_examples": int(data.count("test")),
        "data_source": data.source,
        "class_names": names,
        "seed": config.seed,
        "versions": versions(),
    }
