"""On-disk cache of prepared data, written atomically.

Entries are directories of ``.npy`` arrays plus a ``meta.json``, named by a
hash of everything that determines their contents. A directory is written
under a temporary name and renamed into place, so a killed run never leaves
a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

import numpy as np


def default_cache_dir() -> str:
    return os.environ.get("TEXTATTN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "textattn")


def cache_key(**parts) -> str:
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def load_entry(root: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of entry ``key``, or None when it is absent or unreadable."""
    path = os.path.join(root, key)
    if not os.path.isfile(os.path.join(path, "meta.json")):
        return None
    try:
        with open(os.path.join(path, "meta.json")) as f:
            names = json.load(f)["arrays"]
        return {name: np.load(os.path.join(path, name + ".npy"), allow_pickle=False) for name in names}
    except (OSError, ValueError, KeyError):
        return None


def save_entry(root: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, key)
    tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=root)
    try:
        for name, array in arrays.items():
            np.save(os.path.join(tmp, name + ".npy"), array, allow_pickle=False)
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump({"arrays": list(arrays)}, f)
        if os.path.exists(final):
            shutil.rmtree(final, ignore_errors=True)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def pack_texts(texts: list[str]) -> dict[str, np.ndarray]:
    """Store a list of strings as one UTF-8 byte blob plus end offsets."""
    encoded = [t.encode("utf-8") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return {"blob": np.frombuffer(b"".join(encoded), dtype=np.uint8), "ends": ends}


def unpack_texts(blob: np.ndarray, ends: np.ndarray) -> list[str]:
    raw = blob.tobytes()
    starts = np.concatenate([[0], ends[:-1]])
    return [raw[s:e].decode("utf-8") for s, e in zip(starts.tolist(), ends.tolist())]
