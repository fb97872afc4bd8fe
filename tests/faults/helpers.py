"""Shared by the fault tests: run this checkout's code in a child process, prepare and compare data."""

from __future__ import annotations

import hashlib
import os
import sys

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
