"""Atomic writes: the old file or the new one, never half of one, and no temporary file left behind."""

import json
import os

import pytest

from textattn.atomic_write import open_atomic, write_atomic, write_json, write_text_atomic


class Killed(BaseException):
    """Stands in for SIGKILL arriving while the file is being written."""


def test_a_write_that_dies_leaves_the_previous_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(str(path), {"accuracy": 0.9})

    def dies_halfway(tmp):
        with open(tmp, "w") as f:
            f.write('{"accuracy": 0.')
        raise Killed()

    with pytest.raises(Killed):
        write_atomic(str(path), dies_halfway)
    assert json.loads(path.read_text()) == {"accuracy": 0.9}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_text_is_replaced_whole_and_readable_by_others(tmp_path):
    path = tmp_path / "vocab.txt"
    write_text_atomic(str(path), "old\n")
    write_text_atomic(str(path), "new\nwords\n")
    assert path.read_text() == "new\nwords\n"
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_streamed_file_appears_only_when_complete(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text("old\n")
    with pytest.raises(Killed):
        with open_atomic(str(path)) as f:
            f.write(b"half")
            f.flush()
            assert [n for n in os.listdir(tmp_path) if n.startswith(".scores.jsonl.partial-")]
            raise Killed()
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["scores.jsonl"]
    with open_atomic(str(path)) as f:
        f.write(b"new\n")
        assert path.read_text() == "old\n"  # not until the block is left
    assert path.read_text() == "new\n" and os.listdir(tmp_path) == ["scores.jsonl"]
    assert os.stat(path).st_mode & 0o777 == 0o644
