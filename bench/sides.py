"""The two sides of a comparison: the plain-Keras reference and textattn under a named setting.

Every side runs in its own process and comes back as the same record:
per-epoch wall seconds (validation pass included), per-epoch validation
accuracy, best validation and test accuracy, and the process's cost
(``measure.Process.usage``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys

from measure import median, run_process

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
REFERENCE = os.path.join(REPO, "..", "shared", "bench", "seed_reference.py")
REFERENCE_SIDE = "reference"
TIMED = os.path.join(BENCH, "timed.py")
BFC = "TF_CPU_ALLOCATOR_USE_BFC"

# textattn settings a comparison can name: environment laid over the bench's own
# (None removes a variable, so the package's default applies) and --set overrides.
AS_SHIPPED = {BFC: None, "KERAS_BACKEND": "tensorflow"}
SETTINGS = {
    "default": {"env": AS_SHIPPED, "set": []},
    "bfc+xla": {"env": {BFC: "true", "KERAS_BACKEND": "tensorflow"}, "set": ["train.jit_compile=true"]},
    "bfc": {"env": {BFC: "true", "KERAS_BACKEND": "tensorflow"}, "set": ["train.jit_compile=false"]},
    "xla": {"env": {BFC: "false", "KERAS_BACKEND": "tensorflow"}, "set": ["train.jit_compile=true"]},
    "plain": {"env": {BFC: "false", "KERAS_BACKEND": "tensorflow"}, "set": ["train.jit_compile=false"]},
    "jax": {"env": {BFC: None, "KERAS_BACKEND": "jax"}, "set": []},
    # The reference's own model: no padding mask, every batch the full length (no bucketing).
    "unmasked": {"env": AS_SHIPPED, "set": ["model.mask_padding=false", "train.bucket_by_length=false"]},
}


def reference_variant(config: str) -> str:
    """seed_attention -> attention: the reference script's name for a seed config."""
    name = os.path.splitext(os.path.basename(config))[0]
    if not name.startswith("seed_"):
        raise SystemExit(f"[bench] {config}: only seed_* configs have a reference run")
    return name[len("seed_") :]


def run_reference(config: str, data: str, epochs: int | None, label: str) -> dict:
    """The reference script on ``config``'s variant, its allocator and flags left as they are."""
    cmd = [sys.executable, TIMED, REFERENCE, "--data", data, "--variants", reference_variant(config)]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    proc = run_process(cmd, REPO, {BFC: None, "KERAS_BACKEND": "tensorflow"}, label)
    records = json_lines(proc.output)
    result = next(r for r in records if "variant" in r)
    return record(epoch_times(records, label), result["val_accuracy"], result["test_accuracy"], proc.usage())


def run_project(
    config: str, data: str, epochs: int | None, setting: str, runs_dir: str, cache: str, label: str
) -> dict:
    """``train.py`` on ``config`` under ``setting`` (a key of SETTINGS)."""
    spec = SETTINGS[setting]
    cmd = [
        sys.executable,
        TIMED,
        "--import",
        "textattn.startup:configure_process",
        "train.py",
        "--config",
        config,
        "--data",
        data,
        "--output-dir",
        runs_dir,
    ]
    for override in spec["set"]:
        cmd += ["--set", override]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    env = {**spec["env"], "TEXTATTN_CACHE": cache, "PYTHONUNBUFFERED": "1"}
    proc = run_process(cmd, REPO, env, label)
    match = re.search(r"Run directory: (.+)", proc.output)
    if not match:
        raise SystemExit(f"[bench] {label}: no run directory in its output:\n{proc.output[-2000:]}")
    run_dir = os.path.join(REPO, match.group(1).strip())
    history = read_history(os.path.join(run_dir, "history.csv"))
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    out = record(
        epoch_times(json_lines(proc.output), label),
        [row["val_accuracy"] for row in history],
        metrics["test_accuracy"],
        proc.usage(),
    )
    out["run_dir"] = run_dir
    return out


def read_history(path: str) -> list[dict]:
    """history.csv rows as floats, one per epoch, in epoch order (a re-logged epoch: the later row)."""
    by_epoch = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            by_epoch[int(row["epoch"])] = {k: float(v) for k, v in row.items() if v}
    return [by_epoch[e] for e in sorted(by_epoch)]


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` that is a JSON object."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def epoch_times(records: list[dict], label: str) -> dict:
    """The first fit's {"epoch_seconds", "epoch_cpu_seconds"} printed by timed.py."""
    for r in records:
        if "epoch_cpu_seconds" in r:
            return r
    raise SystemExit(f"[bench] {label}: no epoch times in its output")


def record(times: dict, val_accuracy, test_accuracy, usage) -> dict:
    """One side's figures from timed.py's ``times``: ``per_epoch`` is fit wall seconds / epochs (the
    first epoch's tracing and compiling included), ``steady_per_epoch`` the median of the epochs
    after the first, ``cpu_per_epoch`` fit CPU seconds (user + system, all threads) / epochs."""
    epoch_seconds = [float(s) for s in times["epoch_seconds"]]
    cpu = [float(s) for s in times["epoch_cpu_seconds"]]
    if not epoch_seconds or len(epoch_seconds) != len(val_accuracy) or len(cpu) != len(epoch_seconds):
        raise SystemExit(f"[bench] a run reported {len(epoch_seconds)} epoch times for {len(val_accuracy)} epochs")
    return {
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "epoch_cpu_seconds": [round(s, 3) for s in cpu],
        "val_accuracy": [round(float(a), 4) for a in val_accuracy],
        "per_epoch": sum(epoch_seconds) / len(epoch_seconds),
        "steady_per_epoch": median(epoch_seconds[1:] or epoch_seconds),
        "cpu_per_epoch": sum(cpu) / len(cpu),
        "best_val_accuracy": round(max(float(a) for a in val_accuracy), 4),
        "test_accuracy": round(float(test_accuracy), 4),
        "usage": usage,
    }


def seconds_to_accuracy(record: dict, target: float) -> float | None:
    """Fit seconds until the first epoch whose validation accuracy reaches ``target``; None if never."""
    elapsed = 0.0
    for seconds, accuracy in zip(record["epoch_seconds"], record["val_accuracy"]):
        elapsed += seconds
        if accuracy >= target:
            return elapsed
    return None
