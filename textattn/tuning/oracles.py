"""KerasTuner oracles whose distributed search survives a dead worker and a restarted chief.

KerasTuner's chief hands a trial to a worker and waits for its end for ever:
a worker killed mid-trial leaves that trial RUNNING, the other workers are
told to stop as soon as every trial has been handed out, and the chief, which
exits only when every worker it has seen has asked for a trial and been told
to stop, never exits. :class:`WatchesWorkers` (a mixin over KerasTuner's
public oracles) fixes that on the chief:

- Every call from a worker (asking for a trial, a heartbeat through
  ``get_trial``, reporting, ending) marks it as heard. A worker silent for
  longer than ``worker_timeout`` seconds loses its trial, which goes back in
  the queue for the next worker that asks, and is no longer waited for.
- While another worker still runs a trial, a worker that would be told to
  stop is told to wait (IDLE) instead, so a trial taken back from a dead
  worker always finds a worker to run it.
- A trial is counted once: a second end (its first worker came back after all)
  is ignored, as are its late reports.
- A restarted chief keeps the trials that were running as running (KerasTuner
  would queue them all again), so workers that went on training report them;
  a trial that had ended (its trial.json says so) is not queued again on any
  reload.

A worker restarted with the same tuner id before its timeout gets its trial
back (KerasTuner returns a tuner's ongoing trial when it asks again). Outside
a distributed search (no ``serving``) the oracles behave as KerasTuner's.
"""

from __future__ import annotations

import threading
import time

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus

from textattn.compat.keras_tuner import retry_queue


