"""Reader of a folder tree with one subfolder per class, as ``keras.utils.text_dataset_from_directory`` expects.

    ROOT/CLASS/*.txt                  every example; the splits are carved from them
    ROOT/{train,test}/CLASS/*.txt     the given splits (``validation/``, ``val/`` or ``dev/`` too)

A class folder's ``.txt`` files are read in name order, those in its
subfolders too; the folder's name is the label. Returns ``Rows``
(textattn/data/rows.py), each example named by its file.
"""

from __future__ import annotations

import hashlib
import os

from textattn.data.rows import SPLIT_NAMES, Rows, decode_lines
from textattn.errors import UserError

LAYOUT_HINT = "expected ROOT/CLASS/*.txt or ROOT/{train,test}/CLASS/*.txt"


def is_class_tree(path: str) -> bool:
    """Whether directory ``path`` has subfolders (the classes, or train/ and test/)."""
    return os.path.isdir(path) and any(_subfolders(path))


def read_tree(path: str) -> Rows:
    """Every ``.txt`` file under ``path`` as an example; a tree of another shape raises UserError."""
    rows = Rows(origin=path)
    top = _subfolders(path)
    if "train" in top:
        others = [name for name in top if name.lower() not in SPLIT_NAMES]
        if others:
            raise UserError(
                f"{os.path.join(path, others[0])}: not a split folder, but {path!r} has train/; {LAYOUT_HINT}"
            )
        for name in top:
            _read_classes(os.path.join(path, name), SPLIT_NAMES[name.lower()], rows)
    else:
        _read_classes(path, None, rows)
    if not rows.texts:
        raise UserError(f"{path!r} has no .txt files with text in its class folders; {LAYOUT_HINT}")
    return rows


def fingerprint(path: str) -> str:
    """A digest of every file's relative path, size and modification time under ``path``."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            st = os.stat(full)
            digest.update(f"{os.path.relpath(full, path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _subfolders(path: str) -> list[str]:
    return sorted(
        name for name in os.listdir(path) if not name.startswith(".") and os.path.isdir(os.path.join(path, name))
    )


def _read_classes(folder: str, split: str | None, rows: Rows) -> None:
    classes = _subfolders(folder)
    if not classes:
        raise UserError(f"{folder!r} has no class subfolders; {LAYOUT_HINT}")
    for label in classes:
        for file in _text_files(os.path.join(folder, label)):
            with open(file, "rb") as f:
                text, bad = decode_lines(f.read())
            if bad:
                rows.not_utf8.append(file)
            rows.add(text, label, split, file)


def _text_files(folder: str) -> list[str]:
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(
            os.path.join(parent, name) for name in sorted(files) if name.endswith(".txt") and not name.startswith(".")
        )
    return found
