"""A worker's line to the chief: reconnect within seconds, give up after ``tuner.chief_timeout``.

KerasTuner's worker talks to the chief through ``OracleClient`` (private:
``keras_tuner.src.distribute.oracle_client``), whose every call waits up to an
hour for a chief that is not there, and fails at once when the chief dies
during the call. :func:`make_patient` gives that client a new stub (its private
``stub`` attribute, set through ``textattn.compat.keras_tuner``; KerasTuner has
no hook for it): the channel retries a lost
chief every two seconds at most (gRPC's default backoff grows to two
minutes), and every call is retried until the chief answers or
``chief_timeout`` seconds have passed, then raises :class:`ChiefGone`. Every
call a worker makes is safe to repeat: a repeated ``create_trial`` returns the
tuner's ongoing trial, a repeated ``end_trial`` is not counted twice
(``textattn.tuning.oracles``).

Tested with keras-tuner 1.4.8 (pinned in pyproject.toml);
tests/test_compat_keras_tuner.py and test_tuning_chief_link.py fail when the private pieces move.
"""

from __future__ import annotations

import os
import time

import grpc
from keras_tuner.errors import FatalError

from textattn.compat import keras_tuner as keras_tuner_compat

# gRPC waits 1 s, then 1.6x longer each time, up to 120 s, before retrying a lost server.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.min_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
RETRY_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class ChiefGone(FatalError):
    """The chief did not answer within ``chief_timeout``; a FatalError, so KerasTuner does not
    count it against the trial but ends the search."""


def chief_address() -> str:
    return f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"


class PatientStub:
    """Wraps a gRPC stub: each method call is retried until it succeeds or ``timeout`` seconds pass."""

    def __init__(self, stub, timeout: float, address: str, clock=time.monotonic, sleep=time.sleep):
        self._stub = stub
        self.timeout = timeout
        self.address = address
        self._clock = clock
        self._sleep = sleep

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs.pop("timeout", None)
            kwargs["wait_for_ready"] = True  # wait for the chief to (re)appear rather than fail at once
            deadline = self._clock() + self.timeout
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise ChiefGone(
                        f"the search's chief at {self.address} has not answered for "
                        f"{self.timeout:g}s (tuner.chief_timeout); restart it with the same "
                        "command and tuner directory, then restart this worker"
                    )
                try:
                    return method(request, timeout=remaining, **kwargs)
                except grpc.RpcError as exc:
                    if exc.code() not in RETRY_CODES:
                        raise
                    self._sleep(min(0.2, max(remaining, 0)))  # the chief died during the call

        return call


def make_patient(client, chief_timeout: float) -> None:
    """Give KerasTuner's ``OracleClient`` ``client`` a patient stub on a fast-reconnecting channel (where this
    KerasTuner lets it be replaced; elsewhere the client stays as it is, with a warning)."""
    address = chief_address()

    def make_stub(oracle_stub):
        channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        return PatientStub(oracle_stub(channel), chief_timeout, address)

    keras_tuner_compat.replace_client_stub(client, make_stub)
