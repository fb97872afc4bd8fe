"""textattn.data.cache: checksummed entries, damage detected, publishing tolerates a second publisher."""

import json
import os

import numpy as np
import pytest

from textattn.data import cache


def sample_arrays():
    rng = np.random.default_rng(3)
    return {
        "ids": rng.integers(0, 1000, (50, 16), dtype=np.int32),
        "fortran": np.asfortranarray(rng.normal(size=(7, 5))),
        "labels": rng.integers(0, 2, 50).astype(np.int32),
        "empty": np.zeros((0, 4), np.float32),
        "scalar": np.float64(2.5),
        **cache.pack_texts(["une critique", "a review <br />", ""]),
    }


def assert_same(loaded, arrays):
    assert set(loaded) == set(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == np.asarray(array).dtype, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)


def test_round_trip_keeps_dtype_shape_and_order(tmp_path):
    arrays = sample_arrays()
    cache.save_entry(str(tmp_path), "k", arrays)
    loaded = cache.load_entry(str(tmp_path), "k")
    assert_same(loaded, arrays)
    assert loaded["fortran"].flags.f_contiguous
    assert cache.unpack_texts(loaded["blob"], loaded["ends"]) == ["une critique", "a review <br />", ""]
    assert os.listdir(tmp_path) == ["k"], "no temporary directory is left"


def test_meta_records_size_and_crc_of_every_file(tmp_path):
    import zlib

    cache.save_entry(str(tmp_path), "k", sample_arrays())
    meta = json.loads((tmp_path / "k" / cache.META).read_text())
    assert meta["format"] == cache.FORMAT
    for name, expected in meta["files"].items():
        data = (tmp_path / "k" / name).read_bytes()
        assert expected == {"bytes": len(data), "crc32": f"{zlib.crc32(data):08x}"}


def damage_truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 9])


def damage_flip_data(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10
    path.write_bytes(bytes(data))


def damage_flip_header(path):
    data = bytearray(path.read_bytes())
    data[20] ^= 0x01  # inside the .npy header (dtype / shape text)
    path.write_bytes(bytes(data))


def damage_meta_json(path):
    meta = path.parent / cache.META
    meta.write_text(meta.read_text()[:-5])


def damage_meta_value(path):
    meta_path = path.parent / cache.META
    meta = json.loads(meta_path.read_text())
    meta["files"]["ids.npy"]["bytes"] += 1  # valid JSON, wrong content
    meta_path.write_text(json.dumps(meta))


def damage_delete(path):
    path.unlink()


@pytest.mark.parametrize(
    "damage,reason",
    [
        (damage_truncate, "ids.npy: 3319 bytes, expected 3328"),
        (damage_flip_data, "ids.npy: checksum mismatch"),
        (damage_flip_header, "ids.npy: checksum mismatch"),
        (damage_meta_json, "meta.json: not valid JSON"),
        (damage_meta_value, "meta.json: checksum mismatch"),
        (damage_delete, "ids.npy: missing"),
    ],
)
def test_damage_gives_one_warning_and_removes_the_entry(tmp_path, capsys, damage, reason):
    cache.save_entry(str(tmp_path), "k", sample_arrays())
    damage(tmp_path / "k" / "ids.npy")
    assert cache.load_entry(str(tmp_path), "k") is None
    err = capsys.readouterr().err
    assert err == f"warning: cache entry {tmp_path / 'k'} is corrupt ({reason}); rebuilding\n"
    assert os.listdir(tmp_path) == [], "the damaged entry is deleted"
    cache.save_entry(str(tmp_path), "k", sample_arrays())
    assert_same(cache.load_entry(str(tmp_path), "k"), sample_arrays())


def write_old_format_entry(root, key, arrays):
    """An entry as the cache wrote it before checksums: arrays and their names only."""
    path = os.path.join(root, key)
    os.makedirs(path)
    for name, array in arrays.items():
        np.save(os.path.join(path, name + ".npy"), array)
    with open(os.path.join(path, cache.META), "w") as f:
        json.dump({"arrays": list(arrays)}, f)


def test_entry_without_checksums_is_stale_and_replaced_quietly(tmp_path, capsys):
    write_old_format_entry(str(tmp_path), "k", {"ids": np.arange(3)})
    assert cache.load_entry(str(tmp_path), "k") is None
    cache.save_entry(str(tmp_path), "k", sample_arrays())
    assert_same(cache.load_entry(str(tmp_path), "k"), sample_arrays())
    assert capsys.readouterr().err == ""
    assert os.listdir(tmp_path) == ["k"]


def test_a_second_publisher_of_the_same_entry_keeps_the_first(tmp_path, capsys):
    """The race of two runs: both built the entry; the later rename finds it in place (ENOTEMPTY)."""
    root = str(tmp_path)
    first, second = sample_arrays(), sample_arrays()
    cache.save_entry(root, "k", first)
    before = {name: os.stat(os.path.join(root, "k", name)).st_ino for name in os.listdir(os.path.join(root, "k"))}
    cache.save_entry(root, "k", second)
    after = {name: os.stat(os.path.join(root, "k", name)).st_ino for name in os.listdir(os.path.join(root, "k"))}
    assert before == after, "the complete entry already published is kept, not replaced"
    assert_same(cache.load_entry(root, "k"), first)
    assert os.listdir(root) == ["k"] and capsys.readouterr().err == ""


def test_publish_replaces_a_damaged_entry_found_at_rename(tmp_path):
    root = str(tmp_path)
    cache.save_entry(root, "k", {"ids": np.arange(5)})
    damage_flip_data(tmp_path / "k" / "ids.npy")
    cache.save_entry(root, "k", sample_arrays())  # the caller rebuilt without loading first
    assert_same(cache.load_entry(root, "k"), sample_arrays())
    assert os.listdir(root) == ["k"]


def test_a_failed_save_leaves_nothing(tmp_path):
    class Unsaveable:
        def __array__(self, *args, **kwargs):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.save_entry(str(tmp_path), "k", {"ok": np.arange(3), "bad": Unsaveable()})
    assert os.listdir(tmp_path) == [], "neither the entry nor its temporary directory is left"
