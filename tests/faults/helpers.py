"""Shared by the fault tests: run this checkout's code in a child process, prepare and compare data."""

from __future__ import annotations

import hashlib
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
TINY_DATA = {"vocab_size": 64, "sequence_length": 32, "validation_size": 40, "keep": "start"}
SEED = 7


def child_env(**extra) -> dict:
    """The environment of a child process that imports this checkout's textattn."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEXTATTN_VERBOSE",)}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def python() -> str:
    return sys.executable


def snapshot(root) -> dict[str, bytes]:
    """{relative path: bytes} of every file under ``root``."""
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = f.read()
    return files


def data_config(data_path: str, cache_dir):
    """The tiny data settings on the local copy ``data_path`` (a settled source), cached in ``cache_dir``."""
    from textattn.config import DataConfig

    return DataConfig(**TINY_DATA, source="local", path=os.path.abspath(data_path), cache_dir=str(cache_dir))


def prepare(data_path: str, cache_dir):
    """``pipeline.prepare`` of the tiny data settings, quietly."""
    from textattn.data import pipeline

    return pipeline.prepare(data_config(data_path, cache_dir), SEED, verbose=False)


def data_digest(data) -> str:
    """One hash over every array and the vocabulary of a PreparedData."""
    h = hashlib.sha256()
    for name in ARRAYS:
        array = np.ascontiguousarray(getattr(data, name))
        h.update(f"{name}{array.dtype}{array.shape}".encode())
        h.update(array.tobytes())
    h.update("\n".join(data.vocabulary).encode())
    return h.hexdigest()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The chief and workers of one distributed search on 127.0.0.1: real ``textattn tune`` processes.

    Each start of a tuner id is an incarnation with its own log file
    (``ID.N.log`` in ``directory``); ``wait_for`` reads the current one.
    """

    def __init__(self, directory, config_path: str, data: str):
        self.directory = str(directory)
        self.config_path = config_path  # a test may point later starts at another file
        self.data = data
        self.port = str(free_port())
        self.procs: dict = {}
        self.paths: dict[str, list[str]] = {}
        self.events: list[str] = []  # "seconds since start: what", written to events.txt by close()
        self._t0 = time.monotonic()

    def _event(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self._t0:7.1f}s {what}")

    def start(self, tuner_id: str) -> None:
        import subprocess

        self._event(f"start {tuner_id}")
        paths = self.paths.setdefault(tuner_id, [])
        paths.append(os.path.join(self.directory, f"{tuner_id}.{len(paths)}.log"))
        env = child_env(
            TF_CPP_MIN_LOG_LEVEL=3,
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=self.port,
        )
        with open(paths[-1], "w") as log:
            command = [python(), "-m", "textattn", "tune", "--config", self.config_path, "--data", self.data]
            self.procs[tuner_id] = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, tuner_id: str) -> None:
        """SIGKILL the current incarnation of ``tuner_id``."""
        self.procs[tuner_id].kill()
        self.procs[tuner_id].wait()
        self._event(f"killed {tuner_id}")

    def log(self, tuner_id: str, incarnation: int = -1) -> str:
        with open(self.paths[tuner_id][incarnation]) as f:
            return f.read()

    def logs(self, tuner_id: str) -> str:
        """Every incarnation's log, in order."""
        return "".join(self.log(tuner_id, i) for i in range(len(self.paths[tuner_id])))

    def wait_for(self, tuner_id: str, pattern: str, timeout: float, start: int = 0):
        """The first match of regex ``pattern`` at or after ``start`` in the current log, waiting up to ``timeout`` s."""
        import re

        deadline = time.monotonic() + timeout
        while True:
            exited = self.procs[tuner_id].poll() is not None
            match = re.compile(pattern).search(self.log(tuner_id), start)
            if match:
                self._event(f"{tuner_id}: {match.group(0)}")
                return match
            if exited or time.monotonic() > deadline:
                why = f"exited with {self.procs[tuner_id].returncode}" if exited else f"not within {timeout}s"
                raise AssertionError(f"{tuner_id}: no {pattern!r} ({why}); its log ends:\n{self.log(tuner_id)[-3000:]}")
            time.sleep(0.1)

    def wait_exit(self, tuner_ids, timeout: float) -> dict:
        """Exit statuses of ``tuner_ids`` once all have exited; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while any(self.procs[t].poll() is None for t in tuner_ids):
            if time.monotonic() > deadline:
                running = [t for t in tuner_ids if self.procs[t].poll() is None]
                raise AssertionError(
                    f"still running after {timeout}s: {running}; logs:\n"
                    + "\n".join(f"--- {t}\n{self.log(t)[-2000:]}" for t in running)
                )
            time.sleep(0.2)
        self._event(f"exited: {', '.join(tuner_ids)}")
        return {t: self.procs[t].returncode for t in tuner_ids}

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        with open(os.path.join(self.directory, "events.txt"), "w") as f:
            f.write("\n".join(self.events) + "\n")


def search_results(project: str) -> tuple[list[dict], dict]:
    """The rows of a finished search's results.csv and its oracle.json."""
    import csv
    import json

    from textattn.tuning.report import RESULTS_CSV

    with open(os.path.join(project, RESULTS_CSV), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(project, "oracle.json")) as f:
        oracle = json.load(f)
    return rows, oracle