class WatchesWorkers:
    """Mixin for a keras_tuner Oracle; put it before the oracle class.

    Args:
        worker_timeout: seconds a worker may be silent before its trial is
            handed out again; None turns the watch off.
        serving: True in the chief of a distributed search (the only place
            where workers exist to watch).
        clock: returns seconds (time.monotonic); tests pass a fake one.
    """

    def __init__(
        self, *args, worker_timeout: float | None = None, serving: bool = False, clock=time.monotonic, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.worker_timeout = worker_timeout
        self.serving = serving
        self._clock = clock
        self._heard: dict[str, float] = {}  # tuner id -> clock() when it last called
        self._running_at_save: dict[str, Trial] = {}
        self._watch_stop = threading.Event()
        if serving:
            # KerasTuner's display keeps per-trial state that a restarted chief lacks for the trials it
            # keeps running (its on_trial_end then fails); the chief prints its own lines instead.
            self.verbose = 0

    @property
    def watching(self) -> bool:
        return self.serving and self.worker_timeout is not None

    # -- calls from workers -------------------------------------------------

    @keras_tuner.synchronized
    def create_trial(self, tuner_id):
        if not self.watching:
            return super().create_trial(tuner_id)
        self._heard[tuner_id] = self._clock()
        self.reclaim_silent()
        had = self.ongoing_trials.get(tuner_id)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED and self.ongoing_trials:
            # Another worker still runs a trial; should it die, that trial needs a worker.
            self.tuner_ids.add(tuner_id)
            return Trial(self.get_space(), trial_id=trial.trial_id, status=TrialStatus.IDLE)
        if trial.status == TrialStatus.RUNNING:
            again = " again" if had is not None else ""
            print(
                f"Trial {trial.trial_id} goes{again} to {tuner_id} ({len(self.end_order)} of "
                f"{self.max_trials or '?'} ended)",
                flush=True,
            )
        return trial

    @keras_tuner.synchronized
    def get_trial(self, trial_id):
        self._hear_runner_of(trial_id)  # workers call it as their heartbeat
        return super().get_trial(trial_id)

    @keras_tuner.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self._hear_runner_of(trial_id)
        if self._ended(trial_id):  # a late report of a trial counted already
            return self.trials[trial_id]
        return super().update_trial(trial_id, metrics, step=step)

    @keras_tuner.synchronized
    def end_trial(self, trial):
        self._hear_runner_of(trial.trial_id)
        if self._ended(trial.trial_id):
            print(
                f"Trial {trial.trial_id} ended already (it was handed out again); this end is not counted", flush=True
            )
            self._forget_running(trial.trial_id)
            return
        queue = retry_queue(self)
        if trial.trial_id in queue:  # taken back from a worker thought dead, which ended it after all
            if trial.status != TrialStatus.COMPLETED:
                return  # the run it is queued for decides
            queue.remove(trial.trial_id)
        super().end_trial(trial)
        self.save()  # KerasTuner saves before it forgets the trial as running: a reload would run it again
        if self.watching:
            ended = self.trials[trial.trial_id]
            score = f", {self.objective.name} {ended.score:.4f}" if ended.score is not None else ""
            print(f"Trial {ended.trial_id} ended: {ended.status}{score}", flush=True)

    # -- the watch ----------------------------------------------------------

    @keras_tuner.synchronized
    def reclaim_silent(self) -> list[str]:
        """Hand out again the trials of workers silent for over ``worker_timeout``; return their ids."""
        if not self.watching:
            return []
        now = self._clock()
        reclaimed = []
        for tuner_id in sorted(set(self.tuner_ids) | set(self.ongoing_trials)):
            silent = now - self._heard.setdefault(tuner_id, now)
            if silent <= self.worker_timeout:
                continue
            self.tuner_ids.discard(tuner_id)
            del self._heard[tuner_id]
            trial = self.ongoing_trials.pop(tuner_id, None)
            if trial is None:
                print(f"Worker {tuner_id} silent for {silent:.0f}s; no longer waiting for it", flush=True)
                continue
            retry_queue(self).append(trial.trial_id)
            reclaimed.append(trial.trial_id)
            print(
                f"Worker {tuner_id} silent for {silent:.0f}s (tuner.worker_timeout {self.worker_timeout:g}s): "
                f"trial {trial.trial_id} goes to the next worker that asks",
                flush=True,
            )
        if reclaimed:
            self.save()
        return reclaimed

    def watch(self, every: float) -> None:
        """Call :meth:`reclaim_silent` every ``every`` seconds until :meth:`stop_watching` (run it in a thread)."""
        while not self._watch_stop.wait(every):
            self.reclaim_silent()

    def stop_watching(self) -> None:
        self._watch_stop.set()

    # -- a restarted chief ---------------------------------------------------

    def set_state(self, state):
        super().set_state(state)
        self._running_at_save = dict(self.ongoing_trials)

    def reload(self):
        super().reload()  # KerasTuner queues every trial that was running again
        # Even one that ended: it writes trial.json, then oracle.json, and forgets the trial as running
        # last; a kill in between leaves an ended trial that oracle.json still lists as running.
        for trial_id in self.start_order:
            if self.trials[trial_id].status in (TrialStatus.COMPLETED, TrialStatus.FAILED) and not self._ended(
                trial_id
            ):
                self.end_order.append(trial_id)
        queue = retry_queue(self)
        queue[:] = [trial_id for trial_id in queue if not self._ended(trial_id)]
        if not self.watching:
            return
        now = self._clock()
        for tuner_id, trial in self._running_at_save.items():
            if trial.trial_id not in queue:
                continue
            # Its worker may still be training it: give it worker_timeout to be heard.
            queue.remove(trial.trial_id)
            self.ongoing_trials[tuner_id] = trial
            self.tuner_ids.add(tuner_id)
            self._heard[tuner_id] = now
        self._running_at_save = {}

    # -- helpers -------------------------------------------------------------

    def _ended(self, trial_id) -> bool:
        return trial_id in self.end_order

    def _hear_runner_of(self, trial_id) -> None:
        if not self.watching:
            return
        for tuner_id, trial in self.ongoing_trials.items():
            if trial.trial_id == trial_id:
                self._heard[tuner_id] = self._clock()

    def _forget_running(self, trial_id) -> None:
        for tuner_id, trial in list(self.ongoing_trials.items()):
            if trial.trial_id == trial_id:
                del self.ongoing_trials[tuner_id]


class RandomSearchOracle(WatchesWorkers, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search, watching its workers."""


class BayesianOptimizationOracle(WatchesWorkers, keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimization, watching its workers."""


class HyperbandOracle(WatchesWorkers, keras_tuner.oracles.HyperbandOracle):
    """KerasTuner's Hyperband, watching its workers."""
