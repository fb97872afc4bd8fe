"""IMDB from TensorFlow Datasets (``imdb_reviews``), downloaded and cached by TFDS."""

from __future__ import annotations

import socket

from textattn.errors import UserError

TFDS_NAME = "imdb_reviews"
_TFDS_SPLITS = {"train": "train", "test": "test", "unsup": "unsupervised"}
# Where TFDS downloads imdb_reviews from. Probed first: without a network TFDS
# would otherwise retry for minutes before failing.
DOWNLOAD_HOST = "ai.stanford.edu"
NO_DATA_HINT = "pass --data PATH or set TEXTATTN_DATA to a local aclImdb directory or .tar.gz"


def _check_reachable(host: str, timeout: float = 5.0) -> None:
    try:
        socket.create_connection((host, 80), timeout=timeout).close()
    except OSError as exc:
        raise UserError(
            f"IMDB is not in the TFDS cache and {host} cannot be reached to download it ({exc}); {NO_DATA_HINT}"
        ) from None


def fingerprint() -> str:
    return f"tfds:{TFDS_NAME}:plain_text"


def read_reviews(splits=("train", "test")) -> dict[str, tuple[list[str], list[int]]]:
    """Read ``splits`` via TFDS: {split: (texts, labels)}, in canonical order.

    The order matches ``textattn.data.aclimdb.read_reviews`` (sorted by label,
    then text), so both sources give identical datasets.
    """
    try:
        import tensorflow_datasets as tfds

        if not tfds.builder(TFDS_NAME).is_prepared():
            _check_reachable(DOWNLOAD_HOST)
        datasets = tfds.load(
            TFDS_NAME, split=[_TFDS_SPLITS[s] for s in splits], as_supervised=True, download=True
        )
        out = {}
        for split, ds in zip(splits, datasets):
            rows = [(t.decode("utf-8", errors="replace"), int(y)) for t, y in tfds.as_numpy(ds)]
            rows.sort(key=lambda r: (r[1], r[0]))
            out[split] = ([t for t, _ in rows], [-1 if split == "unsup" else y for _, y in rows])
        return out
    except UserError:
        raise
    except Exception as exc:  # TFDS raises many kinds (DownloadError, ConnectionError, ...)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"could not load IMDB from TensorFlow Datasets ({first_line[:200]}); without a network, {NO_DATA_HINT}"
        ) from None
