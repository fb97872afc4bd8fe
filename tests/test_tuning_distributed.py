"""A distributed search: one KerasTuner chief and two workers on 127.0.0.1 sharing a tuner directory."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time

import pytest
from helpers import REPO, write_tune_yaml

from textattn.tuning.report import BEST_CONFIG, RESULTS_CSV

pytestmark = pytest.mark.slow  # three processes: a chief and two workers

TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_complete_a_search(tmp_path, tiny_aclimdb):
    max_trials = 6
    config_path = write_tune_yaml(tmp_path, max_trials=max_trials)
    command = [sys.executable, "train.py", "--tune", "--config", config_path, "--data", tiny_aclimdb]
    port = str(free_port())

    procs, logs = {}, {}
    try:
        for tuner_id in ("chief", "worker0", "worker1"):
            env = {
                **os.environ,
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "KERASTUNER_TUNER_ID": tuner_id,
                "KERASTUNER_ORACLE_IP": "127.0.0.1",
                "KERASTUNER_ORACLE_PORT": port,
            }
            logs[tuner_id] = open(os.path.join(str(tmp_path), f"{tuner_id}.log"), "w+")
            procs[tuner_id] = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=logs[tuner_id], stderr=subprocess.STDOUT, text=True
            )
        deadline = time.monotonic() + TIMEOUT_S
        while any(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        output = {}
        for tuner_id, log in logs.items():
            log.seek(0)
            output[tuner_id] = log.read()
            log.close()

    for tuner_id, proc in procs.items():
        assert proc.returncode == 0, f"{tuner_id} exited with {proc.returncode}:\n{output[tuner_id][-3000:]}"
    assert "Search (chief)" in output["chief"]
    assert "trial finished" not in output["chief"]  # the chief only serves the oracle
    runs = {w: output[w].count(f"[{w}] trial finished:") for w in ("worker0", "worker1")}
    assert all(n >= 1 for n in runs.values()), runs
    assert sum(runs.values()) == max_trials

    project = os.path.join(str(tmp_path), "tuner", "tiny")
    with open(os.path.join(project, RESULTS_CSV), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == max_trials and all(row["status"] == "COMPLETED" for row in rows)
    assert os.path.isfile(os.path.join(project, BEST_CONFIG))
