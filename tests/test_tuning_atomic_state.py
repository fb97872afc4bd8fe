"""KerasTuner's state files, with textattn's writer installed, survive a kill in the middle of a write."""

import os

import keras_tuner
import pytest
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.backend import io as kt_io

from textattn.tuning import atomic_state


class Killed(BaseException):
    """Stands in for SIGKILL arriving while a file is being written."""


class DiesHalfwayFile:
    """A writable file that writes half of what it is given, then dies."""

    def __init__(self, file):
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def write(self, text):
        self.file.write(text[: len(text) // 2])
        self.file.flush()
        raise Killed()


@pytest.fixture(scope="module", autouse=True)
def installed():
    atomic_state.install()


def test_install_is_idempotent_and_keeps_keras_tuners_writer():
    once = kt_utils.save_json
    atomic_state.install()
    assert kt_utils.save_json is once
    assert once.textattn_atomic and not getattr(once.__wrapped__, "textattn_atomic", False)


def test_trial_state_round_trips_through_the_atomic_writer(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("variant", ["mha", "attention"])
    trial = keras_tuner.engine.trial.Trial(hp, trial_id="03", status="COMPLETED")
    path = str(tmp_path / "trial.json")
    trial.save(path)
    loaded = keras_tuner.engine.trial.Trial.load(path)
    assert (loaded.trial_id, loaded.status, loaded.hyperparameters.values) == ("03", "COMPLETED", {"variant": "mha"})
    assert os.listdir(tmp_path) == ["trial.json"]


def test_kill_during_write_keeps_the_previous_state(tmp_path, monkeypatch):
    path = str(tmp_path / "oracle.json")
    kt_utils.save_json(path, {"tried_so_far": ["a"]})
    real_open = open
    monkeypatch.setattr("builtins.open", lambda name, mode="r", **kw: DiesHalfwayFile(real_open(name, mode, **kw)))
    with pytest.raises(Killed):
        kt_utils.save_json(path, {"tried_so_far": ["a", "b"] * 100})
    monkeypatch.undo()
    assert kt_utils.load_json(path) == {"tried_so_far": ["a"]}


def test_keras_tuners_own_writer_loses_the_state_on_the_same_kill(tmp_path, monkeypatch):
    """Why the module exists; if KerasTuner starts writing atomically this fails and the module can go."""
    path = str(tmp_path / "oracle.json")
    keras_tuner_save_json = kt_utils.save_json.__wrapped__
    keras_tuner_save_json(path, {"tried_so_far": ["a"]})
    monkeypatch.setattr(kt_io, "File", lambda name, mode: DiesHalfwayFile(open(name, mode)))
    with pytest.raises(Killed):
        keras_tuner_save_json(path, {"tried_so_far": ["a", "b"] * 100})
    monkeypatch.undo()
    with pytest.raises(ValueError):
        kt_utils.load_json(path)
