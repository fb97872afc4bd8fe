"""Fault 5 (part): a full disk. A run, or an export, written to a filesystem with too little room
gives one ``error:`` line and exit 2; the new run directory never looks complete (no
``metrics.json``, which a run writes last; its best-epoch ``model.keras`` may be there, written
whole, as during any run), and an earlier run and export in the same place are unharmed.

The filesystem is a small tmpfs (mounting needs root), filled with a file so that only a random
number of KiB is left: the write that fails falls at a different point each time (the run's first
files, TensorBoard's logs, the history, the model; the export's variables or its assets).
"""

import os
import random
import shutil
import subprocess

import pytest

from .helpers import REPO, child_env, python, snapshot

pytestmark = pytest.mark.slow

DISK_KIB = 1024
TINY = ["--set", "data.validation_size=40", "--set", "data.vocab_size=64", "--set", "data.sequence_length=32"]


def run(args, tmp_path):
    return subprocess.run(
        [python(), *args],
        cwd=REPO,
        env=child_env(TEXTATTN_CACHE=tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_disk_error_line(result):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: No space left on device"), lines
    assert lines[0].endswith("; free some space or choose another directory, then rerun")


@pytest.fixture(scope="module")
def earlier(tiny_aclimdb, tmp_path_factory):
    """A complete earlier run and its export, made on an ordinary disk."""
    tmp = tmp_path_factory.mktemp("earlier")
    result = run(
        [
            "train.py",
            "--config",
            "configs/baseline.yaml",
            "--data",
            tiny_aclimdb,
            "--output-dir",
            str(tmp / "runs"),
            "--epochs",
            "2",
            *TINY,
        ],
        tmp,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = (tmp / "runs").iterdir()
    result = run(["-m", "textattn", "export", str(run_dir), str(tmp / "export")], tmp)
    assert result.returncode == 0, result.stderr[-2000:]
    return run_dir, tmp / "export"


@pytest.fixture
def small_disk(tmp_path, earlier):
    """A tmpfs of DISK_KIB KiB holding the earlier run (runs/) and export (export/); yields (path, fill)
    where ``fill(free_kib)`` leaves about that much room."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full filesystem needs a tmpfs, and mounting one needs root")
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_KIB}k", "tmpfs", str(path)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode().strip()}")
    try:
        run_dir, export = earlier
        shutil.copytree(run_dir, path / "runs" / run_dir.name)
        shutil.copytree(export, path / "export")

        def fill(free_kib):
            stat = os.statvfs(path)
            room = stat.f_bavail * stat.f_frsize - free_kib * 1024
            with open(path / "filler", "wb") as f:
                f.write(b"\0" * max(room, 0))
            os.sync()

        yield path, fill
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.parametrize("free_kib", sorted(random.Random(5).sample(range(0, 90, 4), 3)))
def test_a_run_on_a_full_disk_is_one_line_and_leaves_no_complete_run(tiny_aclimdb, small_disk, tmp_path, free_kib):
    disk, fill = small_disk
    fill(free_kib)
    before = snapshot(disk / "runs"), snapshot(disk / "export")
    result = run(
        [
            "train.py",
            "--config",
            "configs/baseline.yaml",
            "--data",
            tiny_aclimdb,
            "--output-dir",
            str(disk / "runs"),
            "--epochs",
            "2",
            *TINY,
        ],
        tmp_path,
    )
    assert_one_disk_error_line(result)
    earlier_name = next(iter(before[0])).split(os.sep)[0]
    for entry in (disk / "runs").iterdir():
        if entry.name != earlier_name:
            assert not (entry / "metrics.json").exists(), f"{entry} looks complete"
    after = {k: v for k, v in snapshot(disk / "runs").items() if k.split(os.sep)[0] == earlier_name}
    assert after == before[0], "the earlier run is unharmed"
    assert snapshot(disk / "export") == before[1], "the earlier export is unharmed"


@pytest.mark.parametrize("free_kib", sorted(random.Random(6).sample(range(0, 160, 8), 3)))
def test_an_export_on_a_full_disk_is_one_line_and_keeps_the_earlier_export(small_disk, earlier, tmp_path, free_kib):
    disk, fill = small_disk
    run_dir, _ = earlier
    fill(free_kib)
    before = snapshot(disk / "export")
    result = run(["-m", "textattn", "export", str(run_dir), str(disk / "export"), "--overwrite"], tmp_path)
    assert_one_disk_error_line(result)
    assert snapshot(disk / "export") == before, "the earlier export is unharmed"
    leftovers = [p.name for p in disk.iterdir() if p.name not in ("runs", "export", "filler")]
    assert not leftovers, f"a failed export cleans up its staging directory: {leftovers}"
