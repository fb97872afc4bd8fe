"""KerasTuner tuners whose workers send heartbeats, wait politely, and give up on a gone chief.

Every process of a search (single, chief or worker) builds its tuner here from
a textattn oracle (``textattn.tuning.oracles``). On top of KerasTuner's
``Tuner`` (public subclassing hooks only, except the worker's client stub,
see ``textattn.tuning.chief_link``):

- a worker running a trial calls ``get_trial`` on the chief every
  ``worker_timeout / 4`` seconds from a background thread, so the chief can
  tell a slow trial from a dead worker whatever the epoch length;
- a worker told to wait (IDLE) asks again after half a second, not at once;
- a worker whose chief has not answered for ``chief_timeout`` seconds ends
  its search with :class:`~textattn.tuning.chief_link.ChiefGone`;
- the chief runs the oracle's watch (``WatchesWorkers.watch``) beside the
  gRPC server, so a dead worker is noticed even when no other worker calls.
"""

from __future__ import annotations

import threading
import time

import keras_tuner

from textattn.tuning import chief_link

IDLE_POLL_SECONDS = 0.5
BEATS_PER_TIMEOUT = 4


class Heartbeat:
    """Calls ``beat()`` every ``every`` seconds in a daemon thread until :meth:`stop`; errors are ignored
    (a worker that cannot reach the chief finds out on its next real call)."""

    def __init__(self, beat, every: float):
        self._beat = beat
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tuner-heartbeat", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self._every):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - see the class docstring
                pass

    def stop(self):
        self._stop.set()


class SearchTuner(keras_tuner.Tuner):
    """A keras_tuner.Tuner for one process of a search.

    Args:
        oracle: a ``textattn.tuning.oracles`` oracle.
        hypermodel: the TextattnHyperModel.
        role: "single", "chief" or "worker" (``textattn.tuning.search.role``).
        worker_timeout: seconds of silence after which the chief hands a
            worker's trial out again (None: no watch, no heartbeats).
        chief_timeout: seconds a worker waits for a chief that does not answer.
        **kwargs: for keras_tuner.Tuner (directory, project_name, overwrite).
    """

    def __init__(self, oracle, hypermodel, *, role: str, worker_timeout: float | None, chief_timeout: float, **kwargs):
        # Not super().__init__: Hyperband's own __init__ (next in HyperbandTuner's MRO) builds its own oracle.
        keras_tuner.Tuner.__init__(self, oracle, hypermodel, **kwargs)
        self.role = role
        self.worker_timeout = worker_timeout
        self._heartbeat = None
        self._asked_in_vain = False
        if role == "worker":
            chief_link.make_patient(self.oracle, chief_timeout)

    def search(self, *fit_args, **fit_kwargs):
        watcher = None
        if self.role == "chief" and self.worker_timeout is not None:
            every = self.worker_timeout / BEATS_PER_TIMEOUT
            watcher = threading.Thread(target=self.oracle.watch, args=(every,), name="worker-watch", daemon=True)
            watcher.start()
        try:
            return super().search(*fit_args, **fit_kwargs)
        finally:
            self._stop_heartbeat()
            if watcher is not None:
                self.oracle.stop_watching()

    def pre_create_trial(self):
        if self._asked_in_vain:  # the last answer was IDLE: the oracle waits on another worker
            time.sleep(IDLE_POLL_SECONDS)
        self._asked_in_vain = True
        super().pre_create_trial()

    def on_trial_begin(self, trial):
        self._asked_in_vain = False
        print(f"[{self.tuner_id}] trial {trial.trial_id} begins", flush=True)
        if self.role == "worker" and self.worker_timeout is not None:
            trial_id = trial.trial_id
            self._heartbeat = Heartbeat(
                lambda: self.oracle.get_trial(trial_id), self.worker_timeout / BEATS_PER_TIMEOUT
            )
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        self._stop_heartbeat()
        super().on_trial_end(trial)

    def _stop_heartbeat(self):
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None


class HyperbandTuner(SearchTuner, keras_tuner.Hyperband):
    """SearchTuner with Hyperband's trial running (epochs per bracket, weights from the parent trial)."""
