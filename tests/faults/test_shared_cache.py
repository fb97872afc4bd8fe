"""Fault 4, two runs on one empty cache at once: both succeed and the cache ends valid.

Real processes: each imports everything, waits at a start gate, then prepares
the same data into the same empty cache, the second after a random delay so
that the two meet at different stages (reading, building, publishing). A
second test hammers save/load of one entry from several processes while they
also turn it stale at random moments, which forces replace-while-reading.
"""

import os
import random
import subprocess
import textwrap
import time

import numpy as np
import pytest

from textattn.data import cache

from .helpers import REPO, child_env, data_digest, prepare, python

pytestmark = pytest.mark.slow

ROUNDS = 4

PREPARE_WORKER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, os.path.join({repo!r}, "tests"))
    from textattn.startup import configure_process
    configure_process()  # as a command does: TensorFlow's start-up lines stay off stderr
    from faults.helpers import data_digest, prepare
    from textattn.data import text  # noqa: F401  (imports TensorFlow: done before the gate)
    data_path, cache_dir, ready, go, delay = sys.argv[1:6]
    open(ready, "w").close()
    deadline = time.time() + 120
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.002)
    time.sleep(float(delay))
    print(data_digest(prepare(data_path, cache_dir)))
""").format(repo=REPO)


@pytest.fixture(scope="module")
def fresh_digest(tiny_aclimdb, tmp_path_factory):
    return data_digest(prepare(tiny_aclimdb, tmp_path_factory.mktemp("fresh") / "cache"))


def wait_for(paths, procs, timeout=180):
    deadline = time.time() + timeout
    while not all(os.path.exists(p) for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"a worker exited early: {proc.communicate()[1]}")
        if time.time() > deadline:
            pytest.fail("workers never became ready")
        time.sleep(0.05)


def assert_cache_valid(cache_dir, capsys):
    """Every entry loads with its checksums; nothing temporary or discarded is left behind."""
    for level in ("texts", "tokens"):
        root = os.path.join(cache_dir, level)
        names = os.listdir(root)
        assert names and not [n for n in names if n.startswith(".") or ".discard-" in n], names
        for key in names:
            assert cache.load_entry(root, key) is not None, f"{level}/{key}"
    assert capsys.readouterr().err == ""


def test_two_runs_prepare_one_empty_cache_at_once(tiny_aclimdb, fresh_digest, tmp_path, capsys):
    rng = random.Random(4)
    for round_ in range(ROUNDS):
        cache_dir = tmp_path / f"cache{round_}"
        go = tmp_path / f"go{round_}"
        delays = [0.0, 0.0 if round_ == 0 else rng.uniform(0, 0.6)]
        procs, ready = [], []
        for i, delay in enumerate(delays):
            ready.append(tmp_path / f"ready{round_}-{i}")
            procs.append(
                subprocess.Popen(
                    [python(), "-c", PREPARE_WORKER, tiny_aclimdb, str(cache_dir), str(ready[-1]), str(go), str(delay)],
                    cwd=REPO,
                    env=child_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        try:
            wait_for(ready, procs)
            go.touch()
            results = [proc.communicate(timeout=180) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        for proc, (out, err) in zip(procs, results):
            assert proc.returncode == 0, f"round {round_} (delays {delays}): {err}"
            assert err == "", f"round {round_}: {err}"
            assert out.strip() == fresh_digest, f"round {round_}: a run got other data than a fresh cache gives"
        assert_cache_valid(cache_dir, capsys)


HAMMER_WORKER = textwrap.dedent("""
    import json, os, random, sys, time
    import numpy as np
    from textattn.data import cache
    root, go, seed, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    arrays = {"ids": np.arange(20000, dtype=np.int32).reshape(200, 100), "labels": np.arange(200) % 2}
    while not os.path.exists(go):
        time.sleep(0.001)
    hits = 0
    for i in range(iterations):
        entry = cache.load_entry(root, "k")
        if entry is None:
            cache.save_entry(root, "k", arrays)
        else:
            hits += 1
            assert set(entry) == set(arrays), sorted(entry)
            for name in arrays:
                assert np.array_equal(entry[name], arrays[name]), name
        if rng.random() < 0.2:  # make the entry stale (pre-checksum meta.json), atomically
            tmp = os.path.join(root, f".stale-{seed}")
            with open(tmp, "w") as f:
                json.dump({"arrays": list(arrays)}, f)
            try:
                os.replace(tmp, os.path.join(root, "k", "meta.json"))
            except FileNotFoundError:  # the entry is being replaced right now
                os.remove(tmp)
    print(hits)
""")


def test_many_processes_replace_and_read_one_entry(tmp_path, capsys):
    root, go = tmp_path / "cache", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [python(), "-c", HAMMER_WORKER, str(root), str(go), str(seed), "300"],
            cwd=REPO,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(3)
    ]
    try:
        time.sleep(1.0)  # let them import (no TensorFlow: a fraction of a second)
        go.touch()
        results = [proc.communicate(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0 and err == "", err
        assert int(out) > 0, "each process also read the entry"
    if cache.load_entry(str(root), "k") is None:  # the last action may have been a stale meta.json
        cache.save_entry(
            str(root), "k", {"ids": np.arange(20000, dtype=np.int32).reshape(200, 100), "labels": np.arange(200) % 2}
        )
    assert cache.load_entry(str(root), "k") is not None
    assert sorted(os.listdir(root)) == ["k"], "no temporary or discarded directory is left"
    assert capsys.readouterr().err == ""
