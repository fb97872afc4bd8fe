"""2 loopback workers against 1 process: the same training (configs/fast.yaml, same global batch), timed.

    python bench/distributed_loopback.py --data aclImdb_v1.tar.gz --epochs 6 --rounds 2

Per round, in this order: one process (train.distribution=none) with the machine's threads, one
process with one thread pool (TF_NUM_INTEROP_THREADS=TF_NUM_INTRAOP_THREADS=1), and 2 workers on
127.0.0.1 (TensorFlow MultiWorkerMirroredStrategy, one thread pool each). Printed per run: wall
seconds of the whole command (the slower worker's), fit seconds (sum of history.csv's
epoch_seconds), best val_accuracy. Early stopping is off so every run trains every epoch. On one
machine the 2 workers share its cores and add the all-reduce of every step: they are not faster.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_THREAD = {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1"}


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def summary(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return sum(float(r["epoch_seconds"]) for r in rows), max(float(r["val_accuracy"]) for r in rows)


def run(name, run_dir, args, envs):
    base = {**os.environ, "PYTHONPATH": REPO}
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "textattn", "train", *args, "--run-dir", run_dir],
            cwd=REPO,
            env={**base, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    errors = [p.communicate(timeout=3600)[1] for p in procs]
    wall = time.perf_counter() - start
    if any(p.returncode for p in procs):
        raise SystemExit(f"{name} failed:\n" + "\n".join(e[-2000:] for e in errors))
    fit, val = summary(run_dir)
    result = {
        "run": name,
        "wall_s": round(wall, 1),
        "fit_s": round(fit, 1),
        "best_val_accuracy": round(val, 4),
        "load_before": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result), flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    a = parser.parse_args()
    args = [
        "--config",
        "configs/fast.yaml",
        "--data",
        os.path.abspath(a.data),
        "--epochs",
        str(a.epochs),
        "--set",
        "train.early_stopping=false",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("TEXTATTN_CACHE", os.path.join(tmp, "cache"))
        run("warm-up (data cache)", os.path.join(tmp, "warm"), [*args, "--epochs", "1"], [{}])
        for r in range(a.rounds):
            run("1 process", os.path.join(tmp, f"one-{r}"), args, [{}])
            run("1 process, 1 thread pool", os.path.join(tmp, f"one-thread-{r}"), args, [ONE_THREAD])
            ports = free_ports(2)
            cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
            run(
                "2 workers, 1 thread pool each",
                os.path.join(tmp, f"two-{r}"),
                [*args, "--set", "train.distribution=multi_worker"],
                [
                    {
                        **ONE_THREAD,
                        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                    }
                    for i in (0, 1)
                ],
            )


if __name__ == "__main__":
    main()
