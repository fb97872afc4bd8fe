"""The fit itself: on the training part, validating every epoch; and a run's fit with its callbacks.

``fit`` is what a run and a search trial share; ``fit_with_run_callbacks`` adds
what a run writes (history.csv, the best checkpoint, TensorBoard logs, the
resumable backup).
"""

from __future__ import annotations

import os

import keras

from textattn import class_weights, runs
from textattn.callbacks import (
    AtomicBackupAndRestore,
    AtomicBestCheckpoint,
    EpochTimer,
    StopOnTerminate,
    read_history,
    write_history,
)
from textattn.config import Config
from textattn.data.run_data import RunData
from textattn.errors import UserError

MONITOR = "val_accuracy"


def fit(
    model: keras.Model,
    config: Config,
    data: RunData,
    callbacks=(),
    *,
    epochs: int | None = None,
    patience: int | None = None,
    restore_best: bool = False,
    variant: str | None = None,
    verbose="auto",
    session=None,
    monitor: str = MONITOR,
    **fit_kwargs,
) -> keras.callbacks.History:
    """Fit ``model`` on the training part of ``data``, validating on the validation part every epoch.

    ``epochs`` defaults to ``train.epochs``; with ``patience`` an EarlyStopping on
    val_accuracy (restoring the best weights with ``restore_best``) runs before
    ``callbacks``. ``variant`` picks the inputs (default: the config's variant).
    ``session`` (textattn.distributed) readies the datasets for data-parallel
    training and turns a lost peer into a UserError; fit inside its ``scope()``.
    """
    callbacks = [StopOnTerminate(), *callbacks]  # SIGTERM stops at the next batch (textattn/errors.py)
    if patience is not None:
        callbacks.insert(
            0,
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode="max", patience=patience, restore_best_weights=restore_best
            ),
        )
    train = data.dataset(config, "train", variant, for_fit=True)
    val = data.dataset(config, "val", variant, for_fit=True)
    fit_kwargs.setdefault("class_weight", class_weights.for_fit(config, data.labels("train"), data.class_names))
    val = class_weights.weigh_validation(val, fit_kwargs["class_weight"])
    if session is None:
        return model.fit(
            train,
            validation_data=val,
            epochs=epochs or config.train.epochs,
            callbacks=callbacks,
            shuffle=False,
            verbose=verbose,
            **fit_kwargs,
        )
    batch = config.train.batch_size
    callbacks = [*session.callbacks(data.count("val"), batch), *callbacks]
    with session.guard():
        return model.fit(
            session.prepare(train, "train", batch),
            validation_data=session.prepare(val, "val", batch),
            epochs=epochs or config.train.epochs,
            callbacks=callbacks,
            shuffle=False,
            verbose=verbose,
            **fit_kwargs,
        )


def fit_with_run_callbacks(
    model,
    config: Config,
    data: RunData,
    run_dir: str,
    checkpoint: str,
    verbose,
    variant: str | None = None,
    session=None,
    shared_dir: str | None = None,
    monitor: str = MONITOR,
) -> list[dict]:
    """Fit with the run's history, best checkpoint, TensorBoard and resumable backup; return the history rows.

    ``session``: a distributed run's (textattn.distributed); ``shared_dir``: the chief's
    run directory, when this process is another worker: it restores the chief's
    backup and starts from the chief's best val_accuracy, so that it saves its own
    checkpoint at the same epochs as the chief (a save under the strategy may be a
    collective, which every worker must run).
    """
    history_path = os.path.join(run_dir, runs.HISTORY)
    previous = read_history(history_path)
    source = shared_dir or run_dir
    chief_previous = read_history(os.path.join(source, runs.HISTORY)) if shared_dir else previous
    best_so_far = (
        max((row[monitor] for row in chief_previous), default=None)
        if os.path.isfile(os.path.join(source, os.path.basename(checkpoint)))
        else None
    )
    callbacks = [
        EpochTimer(),
        AtomicBestCheckpoint(checkpoint, monitor=monitor, best=best_so_far),
        keras.callbacks.CSVLogger(history_path, append=bool(previous)),
        keras.callbacks.TensorBoard(os.path.join(run_dir, runs.LOGS)),
        # Last, so an epoch counts as finished only once everything above is on disk.
        AtomicBackupAndRestore(
            os.path.join(run_dir, runs.BACKUP), shared_dir and os.path.join(shared_dir, runs.BACKUP)
        ),
    ]
    t = config.train
    fit(
        model,
        config,
        data,
        callbacks,
        patience=t.patience if t.early_stopping else None,
        restore_best=t.restore_best,
        variant=variant,
        verbose=verbose,
        session=session,
        monitor=monitor,
    )
    history = read_history(history_path)
    write_history(history_path, history)
    if not history and shared_dir is None:
        raise UserError("training finished no epoch; check train.epochs")
    return history
