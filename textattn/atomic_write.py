"""Files written whole or not at all: a temporary file beside the target, then a rename over it.

A kill at any moment leaves either the old file or the new one, never half of
one. Every file textattn writes goes through here: run files, checkpoints and
backups, reports and plots, export metadata, KerasTuner's state.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile

from textattn.errors import UserError


def write_atomic(path: str, write, suffix: str = "") -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``.

    ``suffix`` is for writers that check the file name (Keras wants ``.keras``
    or ``.weights.h5``).
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def open_atomic(path: str):
    """A binary file to stream into: a temporary ``.NAME.partial-*`` beside ``path``, renamed to ``path`` on a
    clean exit and removed on an exception.

    For writers that cannot hold the whole file (batch scoring). Raises OSError
    at once where the directory cannot take a new file. Only SIGKILL (or a power
    cut) can leave the temporary file behind; ``path`` is never half-written.
    """
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.partial-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # a long run's output must survive a crash just after the rename
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    write_atomic(path, write)


def write_output_file(path: str, text: str) -> None:
    """Write ``text`` to ``path``, a file the user named; UserError (one line) when its directory does not exist."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UserError(f"cannot write {path!r}: directory {parent!r} does not exist")
    write_text_atomic(path, text)


def write_json(path: str, data) -> None:
    """Write ``data`` as indented JSON to ``path``."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


def exchange(a: str, b: str) -> bool:
    """Swap the existing paths ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    A kill at any moment leaves both names in place, before or after the swap.
    Returns False, changing nothing, where the system or the filesystem cannot
    (not Linux, glibc < 2.28, a filesystem without the flag).
    """
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), a, None, b)
