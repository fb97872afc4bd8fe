"""Fault 5 (part): a read-only ``--output-dir``. One ``error:`` line, exit 2, before any work;
nothing is written there and an earlier run in the same place is unharmed.

As root, permission bits do not stop a write, so the directory is a tmpfs
mounted read-only (skipped where mounting is not allowed); otherwise it is a
directory without write permission.
"""

import os
import subprocess

import pytest

from .helpers import REPO, child_env, python, snapshot

pytestmark = pytest.mark.slow


def write_earlier_run(root):
    run = os.path.join(root, "baseline-20260101-000000")
    os.makedirs(run)
    for name, data in (
        ("config.yaml", b"name: baseline\n"),
        ("model.keras", os.urandom(2048)),
        ("metrics.json", b"{}\n"),
    ):
        with open(os.path.join(run, name), "wb") as f:
            f.write(data)


@pytest.fixture
def readonly_dir(tmp_path):
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        write_earlier_run(path)
        path.chmod(0o555)
        yield str(path)
        path.chmod(0o755)
        return
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip("running as root and cannot mount a read-only tmpfs here")
    try:
        write_earlier_run(path)
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
        yield str(path)
    finally:
        subprocess.run(["umount", str(path)], capture_output=True)


@pytest.mark.parametrize("below", ["", "new/runs"])
def test_read_only_output_dir_is_one_line_and_exit_2(tiny_aclimdb, readonly_dir, tmp_path, below):
    before = snapshot(readonly_dir)
    output_dir = os.path.join(readonly_dir, below) if below else readonly_dir
    result = subprocess.run(
        [python(), "train.py", "--config", "configs/baseline.yaml", "--data", tiny_aclimdb, "--output-dir", output_dir],
        cwd=REPO,
        env=child_env(TEXTATTN_CACHE=tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write to --output-dir {output_dir!r} ("), lines
    assert lines[0].endswith("); pass a writable directory")
    assert "Run directory" not in result.stdout, "it fails before any work"
    assert not (tmp_path / "cache").exists(), "not even the data is prepared"
    assert snapshot(readonly_dir) == before, "the earlier run is unharmed and nothing was added"
