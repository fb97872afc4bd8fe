"""Fault 3, a corrupt data cache: a truncated file, flipped bits, a damaged meta.json.

Each fault is injected at several random places, in both levels of the cache
(raw reviews ``texts/`` and token ids ``tokens/``). The next prepare prints one
warning line, rebuilds, and returns exactly the arrays of a fresh cache.
"""

import os
import random
import shutil
import subprocess

import pytest

from textattn.data import cache

from .helpers import REPO, SEED, TINY_DATA, child_env, data_digest, prepare, python

pytestmark = pytest.mark.slow

REPETITIONS = 3


@pytest.fixture(scope="module")
def fresh_digest(tiny_aclimdb, tmp_path_factory):
    """What a fresh cache gives: the digest every rebuilt run must match."""
    return data_digest(prepare(tiny_aclimdb, tmp_path_factory.mktemp("fresh") / "cache"))


def entry_dirs(cache_dir, level):
    root = os.path.join(cache_dir, level)
    return sorted(os.path.join(root, name) for name in os.listdir(root) if not name.startswith("."))


def truncate(rng, entry):
    path = os.path.join(entry, rng.choice(sorted(f for f in os.listdir(entry) if f.endswith(".npy"))))
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(rng.randrange(size))
    return os.path.basename(path)


def flip(rng, entry):
    path = os.path.join(entry, rng.choice(sorted(f for f in os.listdir(entry) if f.endswith(".npy"))))
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
        f.seek(0)
        f.write(data)
    return os.path.basename(path)


def damage_meta(rng, entry):
    path = os.path.join(entry, cache.META)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if rng.random() < 0.5:
            f.truncate(rng.randrange(len(data)))
        else:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            f.seek(0)
            f.write(data)
    return cache.META


FAULTS = {"truncate": truncate, "flip": flip, "meta": damage_meta}


@pytest.mark.parametrize("level", ["tokens", "texts"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_corrupt_entry_is_reported_once_and_rebuilt(tiny_aclimdb, fresh_digest, tmp_path, capsys, level, fault):
    cache_dir = tmp_path / "cache"
    prepare(tiny_aclimdb, cache_dir)
    rng = random.Random(f"{level}-{fault}")
    for repetition in range(REPETITIONS):
        entry = rng.choice(entry_dirs(cache_dir, level))
        damaged = FAULTS[fault](rng, entry)
        if level == "texts":
            shutil.rmtree(cache_dir / "tokens")  # so the raw reviews are read from the cache again
        capsys.readouterr()

        data = prepare(tiny_aclimdb, cache_dir)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"warning: cache entry {entry} is corrupt ({damaged}"), err
        assert err.endswith("; rebuilding\n")
        assert not data.cache_hit
        assert data_digest(data) == fresh_digest, f"repetition {repetition}: rebuilt data differ"

        again = prepare(tiny_aclimdb, cache_dir)
        assert again.cache_hit and capsys.readouterr().err == "", "the rebuilt entry is valid"
        assert data_digest(again) == fresh_digest


def test_old_entries_without_checksums_are_rebuilt_quietly(tiny_aclimdb, fresh_digest, tmp_path, capsys):
    import json

    cache_dir = tmp_path / "cache"
    prepare(tiny_aclimdb, cache_dir)
    for level in ("texts", "tokens"):
        for entry in entry_dirs(cache_dir, level):
            meta_path = os.path.join(entry, cache.META)
            with open(meta_path) as f:
                names = json.load(f)["arrays"]
            with open(meta_path, "w") as f:
                json.dump({"arrays": names}, f)  # the format before checksums
    capsys.readouterr()
    data = prepare(tiny_aclimdb, cache_dir)
    assert not data.cache_hit and data_digest(data) == fresh_digest
    assert capsys.readouterr().err == ""
    assert prepare(tiny_aclimdb, cache_dir).cache_hit


def test_train_on_a_corrupt_cache_warns_once_and_trains(tiny_aclimdb, tmp_path):
    """End to end: train.py after a flipped byte in the token cache; stderr is the one warning line."""
    cache_dir = tmp_path / "cache"
    prepare(tiny_aclimdb, cache_dir)
    flip(random.Random(11), entry_dirs(cache_dir, "tokens")[0])
    args = [
        "train.py",
        "--config",
        "configs/baseline.yaml",
        "--data",
        tiny_aclimdb,
        "--output-dir",
        str(tmp_path / "runs"),
        "--epochs",
        "1",
        "--set",
        "train.batch_size=16",
        "--set",
        "model.embedding_dim=8",
        *[f"--set=data.{k}={v}" for k, v in TINY_DATA.items()],
        "--set",
        f"seed={SEED}",
    ]
    result = subprocess.run(
        [python(), *args],
        cwd=REPO,
        env=child_env(TEXTATTN_CACHE=cache_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: cache entry") and "corrupt" in lines[0], result.stderr
    assert "Traceback" not in result.stdout
    data = prepare(tiny_aclimdb, cache_dir)
    assert data.cache_hit
