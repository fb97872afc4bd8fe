"""textattn.compat.keras_tuner: the KerasTuner privates textattn.tuning uses are still there and still used by
KerasTuner; where they are not, textattn says so and changes nothing.

The first tests fail when KerasTuner moves one of them on the version textattn
is tested with: then update textattn/compat/keras_tuner.py (and the pin in
pyproject.toml).
"""

import types

import grpc
import keras_tuner
import pytest
from keras_tuner.src import utils as kt_utils

from textattn.compat import keras_tuner as compat
from textattn.tuning import atomic_state


def test_the_installed_keras_tuner_is_the_one_tested_with():
    assert keras_tuner.__version__ == compat.TESTED_WITH


def test_keras_tuner_writes_its_state_through_the_replaceable_writer(tmp_path):
    before = compat.keras_tuners_save_json()
    assert callable(before)
    written = []
    assert compat.replace_save_json(lambda path, obj: written.append(path))
    try:
        hp = keras_tuner.HyperParameters()
        hp.Int("x", 0, 3)
        keras_tuner.engine.trial.Trial(hp, trial_id="01").save(str(tmp_path / "trial.json"))
    finally:
        compat.replace_save_json(before)
    assert written == [str(tmp_path / "trial.json")]
    assert compat.keras_tuners_save_json() is before


def test_without_the_writer_nothing_changes_and_a_warning_says_why(monkeypatch):
    monkeypatch.delattr(kt_utils, "save_json")
    with pytest.warns(RuntimeWarning, match="save_json"):
        assert compat.replace_save_json(lambda path, obj: None) is False
    assert not hasattr(kt_utils, "save_json")
    with pytest.warns(RuntimeWarning, match="may not resume"):
        atomic_state.install()


def test_keras_tuner_has_the_oracle_stub_a_worker_calls():
    stub_class = compat.oracle_stub_class()
    assert stub_class is not None
    with grpc.insecure_channel("127.0.0.1:1") as channel:  # nothing is sent until a call
        stub = stub_class(channel)
        for method in ("CreateTrial", "GetTrial", "UpdateTrial", "EndTrial", "GetSpace", "UpdateSpace"):
            assert callable(getattr(stub, method)), method


def test_a_client_stub_is_replaced_only_where_there_is_one():
    client = types.SimpleNamespace(stub="keras tuner's")
    assert compat.replace_client_stub(client, lambda oracle_stub: ("patient", oracle_stub))
    assert client.stub == ("patient", compat.oracle_stub_class())
    bare = types.SimpleNamespace()
    with pytest.warns(RuntimeWarning, match="waits up to an hour"):
        assert compat.replace_client_stub(bare, lambda oracle_stub: "patient") is False
    assert not hasattr(bare, "stub")


def test_retry_queue_is_the_oracles_own_list(tmp_path):
    oracle = keras_tuner.oracles.RandomSearchOracle(objective=keras_tuner.Objective("score", "max"), max_trials=2)
    queue = compat.retry_queue(oracle)
    assert queue == [] and queue is oracle._retry_queue
    with pytest.raises(RuntimeError, match="_retry_queue"):
        compat.retry_queue(types.SimpleNamespace())
