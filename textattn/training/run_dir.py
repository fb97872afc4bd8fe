"""A run's directory: made new, named outright (``--run-dir``) or resumed; and what the run writes there.

The files' names are ``textattn.runs``'s.
"""

from __future__ import annotations

import datetime
import os

import keras

from textattn import runs
from textattn.atomic_write import write_atomic
from textattn.config import Config, config_to_dict, save_config
from textattn.data.run_data import RunData
from textattn.errors import UserError

WORD_BRANCH_CHECKPOINT = "word_branch.keras"
"""A hybrid's best word branch while it trains; deleted once model.keras is written."""


def open_run(config: Config, output_dir: str | None, resume: str | None, run_dir: str | None) -> tuple[str, bool]:
    """The run's directory, config.yaml written, and whether the run continues an earlier one there."""
    if resume:
        return resume, True
    if run_dir:
        return run_dir, open_run_dir(config, run_dir)
    run_dir = new_run_dir(config, output_dir)
    save_config(config, os.path.join(run_dir, runs.CONFIG))
    return run_dir, False


def new_run_dir(config: Config, output_dir: str | None) -> str:
    """A new directory OUTPUT_DIR/NAME-YYYYmmdd-HHMMSS (with -2, -3, ... when taken)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(output_dir or "runs", f"{config.name}-{stamp}")
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    os.makedirs(path)
    return path


def open_run_dir(config: Config, path: str) -> bool:
    """``--run-dir PATH``: the run's directory named outright (a distributed run's workers must agree on it).

    A missing or empty PATH starts a new run there; a PATH holding an unfinished
    run of the same config continues it (as ``--resume`` does); True then.
    """
    config_path = os.path.join(path, runs.CONFIG)
    if os.path.isfile(config_path):
        saved = runs.load_config(path)
        if config_to_dict(saved) != config_to_dict(config):
            ours, theirs = _flat(config_to_dict(config)), _flat(config_to_dict(saved))
            differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
            raise UserError(
                f"--run-dir {path!r} holds a run of another config (its {runs.CONFIG} differs in "
                f"{', '.join(differ)}); pass a new directory, or the same config to continue it"
            )
        if os.path.isfile(os.path.join(path, runs.METRICS)):
            raise UserError(f"--run-dir {path!r} holds a finished run; pass a new directory")
        return True
    if os.path.isdir(path) and os.listdir(path):
        raise UserError(f"--run-dir {path!r} is not empty and holds no {runs.CONFIG}; pass a new or empty directory")
    os.makedirs(path, exist_ok=True)
    save_config(config, config_path)
    return False


def _flat(tree: dict, prefix: str = "") -> dict:
    """{"train.epochs": 6, ...} of a nested config dict."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_class_names(run_dir: str, class_names: list[str], resume) -> None:
    """Write RUN_DIR/classes.txt; a resumed run's data must have the classes it started with."""
    path = os.path.join(run_dir, runs.CLASSES)
    if resume and os.path.isfile(path) and runs.load_class_names(run_dir) != list(class_names):
        raise UserError(
            f"the data's classes {list(class_names)} differ from the run's ({runs.CLASSES}: "
            f"{runs.load_class_names(run_dir)}); resume with the data the run started with"
        )
    runs.save_class_names(path, list(class_names))


def save_final_model(run_dir: str, model: keras.Model, data: RunData, write_model: bool) -> None:
    """The vocabularies of ``data`` and (``write_model``: when model.keras is not already the best checkpoint)
    the model; the hybrid's word-branch checkpoint is deleted."""
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), data.vocabulary)
    if data.ngram_vocabulary is not None:
        runs.save_vocabulary(os.path.join(run_dir, runs.NGRAM_VOCAB), data.ngram_vocabulary)
    if write_model:
        write_atomic(os.path.join(run_dir, runs.MODEL), model.save, suffix=".keras")
    if os.path.exists(os.path.join(run_dir, WORD_BRANCH_CHECKPOINT)):
        os.unlink(os.path.join(run_dir, WORD_BRANCH_CHECKPOINT))
