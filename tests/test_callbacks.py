"""The run directory's callbacks: a kill in the middle of a save never leaves a broken file."""

import json
import os

import keras
import numpy as np
import pytest
from helpers import fake_time

from textattn import callbacks
from textattn.callbacks import AtomicBackupAndRestore, AtomicBestCheckpoint, EpochTimer, read_history, write_history


class Killed(BaseException):
    """Stands in for SIGKILL arriving while a file is being written."""


def small_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def small_data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 3)).astype("float32"), rng.integers(0, 2, size=32)


def die_halfway_through_writes(monkeypatch, model, method):
    """Make ``model.<method>(path)`` write a truncated file at ``path`` and then die."""

    def truncated_write(*args, **kwargs):
        path = kwargs.get("filepath", args[0] if args else None)
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 10)
        raise Killed()

    monkeypatch.setattr(model, method, truncated_write)


@pytest.mark.parametrize("backup_class", [AtomicBackupAndRestore, keras.callbacks.BackupAndRestore])
def test_kill_during_backup_keeps_the_previous_epoch(backup_class, tmp_path, monkeypatch):
    x, y = small_data()
    backup_dir = str(tmp_path / "backup")
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[backup_class(backup_dir, delete_checkpoint=False)])
    after_epoch_1 = [w.copy() for w in model.get_weights()]

    die_halfway_through_writes(monkeypatch, model, "save_weights")
    with pytest.raises(Killed):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[backup_class(backup_dir, delete_checkpoint=False)])

    resumed = small_model()
    callback = backup_class(backup_dir)
    callback.set_model(resumed)
    if backup_class is keras.callbacks.BackupAndRestore:
        # Keras overwrites the file in place: this is the failure the atomic class exists for.
        with pytest.raises(OSError):
            callback.on_train_begin()
        return
    callback.on_train_begin()
    assert resumed._initial_epoch == 1
    for restored, saved in zip(resumed.get_weights(), after_epoch_1):
        np.testing.assert_array_equal(restored, saved)
    assert [name for name in os.listdir(backup_dir) if name.startswith(".tmp-")] == []


def test_backup_resume_continues_from_the_saved_epoch(tmp_path):
    x, y = small_data()
    backup_dir = str(tmp_path / "backup")
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[AtomicBackupAndRestore(backup_dir, delete_checkpoint=False)])
    assert json.load(open(os.path.join(backup_dir, "training_metadata.json")))["epoch"] == 2

    history = small_model().fit(x, y, epochs=3, verbose=0, callbacks=[AtomicBackupAndRestore(backup_dir)])
    assert history.epoch == [2], "only the epoch not yet done is trained"
    assert not os.path.exists(backup_dir), "the backup is removed when training ends"


def test_kill_during_best_checkpoint_keeps_the_previous_model(tmp_path, monkeypatch):
    x, y = small_data()
    path = str(tmp_path / "model.keras")
    model = small_model()
    checkpoint = AtomicBestCheckpoint(path, monitor="accuracy")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    saved = keras.saving.load_model(path, safe_mode=True).get_weights()

    checkpoint.best = -1.0  # the next epoch counts as an improvement and is saved
    die_halfway_through_writes(monkeypatch, model, "save")
    with pytest.raises(Killed):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    for restored, before in zip(keras.saving.load_model(path, safe_mode=True).get_weights(), saved):
        np.testing.assert_array_equal(restored, before)
    assert os.listdir(tmp_path) == ["model.keras"]


def test_best_checkpoint_saves_only_on_improvement(tmp_path):
    checkpoint = AtomicBestCheckpoint(str(tmp_path / "model.keras"), monitor="val_accuracy", best=0.8)
    checkpoint.set_model(small_model())
    checkpoint.on_epoch_end(0, {"val_accuracy": 0.79})
    assert not os.path.exists(tmp_path / "model.keras")
    checkpoint.on_epoch_end(1, {"val_accuracy": 0.81})
    assert os.path.exists(tmp_path / "model.keras") and checkpoint.best == pytest.approx(0.81)


def test_epoch_timer_adds_seconds_to_the_logs(monkeypatch):
    clock = fake_time(monkeypatch, callbacks)
    timer = EpochTimer()
    logs = {}
    timer.on_epoch_begin(0)
    clock.advance(2.5)
    timer.on_epoch_end(0, logs)
    assert logs["epoch_seconds"] == pytest.approx(2.5)


def test_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    path = str(tmp_path / "history.csv")
    with open(path, "w") as f:
        f.write("epoch,accuracy,val_accuracy\n0,0.5,0.6\n1,0.6,0.7\n1,0.65,0.72\n")
    rows = read_history(path)
    assert [(r["epoch"], r["val_accuracy"]) for r in rows] == [(0, 0.6), (1, 0.72)]
    write_history(path, rows)
    assert open(path).read().splitlines() == ["epoch,accuracy,val_accuracy", "0,0.5,0.6", "1,0.65,0.72"]
