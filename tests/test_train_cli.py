"""train.py as a user runs it: dry run, bad input, a full tiny run, --resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import REPO

from textattn import runs
from textattn.callbacks import read_history

pytestmark = pytest.mark.slow  # every test here starts train.py in a new process

TINY = [
    "--set",
    "data.vocab_size=64",
    "--set",
    "data.sequence_length=32",
    "--set",
    "data.validation_size=40",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.batch_size=16",
]


def train_py(*args, cache=None, timeout=300, **kwargs):
    env = {**os.environ, "TEXTATTN_CACHE": str(cache or "/tmp/textattn-test-cache")}
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "train.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        **kwargs,
    )


def test_dry_run_prints_parameter_counts_without_data():
    result = train_py("--config", "configs/seed_transformer_pos.yaml", "--dry-run", "--data", "/nonexistent")
    assert result.returncode == 0, result.stderr
    assert "Total params: 168,482  trainable: 168,482  non-embedding: 8,482" in result.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["--config", "configs/nope.yaml"], "config file 'configs/nope.yaml' does not exist"),
        (["--config", "configs/seed_mha.yaml", "--set", "train.epochs=many"], "train.epochs: expected int"),
        (["--config", "configs/seed_mha.yaml", "--set", "model.mha.heads=4"], "unknown config key 'model.mha.heads'"),
        (
            ["--config", "configs/seed_mha.yaml", "--data", "/no/such/aclImdb.tar.gz"],
            "data path '/no/such/aclImdb.tar.gz' does not exist",
        ),
        (["--resume", "/no/such/run"], "is not a run directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, tmp_path):
    result = train_py(*args, "--output-dir", str(tmp_path))
    assert result.returncode == 2
    # TensorFlow's own start-up lines (CUDA stub) may precede it; ours is one line.
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr
    assert not os.listdir(tmp_path), "nothing is written for bad input"


def test_resume_after_kill_mid_run(tiny_aclimdb, tmp_path):
    """Kill a run after its first finished epoch; --resume finishes it with every file in place.

    A tiny epoch takes a fraction of a second, so the run is given many epochs: the kill
    must land mid-run even when this process is descheduled for several seconds.
    """
    epochs = 100
    out = tmp_path / "runs"
    args = [
        "--config",
        "configs/baseline.yaml",
        "--data",
        tiny_aclimdb,
        "--output-dir",
        str(out),
        *TINY,
        "--set",
        "train.batch_size=2",
        "--set",
        f"train.epochs={epochs}",
        "--set",
        "train.early_stopping=false",
        "--set",
        "train.jit_compile=false",
    ]
    env = {**os.environ, "TEXTATTN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "train.py", *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 240
        run_dir = None
        while time.time() < deadline:
            found = os.listdir(out) if out.exists() else []
            run_dir = str(out / found[0]) if found else None
            if run_dir and len(read_history(os.path.join(run_dir, runs.HISTORY))) >= 1:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the run never finished an epoch")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not os.path.exists(os.path.join(run_dir, runs.METRICS))
    finished_before = len(read_history(os.path.join(run_dir, runs.HISTORY)))
    assert finished_before < epochs

    result = train_py("--resume", run_dir, cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    history = read_history(os.path.join(run_dir, runs.HISTORY))
    assert [row["epoch"] for row in history] == list(range(epochs))
    metrics = json.load(open(os.path.join(run_dir, runs.METRICS)))
    assert metrics["epochs_run"] == epochs and metrics["resumed"] is True
    assert not os.path.exists(os.path.join(run_dir, runs.BACKUP)), "backup state is removed once the run finishes"
    assert set(os.listdir(run_dir)) >= {runs.CONFIG, runs.VOCAB, runs.MODEL, runs.HISTORY, runs.METRICS, runs.LOGS}
