"""KerasTuner's private parts that textattn.tuning uses (tested with keras-tuner 1.4.8).

- ``keras_tuner.src.utils.save_json``: KerasTuner writes every state file of a
  search (``oracle.json``, ``trial_*/trial.json``, ``tuner*.json``) through
  it, in place. ``replace_save_json`` swaps it process-wide (the only hook
  there is) for textattn.tuning.atomic_state's atomic writer.
- ``OracleClient.stub`` and ``keras_tuner.src.protos``: a worker's gRPC line to
  the chief. ``replace_client_stub`` gives a client another stub
  (textattn.tuning.chief_link: reconnect in seconds, give up after
  ``tuner.chief_timeout``).
- ``Oracle._retry_queue``: the trials the oracle hands out again.
  ``retry_queue`` returns that list, which textattn.tuning.oracles edits in
  place when it takes a dead worker's trial back.

There is no public way to do any of these. Where this KerasTuner lacks the
first two, the replacing function changes nothing, warns once, and answers
False: the search runs with KerasTuner's own writer (a kill in the middle of a
write can leave a state file that does not load) or its own client (a worker
waits up to an hour for a chief that is gone). ``retry_queue`` has nothing to
fall back on and raises. tests/test_compat_keras_tuner.py fails when one of
them moves on the pinned version.
"""

from __future__ import annotations

import importlib
import warnings

TESTED_WITH = "1.4.8"
UTILS_MODULE = "keras_tuner.src.utils"
PROTOS_MODULE = "keras_tuner.src.protos"


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _missing(what: str, consequence: str) -> None:
    import keras_tuner

    warnings.warn(
        f"keras-tuner {keras_tuner.__version__} has no {what} (textattn is tested with {TESTED_WITH}); {consequence}",
        RuntimeWarning,
        stacklevel=3,
    )


def keras_tuners_save_json():
    """KerasTuner's state writer, ``save_json(path, obj)``, as installed now (None where it has none)."""
    return getattr(_module(UTILS_MODULE), "save_json", None)


def replace_save_json(save_json) -> bool:
    """Make ``save_json(path, obj)`` the writer of KerasTuner's state files; False (nothing changed, a warning)
    where this KerasTuner does not write them through ``keras_tuner.src.utils.save_json``."""
    if keras_tuners_save_json() is None:
        _missing(
            f"{UTILS_MODULE}.save_json",
            "its state files are written in place, and a search killed in the middle of a write may not resume",
        )
        return False
    _module(UTILS_MODULE).save_json = save_json
    return True


def oracle_stub_class():
    """KerasTuner's gRPC stub class for the chief's Oracle service (``OracleStub(channel)``); None where it has none."""
    protos = _module(PROTOS_MODULE)
    service = getattr(protos, "get_service_grpc", None)
    return getattr(service(), "OracleStub", None) if service is not None else None


def replace_client_stub(client, make_stub) -> bool:
    """Set KerasTuner's ``OracleClient`` ``client``'s stub to ``make_stub(OracleStub)``; False (the client
    unchanged, a warning) where this KerasTuner lacks either piece."""
    stub_class = oracle_stub_class()
    if stub_class is None or not hasattr(client, "stub"):
        _missing("OracleClient.stub or OracleStub", "a worker waits up to an hour for a chief that has gone")
        return False
    client.stub = make_stub(stub_class)
    return True


def retry_queue(oracle) -> list:
    """``oracle``'s list of trial ids to hand out again (edit it in place). RuntimeError where KerasTuner has none."""
    queue = getattr(oracle, "_retry_queue", None)
    if not isinstance(queue, list):
        import keras_tuner

        raise RuntimeError(
            f"keras-tuner {keras_tuner.__version__}'s Oracle has no _retry_queue list; "
            f"textattn's distributed search needs keras-tuner {TESTED_WITH}"
        )
    return queue
