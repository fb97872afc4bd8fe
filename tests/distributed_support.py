"""Shared by tests/test_distributed.py: a data-parallel training run of 2 real ``textattn train`` processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from helpers import REPO

# One thread pool per process (the machine has 2 cores for both workers).
ONE_THREAD = {
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that nothing listens on now."""
    import socket

    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    )


def jax_env(port: int, num: int, process_id: int) -> dict:
    return {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": str(num),
        "KERAS_DISTRIBUTION_PROCESS_ID": str(process_id),
    }


def env_for(tmp_path, backend: str, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CONFIG", "TEXTATTN_VERBOSE") and not k.startswith("KERAS_DISTRIBUTION_")
    }
    env.update(
        ONE_THREAD,
        KERAS_BACKEND=backend,
        PYTHONPATH=REPO,
        PYTHONUNBUFFERED="1",  # the logs a test waits on (e.g. "Epoch 3/") arrive when printed, not in 8 KiB blocks
        TEXTATTN_CACHE=str(tmp_path / "cache"),
        TMPDIR=str(tmp_path / "scratch"),
    )
    env.update({k: str(v) for k, v in extra.items()})
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return env


class Workers:
    """Processes of one training run; each start writes ``name.N.log`` in ``logs``."""

    def __init__(self, logs):
        self.logs = str(logs)
        os.makedirs(self.logs, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.paths: dict[str, list[str]] = {}

    def start(self, name: str, args: list[str], env: dict) -> None:
        paths = self.paths.setdefault(name, [])
        paths.append(os.path.join(self.logs, f"{name}.{len(paths)}.log"))
        with open(paths[-1], "w") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "textattn", "train", *args],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self, name: str) -> str:
        with open(self.paths[name][-1], errors="replace") as f:
            return f.read()

    def wait_for(self, name: str, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{name}: no {text!r} within {timeout}s (exit {self.procs[name].poll()}); "
                    f"log ends:\n{self.log(name)[-3000:]}"
                )
            time.sleep(0.05)

    def wait(self, names, timeout: float) -> dict[str, int]:
        """Exit codes once all of ``names`` have exited; AssertionError (after killing them) past ``timeout``."""
        deadline = time.monotonic() + timeout
        while any(self.procs[n].poll() is None for n in names):
            if time.monotonic() > deadline:
                running = [n for n in names if self.procs[n].poll() is None]
                logs = "\n".join(f"--- {n}\n{self.log(n)[-2000:]}" for n in running)
                self.close()
                raise AssertionError(f"still running after {timeout}s: {running}\n{logs}")
            time.sleep(0.1)
        return {n: self.procs[n].returncode for n in names}

    def kill(self, name: str) -> None:
        self.procs[name].kill()
        self.procs[name].wait(timeout=30)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def run_single(args: list[str], env: dict, timeout: float = 170) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "textattn", "train", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def history(run_dir) -> list[dict]:
    from textattn.callbacks import read_history

    return read_history(os.path.join(str(run_dir), "history.csv"))
