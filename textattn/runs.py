"""The run directory: what a training run writes, and reading it back.

RUN_DIR/
  config.yaml     resolved config (every key, after --set overrides)
  vocab.txt       one token per line; line i is token id i (0 padding, 1 OOV)
  ngram_vocab.txt ngram and hybrid: one n-gram per line; line i is feature i (0 OOV)
  classes.txt     one class name per line; line i is label id i (the model's output column i)
  model.keras     best epoch's model (loads with safe_mode=True)
  history.csv     one row per epoch (Keras CSVLogger, plus epoch_seconds)
  metrics.json    summary (params, accuracies, timings, versions)
  logs/           TensorBoard event files
  backup/         BackupAndRestore state while a run is unfinished
"""

from __future__ import annotations

import json
import os
import tempfile

from textattn import config
from textattn.atomic_write import write_text_atomic
from textattn.errors import UserError

CONFIG = "config.yaml"
VOCAB = "vocab.txt"
NGRAM_VOCAB = "ngram_vocab.txt"
CLASSES = "classes.txt"
# Runs written before classes.txt existed were all trained on aclImdb (textattn.data.aclimdb.CLASS_NAMES).
LEGACY_CLASS_NAMES = ("neg", "pos")
MODEL = "model.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
LOGS = "logs"
BACKUP = "backup"


def is_run_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG)) and os.path.isfile(os.path.join(path, MODEL))


def check_run_dir(path: str) -> None:
    """Raise UserError unless ``path`` is a finished run (config, model and vocabulary written)."""
    if not os.path.isdir(path):
        raise UserError(
            f"run directory {path!r} does not exist; pass a directory written by train.py (runs/NAME-TIMESTAMP)"
        )
    missing = [name for name in (CONFIG, MODEL, VOCAB) if not os.path.isfile(os.path.join(path, name))]
    if missing:
        raise UserError(
            f"{path!r} is not a finished textattn run (missing {', '.join(missing)}); train one with train.py"
        )


def check_writable_dir(path: str, what: str = "--output-dir") -> None:
    """Create ``path`` if needed and check that a file can be written in it; UserError if not.

    Run before any work, so a read-only or missing-permission directory costs
    one line and exit 2, not a traceback after the data is prepared.
    """
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to {what} {path!r} ({exc.strerror}); pass a writable directory") from None


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_vocabulary(path: str, vocabulary: list[str]) -> None:
    # Tokens never contain newlines: standardization splits on whitespace.
    write_text_atomic(path, "\n".join(vocabulary) + "\n")


def load_vocabulary(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def save_class_names(path: str, class_names: list[str]) -> None:
    """One class name per line; a name with a line break is refused (it would not read back)."""
    for name in class_names:
        if "\n" in name or "\r" in name or not name:
            raise UserError(f"class name {name!r} is empty or has a line break; rename that label in the data")
    write_text_atomic(path, "\n".join(class_names) + "\n")


def load_class_names(run_dir: str) -> list[str]:
    """The run's class names in label-id order: classes.txt, else metrics.json, else aclImdb's (older runs)."""
    path = os.path.join(run_dir, CLASSES)
    if os.path.isfile(path):
        return load_vocabulary(path)
    try:
        names = read_json(os.path.join(run_dir, METRICS)).get("class_names")
    except (OSError, ValueError, AttributeError):
        names = None
    return [str(n) for n in names] if names else list(LEGACY_CLASS_NAMES)


def temperature(run_dir: str) -> float:
    """The softmax temperature fitted on validation (metrics.json), 1.0 when the run has none."""
    try:
        value = read_json(os.path.join(run_dir, METRICS)).get("calibration", {}).get("temperature")
    except (OSError, ValueError):
        return 1.0
    return float(value) if value else 1.0


def load_config(run_dir: str):
    """The run's resolved config (config.yaml)."""
    return config.load_config(os.path.join(run_dir, CONFIG))


def load_model(run_dir: str):
    """The run's best model, loaded with ``safe_mode=True``."""
    import keras

    import textattn.data.text  # noqa: F401  (registers the standardizer)
    import textattn.layers  # noqa: F401  (registers the custom layers)

    path = os.path.join(run_dir, MODEL)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:
        raise UserError(
            f"could not load {path!r} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); retrain the run"
        ) from None
