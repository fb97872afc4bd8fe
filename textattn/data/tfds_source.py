"""Datasets from TensorFlow Datasets, downloaded and cached by TFDS.

IMDB (``imdb_reviews``) keeps its reference reading (``read_reviews``: train,
test and unsupervised in canonical order). Any other dataset is read as
labelled rows (``read_rows``): its text and label features are the builder's
supervised keys unless ``data.text_field``/``data.label_field`` name others,
the label feature must be a ClassLabel, whose names (in TFDS order) are the
class names, and its train, test and validation splits are kept as given.
"""

from __future__ import annotations

import socket

from textattn.data.rows import Rows
from textattn.errors import UserError

TFDS_NAME = "imdb_reviews"
_TFDS_SPLITS = {"train": "train", "test": "test", "unsup": "unsupervised"}
# Where TFDS downloads imdb_reviews from. Probed first: without a network TFDS
# would otherwise retry for minutes before failing.
DOWNLOAD_HOST = "ai.stanford.edu"
# Probed for other datasets: TFDS fetches prepared copies from Google Cloud Storage first.
GENERIC_HOST = "storage.googleapis.com"
SPLITS = {"train": "train", "test": "test", "validation": "validation", "dev": "validation"}
NO_DATA_HINT = "pass --data PATH or set TEXTATTN_DATA to a local aclImdb directory or .tar.gz"


def _check_reachable(host: str, timeout: float = 5.0, dataset: str = "IMDB", hint: str = NO_DATA_HINT) -> None:
    try:
        socket.create_connection((host, 80), timeout=timeout).close()
    except OSError as exc:
        raise UserError(
            f"{dataset} is not in the TFDS cache and {host} cannot be reached to download it ({exc}); {hint}"
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
        datasets = tfds.load(TFDS_NAME, split=[_TFDS_SPLITS[s] for s in splits], as_supervised=True, download=True)
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


def feature_names(info, text_field: str | None, label_field: str | None) -> tuple[str, str]:
    """The text and label feature names of a builder's ``info``; wrong ones raise UserError.

    ``text_field``/``label_field`` when given, else ``info.supervised_keys``,
    else ``text`` and ``label``. The label feature must have class ``names``.
    """
    keys = info.supervised_keys
    if not (isinstance(keys, (tuple, list)) and len(keys) == 2 and all(isinstance(k, str) for k in keys)):
        keys = None  # none, or nested (dicts of features): not a (text, label) pair
    text = text_field or (keys[0] if keys else "text")
    label = label_field or (keys[1] if keys else "label")
    features = list(info.features.keys())
    for role, name in (("text", text), ("label", label)):
        if name not in features:
            raise UserError(
                f"tfds:{info.name} has no {role} feature {name!r} (features: {', '.join(features)}); "
                f"set data.{role}_field"
            )
    if not getattr(info.features[label], "names", None):
        raise UserError(f"tfds:{info.name} feature {label!r} is not a ClassLabel; set data.label_field to one")
    return text, label


_GENERIC_HINT = "without a network, copy the data to a CSV, JSONL or class folders and pass --data PATH"


def _builder(name: str):
    """TFDS's builder of ``name``: UserError for an unknown name, or when it is not prepared and
    there is no network to download it (checked at once: TFDS would retry for minutes)."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name)
    except Exception as exc:  # DatasetNotFoundError and its kin
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"no TFDS dataset {name!r} ({first[:160]}); check the name in the TFDS catalog") from None
    if not builder.is_prepared():
        _check_reachable(GENERIC_HOST, dataset=f"tfds:{name}", hint=_GENERIC_HINT)
    return builder


def check_available(name: str) -> None:
    """Raise UserError unless dataset ``name`` exists and is prepared or can be downloaded."""
    if name == TFDS_NAME:
        import tensorflow_datasets as tfds

        if not tfds.builder(TFDS_NAME).is_prepared():
            _check_reachable(DOWNLOAD_HOST)
        return
    _builder(name)


def read_rows(name: str, text_field: str | None = None, label_field: str | None = None):
    """Dataset ``name``'s labelled examples: (Rows with class-id labels, class names in TFDS order)."""
    hint = _GENERIC_HINT
    try:
        import tensorflow_datasets as tfds

        builder = _builder(name)
        if not builder.is_prepared():
            builder.download_and_prepare()
        text, label = feature_names(builder.info, text_field, label_field)
        class_names = list(builder.info.features[label].names)
        splits = {s: SPLITS[s] for s in builder.info.splits.keys() if s in SPLITS}
        if "train" not in splits:
            raise UserError(f"tfds:{name} has no train split (splits: {', '.join(builder.info.splits.keys())})")
        rows = Rows(origin=f"tfds:{name}")
        for split, ours in splits.items():
            for i, example in enumerate(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))):
                where = f"tfds:{name} {split} example {i}"
                raw = example[text]
                decoded = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
                if isinstance(raw, bytes) and "\ufffd" in decoded and "\ufffd".encode() not in raw:
                    rows.not_utf8.append(where)
                rows.add(decoded, int(example[label]), ours, where)
        return rows, class_names
    except UserError:
        raise
    except Exception as exc:  # TFDS raises many kinds (DownloadError, ConnectionError, ...)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"could not load tfds:{name} from TensorFlow Datasets ({first_line[:200]}); {hint}") from None
