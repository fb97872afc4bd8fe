"""A worker's patient line to the chief: it waits for a restarted chief and gives up on a gone one."""

import socket
import threading
import time
from concurrent import futures

import grpc
import keras_tuner
import pytest
from helpers import FakeClock
from keras_tuner.src.distribute import oracle_chief, oracle_client

from textattn.tuning import chief_link
from textattn.tuning.oracles import RandomSearchOracle


class Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE


class Unknown(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNKNOWN


class FlakyStub:
    """Fails ``failures`` times with ``error``, then answers; records each call's keyword arguments."""

    def __init__(self, failures, error=Unavailable, clock=None):
        self.failures, self.error, self.calls, self.clock = failures, error, [], clock

    def GetTrial(self, request, **kwargs):
        self.calls.append(kwargs)
        if self.clock:
            self.clock.advance(1.0)
        if len(self.calls) <= self.failures:
            raise self.error()
        return f"answer to {request}"


def patient(stub, timeout, clock):
    return chief_link.PatientStub(stub, timeout, "127.0.0.1:1", clock=clock, sleep=clock.advance)


def test_a_call_is_retried_until_the_chief_answers():
    clock = FakeClock()
    stub = FlakyStub(failures=3, clock=clock)
    assert patient(stub, 60, clock).GetTrial("r", wait_for_ready=True, timeout=3600) == "answer to r"
    assert len(stub.calls) == 4 and all(c["wait_for_ready"] for c in stub.calls)
    assert all(c["timeout"] <= 60 for c in stub.calls)  # KerasTuner's hour is replaced


def test_a_chief_silent_for_the_timeout_is_given_up_in_one_line():
    clock = FakeClock()
    stub = FlakyStub(failures=10**6, clock=clock)
    with pytest.raises(chief_link.ChiefGone) as caught:
        patient(stub, 10, clock).GetTrial("r")
    assert clock.now - 100 <= 10 + 1.2
    message = str(caught.value)
    assert "\n" not in message and "has not answered for 10s (tuner.chief_timeout)" in message
    assert isinstance(caught.value, keras_tuner.errors.FatalError)  # KerasTuner ends the search on it


def test_other_errors_from_the_chief_are_not_retried():
    clock = FakeClock()
    stub = FlakyStub(failures=1, error=Unknown)
    with pytest.raises(Unknown):
        patient(stub, 60, clock).GetTrial("r")
    assert len(stub.calls) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker_env(monkeypatch):
    port = str(free_port())
    for name, value in (
        ("KERASTUNER_ORACLE_IP", "127.0.0.1"),
        ("KERASTUNER_ORACLE_PORT", port),
        ("KERASTUNER_TUNER_ID", "worker0"),
    ):
        monkeypatch.setenv(name, value)
    return port


def make_oracle(tmp_path):
    oracle = RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=2, seed=1, worker_timeout=30, serving=True
    )
    oracle._set_project_dir(str(tmp_path), "search")
    hp = keras_tuner.HyperParameters()
    hp.Int("x", 0, 10)
    oracle.update_space(hp)
    return oracle


def test_keras_tuners_client_still_has_the_pieces_chief_link_replaces(worker_env, tmp_path):
    """chief_link sets OracleClient.stub; KerasTuner's own calls wait an hour. If either changes, revisit it."""
    client = oracle_client.OracleClient(make_oracle(tmp_path))
    assert hasattr(client, "stub") and oracle_client.TIMEOUT == 60 * 60
    chief_link.make_patient(client, 5)
    assert isinstance(client.stub, chief_link.PatientStub)


def test_a_worker_waits_for_a_chief_that_starts_late_and_gives_up_on_none(worker_env, tmp_path):
    client = oracle_client.OracleClient(make_oracle(tmp_path))
    chief_link.make_patient(client, 3)
    start = time.monotonic()
    with pytest.raises(chief_link.ChiefGone):
        client.get_space()  # nothing listens
    assert 3 <= time.monotonic() - start < 10

    chief_link.make_patient(client, 30)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    oracle_chief.protos.get_service_grpc().add_OracleServicer_to_server(
        oracle_chief.OracleServicer(make_oracle(tmp_path / "chief")), server
    )
    server.add_insecure_port(f"127.0.0.1:{worker_env}")
    starter = threading.Timer(1.5, server.start)  # the chief comes up while the worker waits
    starter.start()
    try:
        trial = client.create_trial("worker0")
        assert trial.status == "RUNNING" and time.monotonic() - start >= 1.5
    finally:
        starter.cancel()
        server.stop(0)
