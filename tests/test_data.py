"""Data pipeline on a tiny aclImdb tree in tmp_path: reading, splits, vectorization, cache, bad input."""

import os
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from textattn.config import Config, DataConfig
from textattn.data import aclimdb, pipeline, tfds_source
from textattn.data.source import Source, resolve_data, source_of
from textattn.data.text import standardize_review, truncate_and_pad
from textattn.errors import UserError


def tar_tree(tree, path):
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname="aclImdb")
    return str(path)


def test_directory_and_archive_read_identically(tiny_aclimdb, tmp_path):
    archive = tar_tree(tiny_aclimdb, tmp_path / "aclImdb.tar.gz")
    from_dir = aclimdb.read_reviews(tiny_aclimdb, ("train", "test", "unsup"))
    from_archive = aclimdb.read_reviews(archive, ("train", "test", "unsup"))
    assert from_dir == from_archive
    texts, labels = from_dir["train"]
    assert len(texts) == 120 and labels.count(0) == labels.count(1) == 60
    assert len(from_dir["test"][0]) == 60 and len(from_dir["unsup"][0]) == 10
    assert set(from_dir["unsup"][1]) == {-1}
    # The parent of aclImdb/ is accepted too.
    assert aclimdb.read_reviews(os.path.dirname(tiny_aclimdb), ("test",)) == {"test": from_dir["test"]}


def test_standardization():
    out = standardize_review(tf.constant(["Great MOVIE!<br /><br />Loved it, really... 10/10"]))
    assert out.numpy()[0].decode() == "great movie  loved it really 1010"


def test_truncate_keeps_the_chosen_end():
    ragged = tf.ragged.constant([[1, 2, 3, 4, 5], [6, 7]])
    np.testing.assert_array_equal(truncate_and_pad(ragged, 3, "start"), [[1, 2, 3], [6, 7, 0]])
    np.testing.assert_array_equal(truncate_and_pad(ragged, 3, "end"), [[3, 4, 5], [6, 7, 0]])


def test_prepare_splits_vectorizes_and_caches(tiny_aclimdb, tmp_path):
    config = DataConfig(
        vocab_size=40,
        sequence_length=16,
        validation_size=30,
        cache_dir=str(tmp_path / "cache"),
        source="local",
        path=tiny_aclimdb,
    )
    first = pipeline.prepare(config, seed=3, verbose=False)
    assert not first.cache_hit
    assert first.x_train.shape == (90, 16) and first.x_val.shape == (30, 16) and first.x_test.shape == (60, 16)
    assert first.x_train.dtype == np.int32 and first.x_train.max() < 40
    assert first.vocabulary[:2] == ["", "[UNK]"] and len(first.vocabulary) <= 40
    assert "br" not in first.vocabulary
    second = pipeline.prepare(config, seed=3, verbose=False)
    assert second.cache_hit
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_val, second.y_val)
    # Another seed gives another split; the validation set comes from train only.
    other = pipeline.prepare(config, seed=4, verbose=False)
    assert not np.array_equal(first.y_train, other.y_train)
    assert len(other.x_test) == 60


def test_vocabulary_is_adapted_on_the_part_trained_on_only(tiny_aclimdb, tmp_path):
    config = DataConfig(
        vocab_size=1000,
        sequence_length=8,
        validation_size=30,
        cache_dir=str(tmp_path / "c"),
        source="local",
        path=tiny_aclimdb,
    )
    splits = pipeline.split_texts(config, 3)
    data = pipeline.prepare(config, 3, verbose=False)
    fit_words = {w for t in splits.fit[0] for w in standardize_review(tf.constant(t)).numpy().decode().split()}
    assert set(data.vocabulary[2:]) == fit_words


def test_limits(tiny_aclimdb, tmp_path):
    config = DataConfig(
        vocab_size=40,
        sequence_length=8,
        validation_size=30,
        train_limit=10,
        test_limit=7,
        cache_dir=str(tmp_path / "cache"),
        source="local",
        path=tiny_aclimdb,
    )
    data = pipeline.prepare(config, 1, verbose=False)
    assert len(data.x_train) == 10 and len(data.x_test) == 7


def settled(data: DataConfig, cli_path=None) -> tuple:
    resolved = resolve_data(Config(data=data), cli_path).data
    return resolved.source, resolved.path


