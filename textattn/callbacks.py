"""Training callbacks that Keras does not ship in the form a run directory needs."""

from __future__ import annotations

import csv
import io
import os
import time

import keras

from textattn.atomic_write import write_atomic, write_json, write_text_atomic
from textattn.errors import defer_interrupts, termination_requested


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch, validation included) to the logs.

    Place it before CSVLogger so the column is recorded in history.csv.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class StopOnTerminate(keras.callbacks.Callback):
    """Stops training with KeyboardInterrupt at the next batch boundary once the command has received SIGTERM.

    During ``fit`` it asks ``errors.run_cli``'s SIGTERM handler not to raise
    wherever the main thread happens to be (see ``errors.defer_interrupts``):
    raised from here, between batches, the interrupt always arrives, and never
    in the middle of a checkpoint or backup write.
    """

    def on_train_begin(self, logs=None):
        defer_interrupts(True)

    def on_train_end(self, logs=None):
        defer_interrupts(False)

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_test_batch_end(self, batch, logs=None):
        self._check()

    def _check(self):
        if termination_requested():
            defer_interrupts(False)
            raise KeyboardInterrupt


class AtomicBestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever ``monitor`` improves, via a temporary file and a rename.

    Unlike ``keras.callbacks.ModelCheckpoint`` a kill during the save never
    leaves a truncated ``.keras`` file at ``path``. ``best`` may be seeded from
    an earlier, interrupted run of the same training.
    """

    def __init__(self, path: str, monitor: str = "val_accuracy", best: float | None = None):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or (self.best is not None and value <= self.best):
            return
        self.best = float(value)
        write_atomic(self.path, self.model.save, suffix=".keras")


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backup files are replaced, never overwritten in place.

    Keras writes ``latest.weights.h5`` over the previous one, so a kill during
    that write leaves an HDF5 file that ``--resume`` cannot open. Here each file
    is written to a temporary name in the backup directory and renamed over the
    old one, so the backup on disk is always a whole epoch's state. Weights are
    renamed before the epoch counter: a kill between the two renames makes the
    resumed run redo one epoch, never skip one. (Keras' ``double_checkpoint``
    option, a fallback for a corrupted backup, is not needed and is not used.)

    Relies on Keras routing every save through ``_save_model`` (true for 3.x).

    ``restore_dir``: where the backup is read from at the start, when it is not
    ``backup_dir`` (a distributed run's other workers restore from the chief's
    backup and write their own to a temporary place).
    """

    def __init__(self, backup_dir: str, restore_dir: str | None = None, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self.restore_dir = restore_dir or backup_dir

    def on_train_begin(self, logs=None):
        own = self._weights_path, self._training_metadata_path
        self._weights_path = os.path.join(self.restore_dir, os.path.basename(own[0]))
        self._training_metadata_path = os.path.join(self.restore_dir, os.path.basename(own[1]))
        try:
            super().on_train_begin(logs)
        finally:
            self._weights_path, self._training_metadata_path = own

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        write_atomic(self._weights_path, self.model.save_weights, suffix=".weights.h5")
        write_json(self._training_metadata_path, {"epoch": self._current_epoch, "batch": self._last_batch_seen})


def read_history(path: str) -> list[dict]:
    """Rows of a CSVLogger file as dicts of floats (``epoch`` as int), one per epoch.

    When a resumed run logged an epoch twice, the later row wins.
    """
    if not os.path.isfile(path):
        return []
    by_epoch: dict[int, dict] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {k: float(v) for k, v in row.items() if v not in ("", None)}
            parsed["epoch"] = int(parsed["epoch"])
            by_epoch[parsed["epoch"]] = parsed
    return [by_epoch[e] for e in sorted(by_epoch)]


def write_history(path: str, rows: list[dict]) -> None:
    """Rewrite a history file with one row per epoch, atomically."""
    if not rows:
        return
    columns = ["epoch"] + sorted({k for row in rows for k in row if k != "epoch"})
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


class TrainableWeightsPerEpoch(keras.callbacks.Callback):
    """Keeps a copy of the model's trainable weights after every epoch: ``weights[e]`` after epoch e + 1.

    For short fits whose kept epoch is chosen after several of them have run (the hybrid's seed-averaged
    n-gram members, ``model.hybrid.member_seeds``).
    """

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([keras.ops.convert_to_numpy(v) for v in self.model.trainable_weights])


class KeepBestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by ``monitor`` in memory; ``restore()`` puts them back.

    For short trainings that need no checkpoint file (the hybrid's n-gram branch).
    ``best_epoch`` is 1-based, 0 before any epoch.
    """

    def __init__(self, monitor: str = "val_accuracy"):
        super().__init__()
        self.monitor = monitor
        self.best = None
        self.best_epoch = 0
        self._weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.best is None or value > self.best):
            self.best, self.best_epoch = float(value), epoch + 1
            self._weights = self.model.get_weights()

    def restore(self):
        if self._weights is not None:
            self.model.set_weights(self._weights)
