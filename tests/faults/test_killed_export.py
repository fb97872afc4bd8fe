"""Fault 7, a killed export: SIGKILL ``textattn export RUN TARGET`` while it writes.

Real export processes, with no earlier export at TARGET and with one there
(``--overwrite``), are killed at random moments of the write: up to 0.3 s
after the staging directory appears (the model is being traced), up to 0.3 s
after the variables begin to be written, and 0.3-1.5 s after that (around the
swap into place; on a quiet machine the export may finish first, and then must
have finished cleanly with its export in place). TARGET is then absent, the
earlier export byte for byte, or a complete new export, never half of one;
rerunning the export works. A kill simulated after each filesystem step of
the swap itself checks the moments a poll cannot hit.
"""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from textattn import export, serving

from .helpers import REPO, child_env, python, snapshot

pytestmark = pytest.mark.slow

SEED = 5
# When to kill: a random delay in [low, high) s after the staging directory first holds this entry
# ("": after it appears). Measured alone here: staging appears 6.7 s after the start, variables/ 1.1 s
# later, saved_model.pb, metadata.json and the swap 0.1 s after that; the process exits 2.4 s later.
# Entries that live only milliseconds (saved_model.pb) are missed by a poll, hence the third moment.
MOMENTS = (("", 0.0, 0.3), ("variables", 0.0, 0.3), ("variables", 0.3, 1.5))
START_S = 240  # six exports starting at once on 2 loaded cores


def is_complete_export(path: str, reference: dict) -> bool:
    """``path`` holds the same files as the reference export, and its metadata reads."""
    files = snapshot(path)
    if sorted(files) != sorted(reference) or not all(files.values()):
        return False
    return json.loads(files[serving.METADATA])["format"] == "textattn-savedmodel"


def staging_dirs(target: str) -> list[str]:
    parent, name = os.path.split(target)
    return glob.glob(os.path.join(parent, f".{name}.tmp-*"))


def inode(path: str):
    return os.stat(path).st_ino if os.path.lexists(path) else None


def reached(case) -> bool:
    """The export has reached its moment: the entry is in staging, or the export is in place already
    (a poll can miss an entry that lives briefly on a loaded machine)."""
    if any(os.path.lexists(os.path.join(d, case["moment"])) for d in staging_dirs(case["target"])):
        return True
    return inode(case["target"]) != case["inode"]


@pytest.fixture(scope="module")
def reference(tiny_run, tmp_path_factory):
    """An export of the tiny run (the earlier export, where there is one) and its files."""
    path = str(tmp_path_factory.mktemp("reference") / "model")
    export.export_run(tiny_run, path)
    return path, snapshot(path)


def test_sigkill_during_export_leaves_no_half_export(tiny_run, reference, tmp_path):
    rng = random.Random(SEED)
    ref_path, ref_files = reference
    cases = []
    for earlier in (False, True):
        for i, (moment, low, high) in enumerate(MOMENTS):
            target = str(tmp_path / f"{'earlier' if earlier else 'none'}-{i}" / "model")
            os.makedirs(os.path.dirname(target))
            if earlier:
                shutil.copytree(ref_path, target)
            cmd = [python(), "-m", "textattn", "export", tiny_run, target] + (["--overwrite"] if earlier else [])
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=child_env(TF_CPP_MIN_LOG_LEVEL=3),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            cases.append(
                {
                    "earlier": earlier,
                    "moment": moment,
                    "last": i == len(MOMENTS) - 1,
                    "target": target,
                    "proc": proc,
                    "delay": rng.uniform(low, high),
                    "seen": None,
                    "inode": inode(target),
                }
            )

    deadline = time.monotonic() + START_S
    while any(case["proc"].returncode is None for case in cases) and time.monotonic() < deadline:
        for case in cases:
            proc = case["proc"]
            if proc.poll() is not None:
                continue
            if case["seen"] is None:
                if reached(case):
                    case["seen"] = time.monotonic()
            elif time.monotonic() >= case["seen"] + case["delay"]:
                proc.kill()
                proc.wait()
        time.sleep(0.005)
    for case in cases:
        if case["proc"].poll() is None:
            case["proc"].kill()
            case["proc"].wait()

    outcomes = []
    for case in cases:
        proc, target = case["proc"], case["target"]
        where = (
            f"{'earlier export' if case['earlier'] else 'no export'}, "
            f"kill {case['delay']:.2f}s after {case['moment'] or 'staging'}"
        )
        assert case["seen"] is not None, (
            f"{where}: the moment never came (exit {proc.returncode}); stderr:\n{proc.stderr.read()[-2000:]}"
        )
        # On a quiet machine the last window (around the swap) can outlast the export: then it must
        # have finished cleanly, with the new export in place; every earlier window is a real kill.
        finished_first = case["last"] and proc.returncode == 0
        assert finished_first or proc.returncode == -signal.SIGKILL, (
            f"{where}: ended with {proc.returncode} before the kill"
        )
        if not os.path.lexists(target):
            assert not case["earlier"], f"{where}: the earlier export is gone"
            outcome = "absent"
        elif snapshot(target) == ref_files:
            outcome = "earlier"
        else:
            assert is_complete_export(target, ref_files), f"{where}: half an export at {target}"
            outcome = "new"
        assert not finished_first or outcome in ("new", "earlier"), f"{where}: finished, yet {outcome}"
        # Nothing but hidden staging left beside it.
        assert [n for n in os.listdir(os.path.dirname(target)) if not n.startswith(".")] == (
            ["model"] if outcome != "absent" else []
        ), where
        outcomes.append(outcome)
    # Rerunning the export, as a user would, works in both situations.
    for case in (cases[0], cases[-1]):
        export.export_run(tiny_run, case["target"], overwrite=True)
        assert is_complete_export(case["target"], ref_files)
    print(
        "outcomes:",
        outcomes,
        "finished before the kill:",
        [case["target"] for case in cases if case["proc"].returncode == 0],
    )


class Killed(BaseException):
    """Stands in for SIGKILL between two filesystem steps."""


@pytest.mark.parametrize("after_steps", [0, 1, 2, 3])
def test_a_kill_between_the_steps_of_the_swap_keeps_an_export_in_place(reference, tmp_path, monkeypatch, after_steps):
    ref_path, ref_files = reference
    target = str(tmp_path / "model")
    shutil.copytree(ref_path, target)
    staging = str(tmp_path / ".model.tmp-new")
    shutil.copytree(ref_path, staging)
    with open(os.path.join(staging, serving.METADATA), "a") as f:
        f.write(" ")  # the new export differs from the earlier one
    new_files = snapshot(staging)

    steps = {"n": 0}

    def step(real):
        def run(*args, **kwargs):
            result = real(*args, **kwargs)
            steps["n"] += 1
            if steps["n"] == after_steps:
                raise Killed()
            return result

        return run

    monkeypatch.setattr(export.os, "rename", step(os.rename))
    monkeypatch.setattr(export.shutil, "rmtree", step(shutil.rmtree))
    monkeypatch.setattr(export, "exchange", step(export.exchange))
    try:
        export._move_into_place(staging, target, overwrite=True)
    except Killed:
        pass
    monkeypatch.undo()
    assert os.path.isdir(target) and snapshot(target) in (ref_files, new_files), (
        f"killed after step {after_steps}: neither the earlier nor the new export is in place"
    )
