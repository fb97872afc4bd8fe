"""On-disk cache of prepared data: checksummed, written atomically, safe to share.

Entries are directories of ``.npy`` arrays plus a ``meta.json``, named by a
hash of everything that determines their contents.

- **Checksums.** ``meta.json`` records each file's size and CRC-32, and a
  CRC-32 of its own content. :func:`load_entry` checks them all; a truncated
  file, a flipped byte or a damaged ``meta.json`` gives one ``warning:`` line
  on stderr, the entry is deleted and None is returned, so the caller rebuilds
  it. An entry from before checksums existed is stale: None, rebuilt quietly.
  CRC-32 (zlib) guards against accidental damage, not tampering; it costs little
  beside reading the file (docs/faults.md).
- **Atomic publish.** An entry is written under a temporary name and renamed
  into place, so a killed run never leaves a half-written entry. Two processes
  that build the same entry at once both succeed: the key fixes the contents,
  so when the rename finds the entry already published by the other, the
  second copy is simply discarded.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np

META = "meta.json"
_HEADER_MAX = 1 << 16  # .npy headers are padded to a multiple of 64 bytes; ours are 128
FORMAT = 2  # 1: names only; 2: sizes and CRC-32 of every file, and of meta.json itself


class CorruptEntry(Exception):
    """An entry whose files do not match the sizes and checksums in its meta.json."""


def default_cache_dir() -> str:
    return os.environ.get("TEXTATTN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "textattn")


def cache_key(**parts) -> str:
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _crc32(data) -> str:
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


def _meta_checksum(meta: dict) -> str:
    body = {k: v for k, v in meta.items() if k != "meta_crc32"}
    return _crc32(json.dumps(body, sort_keys=True).encode())


def _read_meta(path: str) -> dict | None:
    """The entry's meta.json, checked: None when it is gone or of an older format; CorruptEntry if damaged."""
    try:
        with open(os.path.join(path, META), "rb") as f:
            meta = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return None  # removed meanwhile (another process replaced the entry): absent
    except (ValueError, UnicodeDecodeError):
        raise CorruptEntry(f"{META}: not valid JSON") from None
    if not isinstance(meta, dict):
        raise CorruptEntry(f"{META}: not a JSON object")
    if "files" not in meta and "meta_crc32" not in meta:
        return None  # written before checksums: stale, not damaged
    if meta.get("meta_crc32") != _meta_checksum(meta):
        raise CorruptEntry(f"{META}: checksum mismatch")
    if meta.get("format") != FORMAT:
        return None
    return meta


def _read_array(path: str, name: str, expected: dict) -> np.ndarray:
    """Read ``name`` once, check its size and CRC-32, and parse the verified bytes (no second copy)."""
    try:
        raw = np.fromfile(os.path.join(path, name), dtype=np.uint8)
    except FileNotFoundError:
        raise CorruptEntry(f"{name}: missing") from None
    if raw.nbytes != expected["bytes"]:
        raise CorruptEntry(f"{name}: {raw.nbytes} bytes, expected {expected['bytes']}")
    if _crc32(raw) != expected["crc32"]:
        raise CorruptEntry(f"{name}: checksum mismatch")
    return _parse_npy(raw)


def _parse_npy(raw: np.ndarray) -> np.ndarray:
    """The array in the bytes of an ``.npy`` file, as a view of ``raw``."""
    header = io.BytesIO(raw[:_HEADER_MAX].tobytes())
    version = np.lib.format.read_magic(header)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(header)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(header)
    if dtype.hasobject:
        raise ValueError("object arrays are not cached")
    count = int(np.prod(shape, dtype=np.int64))
    data = raw[header.tell() :]
    if data.nbytes != count * dtype.itemsize:
        raise ValueError(f"{data.nbytes} data bytes for shape {shape} of {dtype}")
    return data.view(dtype).reshape(shape, order="F" if fortran_order else "C")


def _discard(path: str) -> None:
    """Remove an entry directory: renamed aside first (one atomic step), then deleted."""
    aside = f"{path}.discard-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        os.rename(path, aside)
    except OSError:
        return  # already gone, or replaced by another process
    for _ in range(3):  # again if a straggling writer added a file while it was being removed
        shutil.rmtree(aside, ignore_errors=True)
        if not os.path.exists(aside):
            return


