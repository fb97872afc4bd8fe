"""Fault 6, SIGTERM during training: it behaves like Ctrl-C.

A real train.py run is sent SIGTERM at random moments after its first epoch
is in history.csv (mid-epoch, at an epoch end, while the backup is written).
Each time it exits promptly with status 143 and one clear line, leaves a
consistent backup and no temporary files, and ``--resume`` finishes every epoch.
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest
from helpers import make_aclimdb

from textattn import runs
from textattn.callbacks import read_history

from .helpers import REPO, child_env, python

pytestmark = pytest.mark.slow

EPOCHS = 10
REPETITIONS = 3
PROMPT_S = 30  # SIGTERM to exit, teardown included, on 2 shared cores


@pytest.fixture(scope="module")
def slower_aclimdb(tmp_path_factory):
    """Enough reviews for epochs of about 0.35 s at batch size 2, so a signal can land inside one."""
    return make_aclimdb(tmp_path_factory.mktemp("sigterm_data"), n_train=440, n_test=40, n_unsup=0)


def train_args(data, out):
    return [
        "train.py",
        "--config",
        "configs/baseline.yaml",
        "--data",
        data,
        "--output-dir",
        str(out),
        "--set",
        "data.vocab_size=64",
        "--set",
        "data.sequence_length=32",
        "--set",
        "data.validation_size=40",
        "--set",
        "model.embedding_dim=8",
        "--set",
        "train.batch_size=2",
        "--set",
        f"train.epochs={EPOCHS}",
        "--set",
        "train.early_stopping=false",
        "--set",
        "train.jit_compile=false",
    ]


def wait_for_first_epoch(proc, out, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before its first epoch: {proc.communicate()[1]}")
        found = os.listdir(out) if out.exists() else []
        run_dir = str(out / found[0]) if found else None
        if run_dir and read_history(os.path.join(run_dir, runs.HISTORY)):
            return run_dir
        time.sleep(0.05)
    pytest.fail("the run never finished an epoch")


def leftover_temporaries(run_dir):
    return [os.path.join(d, f) for d, _, files in os.walk(run_dir) for f in files if f.startswith(".tmp-")]


def test_sigterm_stops_training_cleanly_and_resume_finishes(slower_aclimdb, tmp_path):
    rng = random.Random(6)
    env = child_env(TEXTATTN_CACHE=tmp_path / "cache")
    for repetition in range(REPETITIONS):
        out = tmp_path / f"runs{repetition}"
        proc = subprocess.Popen(
            [python(), *train_args(slower_aclimdb, out)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            run_dir = wait_for_first_epoch(proc, out)
            time.sleep(rng.uniform(0, 0.8))  # epochs take about 0.35 s here
            proc.send_signal(signal.SIGTERM)
            sent = time.time()
            stdout, stderr = proc.communicate(timeout=PROMPT_S + 30)
            took = time.time() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        moment = f"repetition {repetition}"
        assert proc.returncode == 143, f"{moment}: exit {proc.returncode}\n{stderr}\n{stdout[-2000:]}"
        assert took < PROMPT_S, f"{moment}: took {took:.1f}s to exit"
        assert stderr.splitlines() == ["received SIGTERM: interrupted; continue with --resume RUN_DIR"], stderr
        assert "Traceback" not in stdout

        finished = read_history(os.path.join(run_dir, runs.HISTORY))
        assert 1 <= len(finished) < EPOCHS, f"{moment}: the signal was meant to land mid-run"
        assert not os.path.exists(os.path.join(run_dir, runs.METRICS)), "an interrupted run does not look finished"
        assert leftover_temporaries(run_dir) == []
        backup = os.path.join(run_dir, runs.BACKUP)
        with open(os.path.join(backup, "training_metadata.json")) as f:
            saved_epoch = json.load(f)["epoch"]
        assert 0 <= saved_epoch < len(finished) + 1, f"{moment}: backup says epoch {saved_epoch}"
        assert os.path.getsize(os.path.join(backup, "latest.weights.h5")) > 0

        resumed = subprocess.run(
            [python(), "train.py", "--resume", run_dir], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, f"{moment}: {resumed.stderr}"
        assert resumed.stderr == "", resumed.stderr
        history = read_history(os.path.join(run_dir, runs.HISTORY))
        assert [row["epoch"] for row in history] == list(range(EPOCHS))
        with open(os.path.join(run_dir, runs.METRICS)) as f:
            metrics = json.load(f)
        assert metrics["epochs_run"] == EPOCHS and metrics["resumed"] is True
        assert not os.path.exists(backup), "the backup is removed once the run finishes"