def test_the_source_is_settled_once_in_order(tiny_aclimdb, tmp_path, monkeypatch):
    other = os.path.dirname(tiny_aclimdb)  # the directory holding aclImdb/ is accepted too
    monkeypatch.setenv("TEXTATTN_DATA", other)
    checked = []  # no network here: record the start-up availability check instead of making it
    monkeypatch.setattr(tfds_source, "check_available", checked.append)
    here = os.path.abspath(tiny_aclimdb)
    assert settled(DataConfig(), tiny_aclimdb) == ("local", here)  # --data first
    assert settled(DataConfig(path=tiny_aclimdb)) == ("local", here)  # then data.path
    assert settled(DataConfig()) == ("local", os.path.abspath(other))  # then $TEXTATTN_DATA
    assert settled(DataConfig(source="tfds", path=tiny_aclimdb)) == ("tfds", None)
    assert settled(DataConfig(source="tfds"), tiny_aclimdb) == ("local", here)  # an explicit --data wins
    monkeypatch.delenv("TEXTATTN_DATA")
    assert settled(DataConfig()) == ("tfds", None)
    assert checked == ["imdb_reviews", "imdb_reviews"], "every settling on TFDS checks it can be read"
    with pytest.raises(UserError, match="no path was given"):
        settled(DataConfig(source="local"))
    with pytest.raises(UserError, match="does not exist"):
        settled(DataConfig(), str(tmp_path / "nope"))

    # Once settled, the pipeline reads only the config: neither --data nor the environment again.
    config = DataConfig(
        vocab_size=40, sequence_length=8, validation_size=30, cache_dir=str(tmp_path / "c"), source="local", path=here
    )
    monkeypatch.setenv("TEXTATTN_DATA", str(tmp_path / "nope"))
    assert pipeline.prepare(config, 1, verbose=False).source == here
    with pytest.raises(ValueError, match="not settled"):
        source_of(DataConfig(path=here))


def test_bad_paths_give_one_line_errors(tiny_aclimdb, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        aclimdb.read_reviews(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="does not have the aclImdb layout"):
        aclimdb.read_reviews(str(tmp_path / "empty"))
    archive = tar_tree(tiny_aclimdb, tmp_path / "full.tar.gz")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(open(archive, "rb").read()[: os.path.getsize(archive) // 2])
    with pytest.raises(UserError, match="truncated or corrupt"):
        aclimdb.read_reviews(str(truncated))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="neither a directory nor a tar archive"):
        aclimdb.read_reviews(str(tmp_path / "notes.txt"))
    with pytest.raises(UserError, match="validation_size=200 leaves nothing"):
        pipeline.prepare(
            DataConfig(validation_size=200, cache_dir=str(tmp_path / "c"), source="local", path=tiny_aclimdb), 1
        )


def test_no_network_and_no_local_copy(tmp_path, monkeypatch):
    """TFDS without its cache and without a network: a prompt one-line error, not minutes of retries."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(tfds_source, "DOWNLOAD_HOST", "download.invalid")
    with pytest.raises(UserError, match="cannot be reached.*--data PATH or set TEXTATTN_DATA"):
        tfds_source.read_reviews(("train",))


def test_archive_order_keeps_the_stored_order_within_each_label(tiny_aclimdb, tmp_path):
    """order=archive: by label, then as stored (what seed_reference.py permutes with the seed)."""
    archive = tar_tree(tiny_aclimdb, tmp_path / "a.tar.gz")
    import tarfile as tf_

    with tf_.open(archive) as tar:
        stored = [m.name for m in tar if "/train/neg/" in m.name and m.name.endswith(".txt")]
    texts, labels = aclimdb.read_reviews(archive, ("train",), order="archive")["train"]
    assert labels == sorted(labels)
    with tf_.open(archive) as tar:
        expected_neg = [tar.extractfile(name).read().decode() for name in stored]
    assert texts[: len(expected_neg)] == expected_neg
    canonical = aclimdb.read_reviews(archive, ("train",))["train"]
    assert sorted(canonical[0]) == sorted(texts) and canonical[0] != texts
    with pytest.raises(UserError, match="needs a local aclImdb copy"):
        pipeline.read_texts(Source("tfds"), ("train",), str(tmp_path / "c"), order="archive")


def test_offline_tfds_imdb_stops_before_a_run_directory_exists(tmp_path, monkeypatch):
    """The default source (TFDS imdb_reviews) is checked when the command starts, like any tfds:NAME."""
    from textattn.__main__ import main

    monkeypatch.delenv("TEXTATTN_DATA", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(tfds_source, "DOWNLOAD_HOST", "download.invalid")
    assert main(["train", "--config", "configs/fast.yaml", "--output-dir", str(tmp_path / "runs")]) == 2
    assert not (tmp_path / "runs").exists()
