"""One multi-label training run (``data.multi_label: true``): fit, thresholds, test, the run directory.

1. Fit a word-sequence model whose head is one sigmoid per label
   (Dense(L, sigmoid)) with binary cross-entropy on multi-hot labels
   float32 (N, L), keeping the best epoch by validation
   ROC AUC averaged over the labels (``val_auc``, keras.metrics.AUC with multi_label=True).
2. Fit each label's threshold on validation to maximise its F1 (thresholds.json).
3. Test once: micro/macro-F1, subset accuracy and the per-label table in metrics.json.

The run directory is a single-label run's (textattn/runs.py) plus thresholds.json;
there is no temperature (the thresholds take its place) and no final fit.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time

import keras
import numpy as np

from textattn import backend, fitting, runs
from textattn.atomic_write import write_json
from textattn.callbacks import AtomicBackupAndRestore, AtomicBestCheckpoint, EpochTimer, read_history, write_history
from textattn.config import Config, save_config
from textattn.errors import UserError
from textattn.models import build_model, count_params
from textattn.multilabel import thresholds as label_thresholds
from textattn.multilabel.metrics import format_table, multi_label_metrics
from textattn.versions import versions

MONITOR = "val_auc"
"""The epoch kept: best validation ROC AUC, averaged over the labels (threshold-free, as the thresholds
are fitted afterwards; micro-F1 at 0.5 stalls while every label is still predicted)."""


def compile_multi_label(model: keras.Model, config: Config) -> keras.Model:
    """Compile with the config's optimizer, binary cross-entropy, per-label ROC AUC (averaged) and micro-F1 at 0.5."""
    t = config.train
    optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": t.learning_rate}})
    model.compile(optimizer=optimizer, loss=keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.AUC(multi_label=True, num_labels=int(model.output_shape[-1]), name="auc"),
                           keras.metrics.F1Score(average="micro", threshold=0.5, name="micro_f1")],
                  jit_compile=backend.jit_compile(t.jit_compile, config.model.variant))
    return model


def predict_probabilities(model: keras.Model, config: Config, data, split: str) -> np.ndarray:
    """float32 (N, L): each label's sigmoid probability for the examples of ``split``, in order."""
    ds = data.dataset(config, split, batch_size=512, shuffle=False)
    return np.asarray(model.predict(ds, verbose=0), np.float32)


def _open_run_dir(config: Config, output_dir, resume, run_dir) -> tuple[str, str | None]:
    from textattn import training  # here: training hands multi-label runs to this module

    if resume:
        return resume, resume
    if run_dir:
        return run_dir, run_dir if training.open_run_dir(config, run_dir) else None
    run_dir = training.new_run_dir(config, output_dir)
    save_config(config, os.path.join(run_dir, runs.CONFIG))
    return run_dir, None


def _fit(model, config: Config, data, run_dir: str, verbose) -> list[dict]:
    history_path = os.path.join(run_dir, runs.HISTORY)
    previous = read_history(history_path)
    model_path = os.path.join(run_dir, runs.MODEL)
    best = max((row[MONITOR] for row in previous), default=None) if os.path.isfile(model_path) else None
    t = config.train
    callbacks = [
        EpochTimer(),
        AtomicBestCheckpoint(model_path, monitor=MONITOR, best=best),
        keras.callbacks.CSVLogger(history_path, append=bool(previous)),
        keras.callbacks.TensorBoard(os.path.join(run_dir, runs.LOGS)),
        AtomicBackupAndRestore(os.path.join(run_dir, runs.BACKUP)),
    ]
    if t.early_stopping:
        callbacks.insert(0, keras.callbacks.EarlyStopping(monitor=MONITOR, mode="max", patience=t.patience,
                                                          restore_best_weights=t.restore_best))
    fitting.fit(model, config, data, callbacks, verbose=verbose)
    history = read_history(history_path)
    write_history(history_path, history)
    if not history:
        raise UserError("training finished no epoch; check train.epochs")
    return history


def train_multi_label(config: Config, output_dir: str | None = None, resume: str | None = None,
                      verbose: int | str = "auto", run_dir: str | None = None) -> str:
    """Train the multi-label ``config`` (its data source settled) and write a run directory; return its path.

    ``resume`` and ``run_dir`` are ``textattn.training.train``'s.
    """
    from textattn import training

    run_dir, resume = _open_run_dir(config, output_dir, resume, run_dir)
    print(f"Run directory: {run_dir}", flush=True)
    keras.utils.set_random_seed(config.seed)
    try:
        data = fitting.load_data(config)
        training.check_validation(config, data.count("val"))
        training.check_class_names(run_dir, data.class_names, resume)
    except UserError:
        if not resume:  # a run that cannot start leaves nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    names = data.class_names
    print(f"Data: {data.count('train')} train / {data.count('val')} validation / {data.count('test')} test "
          f"examples, {len(names)} labels ({', '.join(names)}), from {data.source} in {data.prep_seconds:.1f}s"
          f"{' (cached)' if data.cache_hit else ''}", flush=True)

    start = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    model = compile_multi_label(build_model(config, num_classes=len(names)), config)
    history = _fit(model, config, data, run_dir, verbose)
    fit_wall = time.perf_counter() - start
    model = runs.load_model(run_dir)
    best = max(history, key=lambda row: row[MONITOR])

    y_val, val_probabilities = data.labels("val"), predict_probabilities(model, config, data, "val")
    thresholds = label_thresholds.fit_thresholds(y_val, val_probabilities)
    label_thresholds.save(run_dir, names, thresholds)
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), data.vocabulary)
    validation = multi_label_metrics(y_val, val_probabilities, thresholds, names)
    test = multi_label_metrics(data.labels("test"), predict_probabilities(model, config, data, "test"), thresholds,
                               names)

    epoch_seconds = [row.get("epoch_seconds", 0.0) for row in history]
    metrics = {
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
        "resumed": bool(resume),
        "train_examples": int(data.count("train")),
        "validation_examples": int(data.count("val")),
        "test_examples": int(data.count("test")),
        "data_source": data.source,
        "class_names": names,
        "seed": config.seed,
        "versions": versions(),
    }
    write_json(os.path.join(run_dir, runs.METRICS), metrics)
    print(f"Best val AUC {best[MONITOR]:.4f} at epoch {best['epoch'] + 1}; test, with the fitted "
          f"thresholds:\n{format_table(test)}", flush=True)
    return run_dir
