"""Fault 1, a dead search worker: SIGKILL a worker in the middle of a trial.

A real chief and two workers (``textattn tune`` on 127.0.0.1) run a search.
worker1 is killed at a random moment inside a trial and restarted with the
same id; once the restarted worker has taken a trial it is killed again, at
another random moment, and left dead. Each time the chief hands the dead
worker's trial out again once ``tuner.worker_timeout`` has passed; worker0
runs the rest, the search ends with every trial completed once, and the
chief exits by itself.
"""

import os
import random
import re
import time

import pytest
from helpers import make_aclimdb, write_tune_yaml

from .helpers import Cluster, search_results

pytestmark = pytest.mark.slow

MAX_TRIALS = 8
KILLS = 2
WORKER_TIMEOUT_S = 5
SEED = 11
START_S = 120  # a process's start (TensorFlow import, first data preparation) on 2 loaded cores


def test_a_killed_workers_trial_is_run_again_and_the_search_completes(tmp_path):
    rng = random.Random(SEED)
    data = make_aclimdb(tmp_path / "data")
    config = write_tune_yaml(
        tmp_path, max_trials=MAX_TRIALS, epochs=3, patience=None, worker_timeout=WORKER_TIMEOUT_S, chief_timeout=120
    )
    cluster = Cluster(tmp_path, config, data)
    killed = []
    reclaims = 0  # where to look for the chief's next "goes to the next worker" line
    try:
        for tuner_id in ("chief", "worker0", "worker1"):
            cluster.start(tuner_id)
        for kill in range(KILLS):
            # The current worker1 (first start or a restart) takes a trial: kill it inside.
            begun = cluster.wait_for("worker1", r"\[worker1\] trial (\d+) begins", START_S)
            trial_id = begun.group(1)
            cluster.wait_for("worker1", r"Epoch 1/", START_S, begun.end())  # past preparing the trial's data
            delay = rng.uniform(0.0, 0.3)  # a cheap trial (a tiny hybrid) ends about 1 s after its first epoch starts
            time.sleep(delay)
            assert "[worker1] trial finished" not in cluster.log("worker1")[begun.end() :], (
                f"trial {trial_id} ended within {delay:.2f}s; the kill was not mid-trial"
            )
            cluster.kill("worker1")
            killed.append(trial_id)
            reclaims = cluster.wait_for(
                "chief", rf"trial {trial_id} goes to the next worker that asks", START_S, reclaims
            ).end()
            if kill < KILLS - 1:
                cluster.start("worker1")  # the same tuner id rejoins
        # The last worker1 stays dead: worker0 runs the rest, its trial included, and the chief exits.
        codes = cluster.wait_exit(["chief", "worker0"], 300)
    finally:
        cluster.close()

    assert codes == {"chief": 0, "worker0": 0}, {t: cluster.log(t)[-2000:] for t in codes}
    rows, oracle = search_results(os.path.join(str(tmp_path), "tuner", "tiny"))
    ids = [row["trial"] for row in rows]
    assert len(ids) == MAX_TRIALS and len(set(ids)) == MAX_TRIALS
    assert all(row["status"] == "COMPLETED" for row in rows), rows
    assert sorted(oracle["end_order"]) == sorted(ids) and oracle["ongoing_trials"] == {}
    workers = cluster.logs("worker0") + cluster.logs("worker1")
    for trial_id in set(killed):  # each killed trial began again after each kill (the restart may take it)
        assert len(re.findall(rf"\] trial {trial_id} begins", workers)) >= killed.count(trial_id) + 1, trial_id
    # The restarted worker1 took a trial: the second kill waited for it to begin one.
    assert "Best trial" in cluster.log("chief")
