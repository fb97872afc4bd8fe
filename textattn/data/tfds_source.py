"""IMDB from TensorFlow Datasets (``imdb_reviews``), downloaded and cached by TFDS."""

from __future__ import annotations

from textattn.errors import UserError

TFDS_NAME = "imdb_reviews"
_TFDS_SPLITS = {"train": "train", "test": "test", "unsup": "unsupervised"}


def fingerprint() -> str:
    return f"tfds:{TFDS_NAME}:plain_text"


def read_reviews(splits=("train", "test")) -> dict[str, tuple[list[str], list[int]]]:
    """Read ``splits`` via TFDS: {split: (texts, labels)}, in canonical order.

    The order matches ``textattn.data.aclimdb.read_reviews`` (sorted by label,
    then text), so both sources give identical datasets.
    """
    try:
        import tensorflow_datasets as tfds

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
            f"could not load IMDB from TensorFlow Datasets ({first_line[:200]}); without a network, "
            "pass --data PATH or set TEXTATTN_DATA to a local aclImdb directory or .tar.gz"
        ) from None
