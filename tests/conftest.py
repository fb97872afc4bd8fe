"""Shared fixtures: a tiny aclImdb tree, a tiny config, a tiny trained run, the real archive."""

from __future__ import annotations

import os
import random

import pytest

import textattn  # noqa: F401  (quiets TensorFlow's start-up logging)
from textattn.config import Config, config_from_dict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_ARCHIVE = os.environ.get("TEXTATTN_DATA") or os.path.join(REPO, "..", "shared", "data", "aclImdb.tar.gz")

POSITIVE = "great wonderful superb brilliant moving loved excellent beautiful".split()
NEGATIVE = "awful boring terrible waste dull hated worst poor".split()
NEUTRAL = "the film movie plot actor scene story and a of it was this director music ending".split()


def write_review(rng: random.Random, label: str, length: int | None = None) -> str:
    length = length or rng.randint(8, 40)
    cue = POSITIVE if label == "pos" else NEGATIVE
    words = [rng.choice(cue) if rng.random() < 0.3 else rng.choice(NEUTRAL) for _ in range(length)]
    words[rng.randrange(length)] = rng.choice(cue).upper() + "!"
    return " ".join(words[: length // 2]) + " <br /><br />" + " ".join(words[length // 2:]) + "."


def make_aclimdb(root, n_train=120, n_test=60, n_unsup=10, seed=0) -> str:
    """Write a small aclImdb tree (balanced, learnable) under ``root``; return its path."""
    rng = random.Random(seed)
    base = os.path.join(str(root), "aclImdb")
    counts = {("train", "pos"): n_train // 2, ("train", "neg"): n_train // 2,
              ("test", "pos"): n_test // 2, ("test", "neg"): n_test // 2, ("train", "unsup"): n_unsup}
    for (split, label), n in counts.items():
        folder = os.path.join(base, split, label)
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            rating = 0 if label == "unsup" else (rng.randint(7, 10) if label == "pos" else rng.randint(1, 4))
            with open(os.path.join(folder, f"{i}_{rating}.txt"), "w", encoding="utf-8") as f:
                f.write(write_review(rng, "pos" if label == "unsup" else label))
    return base


@pytest.fixture(scope="session")
def tiny_aclimdb(tmp_path_factory) -> str:
    """Path of a tiny aclImdb directory: 120 train, 60 test, 10 unsup reviews."""
    return make_aclimdb(tmp_path_factory.mktemp("tiny_data"))


def tiny_config(tmp_path, variant="baseline", **model) -> Config:
    """A config for fast tests on the tiny tree: vocab 64, length 32, 2 epochs."""
    return config_from_dict({
        "name": f"tiny_{variant}",
        "seed": 7,
        "data": {"vocab_size": 64, "sequence_length": 32, "validation_size": 40,
                 "cache_dir": os.path.join(str(tmp_path), "cache")},
        "model": {"variant": variant, "embedding_dim": 8, "mask_padding": True, **model},
        "train": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01},
    })


@pytest.fixture
def make_tiny_config(tmp_path):
    def make(variant="baseline", **model):
        return tiny_config(tmp_path, variant, **model)
    return make


@pytest.fixture(scope="session")
def tiny_run(tiny_aclimdb, tmp_path_factory) -> str:
    """A finished run directory trained on the tiny tree (baseline, masked)."""
    from textattn.training import train

    tmp = tmp_path_factory.mktemp("tiny_run")
    return train(tiny_config(tmp), data_path=tiny_aclimdb, output_dir=str(tmp / "runs"), verbose=0)


@pytest.fixture(scope="session")
def real_archive() -> str:
    """The real aclImdb archive; required in CI (fails there if missing)."""
    if not os.path.exists(REAL_ARCHIVE):
        message = f"real IMDB archive not found at {REAL_ARCHIVE}; set TEXTATTN_DATA"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REAL_ARCHIVE
