"""Fault 2, a killed chief: SIGKILL the chief of a distributed search mid-search.

A real chief and two workers (``textattn tune`` on 127.0.0.1) run a search.
The chief is killed at a random moment inside a trial and left dead: each
worker exits within ``tuner.chief_timeout`` (plus the rest of its trial) with
one error line and status 2. The user restarts all three (with a
``chief_timeout`` longer than a chief's start); the chief is killed again at
a random moment inside a trial and restarted at once on the same directory:
the workers wait for it, reconnect and go on. The search completes; trials
finished before the kills are kept, and every trial is counted once.
"""

import glob
import json
import os
import random
import time

import pytest
import yaml
from helpers import make_aclimdb, write_tune_yaml

from .helpers import Cluster, search_results

pytestmark = pytest.mark.slow

MAX_TRIALS = 6
CHIEF_TIMEOUT_S = 10
SEED = 12
START_S = 120  # a process's start (TensorFlow import, first data preparation) on 2 loaded cores
RESTART_WAIT_S = 120  # longer than a chief's start
GIVE_UP_S = CHIEF_TIMEOUT_S + 60  # the wait, the rest of a trial, and the exit on 2 loaded cores
WORKERS = ("worker0", "worker1")


def completed_scores(project: str) -> dict:
    """{trial id: score} of the trials whose trial.json says COMPLETED."""
    scores = {}
    for path in glob.glob(os.path.join(project, "trial_*", "trial.json")):
        with open(path) as f:
            trial = json.load(f)
        if trial["status"] == "COMPLETED":
            scores[trial["trial_id"]] = trial["score"]
    return scores


def kill_chief_inside_a_trial(cluster, rng, after_an_end: bool) -> float:
    """Wait until the current chief hands out a trial (after one has ended, if ``after_an_end``);
    SIGKILL it a random moment later."""
    start = cluster.wait_for("chief", r"Trial \d+ ended: COMPLETED", START_S).end() if after_an_end else 0
    cluster.wait_for("chief", r"Trial \d+ goes", START_S, start)
    time.sleep(rng.uniform(0.0, 2.0))
    cluster.kill("chief")
    return time.monotonic()


def test_a_killed_chief_leaves_workers_that_give_up_or_reconnect(tmp_path):
    rng = random.Random(SEED)
    data = make_aclimdb(tmp_path / "data")
    config = write_tune_yaml(
        tmp_path, max_trials=MAX_TRIALS, epochs=3, patience=None, worker_timeout=5, chief_timeout=CHIEF_TIMEOUT_S
    )
    project = os.path.join(str(tmp_path), "tuner", "tiny")
    cluster = Cluster(tmp_path, config, data)
    try:
        for tuner_id in ("chief", *WORKERS):
            cluster.start(tuner_id)

        # 1. Killed and left dead: the workers give up, one line each.
        killed_at = kill_chief_inside_a_trial(cluster, rng, after_an_end=True)
        codes = cluster.wait_exit(WORKERS, GIVE_UP_S)
        waited = time.monotonic() - killed_at
        kept = completed_scores(project)
        assert kept, "no trial had finished before the kill"
        for worker in WORKERS:
            lines = cluster.log(worker).strip().splitlines()
            assert codes[worker] == 2 and lines[-1].startswith("error: the search's chief at 127.0.0.1:"), lines[-5:]
            assert f"has not answered for {CHIEF_TIMEOUT_S}s (tuner.chief_timeout)" in lines[-1]
            assert "Traceback" not in cluster.log(worker)
        assert waited >= CHIEF_TIMEOUT_S

        # 2. The user restarts all three; the chief is killed and restarted at once: the workers wait for it.
        with open(config) as f:
            patient = yaml.safe_load(f)
        patient["tuner"]["chief_timeout"] = RESTART_WAIT_S
        cluster.config_path = os.path.join(str(tmp_path), "patient.yaml")
        with open(cluster.config_path, "w") as f:
            yaml.safe_dump(patient, f)
        for tuner_id in ("chief", *WORKERS):
            cluster.start(tuner_id)
        kill_chief_inside_a_trial(cluster, rng, after_an_end=False)  # the workers are back in their trials
        kept.update(completed_scores(project))
        time.sleep(rng.uniform(0.0, 2.0))
        cluster.start("chief")
        codes = cluster.wait_exit(["chief", *WORKERS], 300)
    finally:
        cluster.close()

    assert codes == {"chief": 0, "worker0": 0, "worker1": 0}, {t: cluster.log(t)[-2000:] for t in codes}
    for worker in WORKERS:  # the same processes went on after the restart
        assert "Traceback" not in cluster.log(worker) and "error:" not in cluster.log(worker)
    rows, oracle = search_results(project)
    ids = [row["trial"] for row in rows]
    assert len(ids) == MAX_TRIALS and len(set(ids)) == MAX_TRIALS
    assert all(row["status"] == "COMPLETED" for row in rows), rows
    assert sorted(oracle["end_order"]) == sorted(ids) and oracle["ongoing_trials"] == {}
    final = completed_scores(project)
    assert {trial_id: final[trial_id] for trial_id in kept} == kept  # finished trials were not run again
    assert "Reloading Tuner" in cluster.log("chief", 1) and "Reloading Tuner" in cluster.log("chief", 2)
    assert "Trial" in cluster.log("chief", 2) and "ended: COMPLETED" in cluster.log("chief", 2)
