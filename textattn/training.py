"""One training run: data, model, fit, test, and the run directory."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import time

import keras

from textattn import runs
from textattn.callbacks import AtomicBackupAndRestore, AtomicBestCheckpoint, EpochTimer, read_history, write_history
from textattn.config import Config, save_config
from textattn.data import pipeline
from textattn.errors import UserError
from textattn.models import build_model, count_params


def compile_model(model: keras.Model, config: Config) -> keras.Model:
    t = config.train
    optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": t.learning_rate}})
    if config.model.head == "sigmoid":
        loss = "binary_crossentropy"
    else:
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], jit_compile=t.jit_compile)
    return model


def new_run_dir(config: Config, output_dir: str | None) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(output_dir or "runs", f"{config.name}-{stamp}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    os.makedirs(path)
    return path


def versions() -> dict[str, str]:
    import tensorflow as tf

    return {"python": platform.python_version(), "keras": keras.__version__, "tensorflow": tf.__version__}


def train(config: Config, data_path: str | None = None, output_dir: str | None = None,
          resume: str | None = None, verbose: int | str = "auto") -> str:
    """Train ``config`` and write a run directory; return its path.

    With ``resume`` (an existing run directory) the run continues from its
    last finished epoch, using that directory's saved config.
    """
    if resume:
        run_dir = resume
        if not os.path.isfile(os.path.join(run_dir, runs.CONFIG)):
            raise UserError(f"--resume {run_dir!r} is not a run directory (no {runs.CONFIG}); pass the RUN_DIR of the killed run")
        config = runs.load_config(run_dir)
    else:
        # Resolve the data source first: a bad --data fails before anything is written.
        source = pipeline.resolve_source(config.data, data_path)
        if source.kind == "local":
            # Recorded so that --resume and evaluate.py find the same data.
            config = dataclasses.replace(config, data=dataclasses.replace(config.data, path=source.path))
        run_dir = new_run_dir(config, output_dir)
        save_config(config, os.path.join(run_dir, runs.CONFIG))
    print(f"Run directory: {run_dir}", flush=True)

    keras.utils.set_random_seed(config.seed)
    data = pipeline.prepare(config.data, config.seed, data_path)
    print(f"Data: {len(data.x_train)} train / {len(data.x_val)} validation / {len(data.x_test)} test reviews "
          f"from {data.source} in {data.prep_seconds:.1f}s{' (cached)' if data.cache_hit else ''}", flush=True)
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), data.vocabulary)

    model = compile_model(build_model(config), config)
    sigmoid = config.model.head == "sigmoid"
    train_ds = pipeline.make_dataset(data.x_train, data.y_train, config.train.batch_size, config.seed, sigmoid)
    val_ds = pipeline.make_dataset(data.x_val, data.y_val, config.train.batch_size, None, sigmoid)

    history_path = os.path.join(run_dir, runs.HISTORY)
    previous = read_history(history_path)
    model_path = os.path.join(run_dir, runs.MODEL)
    best_so_far = max((row["val_accuracy"] for row in previous), default=None) if os.path.isfile(model_path) else None
    callbacks = [
        EpochTimer(),
        AtomicBestCheckpoint(model_path, monitor="val_accuracy", best=best_so_far),
        keras.callbacks.CSVLogger(history_path, append=bool(previous)),
        keras.callbacks.TensorBoard(os.path.join(run_dir, runs.LOGS)),
        # Last, so an epoch counts as finished only once everything above is on disk.
        AtomicBackupAndRestore(os.path.join(run_dir, runs.BACKUP)),
    ]
    if config.train.early_stopping:
        callbacks.insert(0, keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=config.train.patience, restore_best_weights=config.train.restore_best))

    start = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=config.train.epochs, callbacks=callbacks,
              shuffle=False, verbose=verbose)  # train_ds reshuffles itself each epoch
    fit_wall = time.perf_counter() - start

    history = read_history(history_path)
    write_history(history_path, history)
    if not history:
        raise UserError("training finished no epoch; check train.epochs")
    best = max(history, key=lambda row: row["val_accuracy"])

    best_model = runs.load_model(run_dir)
    test_ds = pipeline.make_dataset(data.x_test, data.y_test, config.train.batch_size, None, sigmoid)
    test_loss, test_accuracy = best_model.evaluate(test_ds, verbose=0)

    epoch_seconds = [row.get("epoch_seconds", 0.0) for row in history]
    metrics = {
        "name": config.name,
        "variant": config.model.variant,
        "params": count_params(model),
        "best_val_accuracy": best["val_accuracy"],
        "best_epoch": best["epoch"] + 1,
        "final_val_accuracy": history[-1]["val_accuracy"],
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "epochs_run": len(history),
        "data_prep_seconds": round(data.prep_seconds, 3),
        "data_cache_hit": data.cache_hit,
        "fit_seconds": round(sum(epoch_seconds), 3),
        "fit_seconds_per_epoch_median": round(sorted(epoch_seconds)[len(epoch_seconds) // 2], 3),
        "fit_wall_seconds_last_session": round(fit_wall, 3),
        "resumed": bool(resume),
        "train_examples": int(len(data.x_train)),
        "validation_examples": int(len(data.x_val)),
        "test_examples": int(len(data.x_test)),
        "data_source": data.source,
        "seed": config.seed,
        "versions": versions(),
    }
    runs.write_json(os.path.join(run_dir, runs.METRICS), metrics)
    print(f"Best val_accuracy {metrics['best_val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
          f"test_accuracy {metrics['test_accuracy']:.4f}; fit {metrics['fit_seconds']:.1f}s", flush=True)
    return run_dir