def _identity(path: str) -> tuple[int, int, int] | None:
    """Device, inode and ctime of an entry directory (a replaced entry is another directory), None if absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns


def load_entry(root: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of entry ``key``, or None when it is absent, stale or damaged (then rebuild it).

    A damaged entry is reported in one ``warning:`` line on stderr and deleted.
    """
    path = os.path.join(root, key)
    identity = _identity(path)
    if identity is None or not os.path.isfile(os.path.join(path, META)):
        return None
    try:
        meta = _read_meta(path)
        if meta is None:
            return None
        return {name: _read_array(path, name + ".npy", meta["files"][name + ".npy"]) for name in meta["arrays"]}
    except (CorruptEntry, OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        if _identity(path) != identity:
            return None  # another process replaced or removed the entry while it was read: not damage
        reason = str(exc) if isinstance(exc, CorruptEntry) else f"{type(exc).__name__}: {exc}"
        print(f"warning: cache entry {path} is corrupt ({reason}); rebuilding", file=sys.stderr, flush=True)
        _discard(path)
        return None


class _ChecksumWriter:
    """A binary file that also counts the bytes written to it and their CRC-32 (np.save streams to it)."""

    def __init__(self, f):
        self._f = f
        self.nbytes = 0
        self._crc = 0

    def write(self, data) -> int:
        self._f.write(data)
        self.nbytes += len(memoryview(data).cast("B"))
        self._crc = zlib.crc32(data, self._crc)
        return len(data)

    @property
    def crc32(self) -> str:
        return f"{self._crc & 0xFFFFFFFF:08x}"


def save_entry(root: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Write entry ``key`` atomically, with its checksums. A concurrent writer of the same key is fine."""
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, key)
    tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=root)
    try:
        files = {}
        for name, array in arrays.items():
            with open(os.path.join(tmp, name + ".npy"), "wb") as f:
                writer = _ChecksumWriter(f)
                np.save(writer, array, allow_pickle=False)
            files[name + ".npy"] = {"bytes": writer.nbytes, "crc32": writer.crc32}
        meta = {"format": FORMAT, "arrays": list(arrays), "files": files}
        meta["meta_crc32"] = _meta_checksum(meta)
        with open(os.path.join(tmp, META), "w") as f:
            json.dump(meta, f)
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # already gone when it was published


def _is_complete(path: str) -> bool:
    """True when ``path`` is a current-format entry whose every file matches its meta.json."""
    try:
        meta = _read_meta(path)
        if meta is None:
            return False
        for name in meta["arrays"]:
            _read_array(path, name + ".npy", meta["files"][name + ".npy"])
        return True
    except (CorruptEntry, OSError, ValueError, KeyError, TypeError, EOFError):
        return False


def _publish(tmp: str, final: str) -> None:
    """Rename ``tmp`` to ``final``.

    An entry already at ``final`` is stale or damaged (else the caller would not
    have rebuilt it) and is moved aside, unless it is a complete entry that
    another process published meanwhile: then that one is kept and ``tmp`` dropped.
    """
    for _ in range(5):
        try:
            os.rename(tmp, final)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if _is_complete(final):
            return
        _discard(final)
    # Another process keeps replacing it; leave the entry to that process (the next run checks it).


def pack_texts(texts: list[str]) -> dict[str, np.ndarray]:
    """Store a list of strings as one UTF-8 byte blob plus end offsets."""
    encoded = [t.encode("utf-8") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return {"blob": np.frombuffer(b"".join(encoded), dtype=np.uint8), "ends": ends}


def unpack_texts(blob: np.ndarray, ends: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    return [raw[s:e].decode("utf-8") for s, e in zip(starts.tolist(), ends.tolist())]


def packed(prefix: str, texts: list[str]) -> dict[str, np.ndarray]:
    """``pack_texts(texts)`` as the arrays ``<prefix>blob`` and ``<prefix>ends`` of a cache entry."""
    return {prefix + k: v for k, v in pack_texts(texts).items()}


def unpacked(entry: dict, prefix: str) -> list[str]:
    """The texts ``packed(prefix, texts)`` stored in ``entry``."""
    return unpack_texts(entry[prefix + "blob"], entry[prefix + "ends"])
