"""One run directory -> its evaluation on a split, cached in RUN_DIR/evaluation.json.

``evaluation.json`` maps a split name ("test", "validation") to that split's
result. A cached result is reused while model.keras is unchanged (same size and
modification time); ``force=True`` re-evaluates.
"""

from __future__ import annotations

import dataclasses
import datetime
import os

import numpy as np

from textattn import runs, serving, thresholds
from textattn.atomic_write import write_json
from textattn.config import Config
from textattn.data import source_splits
from textattn.data.aclimdb import CLASS_NAMES
from textattn.data.run_data import load_data
from textattn.data.source import resolve_data
from textattn.errors import UserError
from textattn.evaluation import metrics as classification
from textattn.evaluation.architecture import architecture_columns
from textattn.evaluation.behaviour import load_suite, score_suite
from textattn.evaluation.calibration import brier_score, expected_calibration_error
from textattn.evaluation.coverage import evaluate_decision
from textattn.evaluation.length import accuracy_by_length, token_counts
from textattn.evaluation.speed import LATENCY_CALLS, measure_serving
from textattn.inference import calibrate, predict
from textattn.long_text import is_chunked, served_probabilities
from textattn.models import count_params

EVALUATION = "evaluation.json"
SPLITS = ("test", "validation")
SHORT_SPLIT = {"test": "test", "validation": "val"}
"""A split's name on the command line -> its name in ``RunData``."""


def model_fingerprint(run_dir: str) -> dict:
    stat = os.stat(os.path.join(run_dir, runs.MODEL))
    return {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_cache(run_dir: str) -> dict:
    """The run's evaluation.json as {split: result}; {} when absent or unreadable."""
    path = os.path.join(run_dir, EVALUATION)
    try:
        data = runs.read_json(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_result(run_dir: str, split: str) -> dict | None:
    """The cached result for ``split`` if it belongs to the current model.keras."""
    entry = read_cache(run_dir).get(split)
    if isinstance(entry, dict) and entry.get("model_fingerprint") == model_fingerprint(run_dir):
        return entry
    return None


def fit_seconds_per_epoch(run_dir: str) -> float | None:
    """From metrics.json: the median epoch time, else fit_seconds / epochs_run."""
    try:
        metrics = runs.read_json(os.path.join(run_dir, runs.METRICS))
    except (OSError, ValueError):
        return None
    if metrics.get("fit_seconds_per_epoch_median") is not None:
        return float(metrics["fit_seconds_per_epoch_median"])
    if metrics.get("fit_seconds") is not None and metrics.get("epochs_run"):
        return float(metrics["fit_seconds"]) / metrics["epochs_run"]
    return None


def split_arrays(data, split: str, config):
    """(token ids (N, length), labels (N,)) of ``split``; UserError when it is empty."""
    x, y = (data.x_test, data.y_test) if split == "test" else (data.x_val, data.y_val)
    if len(x) == 0:
        why = (
            f"data.test_limit is {config.data.test_limit}"
            if split == "test"
            else f"data.validation_size is {config.data.validation_size}"
        )
        other = "validation" if split == "test" else "test"
        raise UserError(f"the run has no {split} split ({why}); use --split {other}")
    return x, y


def evaluate_run(
    run_dir: str,
    split: str = "test",
    data_path: str | None = None,
    force: bool = False,
    latency_calls: int | None = None,
    verbose: bool = True,
) -> tuple[dict, bool]:
    """Evaluate one run on ``split``; return (result, whether it came from the cache).

    Probabilities are the served ones: the run's validation-fitted temperature
    is applied. Besides the classification metrics (per class too, named as the
    run's ``class_names``) the result holds ECE and Brier score, accuracy by
    review length, the behavioural suite's pass rate (through the same serving
    computation as the export; only for IMDB's neg/pos classes, else marked not
    applicable) and serving speed.

    Raises UserError for anything wrong with the run (not a run, model does not
    load, vocabulary differs from the data's, split missing).
    """
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    runs.check_run_dir(run_dir)
    if not force:
        cached = cached_result(run_dir, split)
        if cached is not None:
            return cached, True

    fingerprint = model_fingerprint(run_dir)
    config = evaluation_config(run_dir, split, data_path)
    data = load_run_data(run_dir, config, verbose)
    model = runs.load_model(run_dir)
    y, texts = split_labels_and_texts(data, split, config)
    if verbose:
        print(f"Evaluating {run_dir} on {len(y):,} {split} reviews...", flush=True)
    check_class_names(run_dir, data.class_names)
    serve = serving.serving_function(run_dir)
    if is_chunked(config):  # the token arrays hold cut reviews: score the texts as served
        probs = served_probabilities(serve, texts)
    else:
        probs = calibrate(predict(model, config, data, SHORT_SPLIT[split]), runs.temperature(run_dir))
    result = {
        "name": config.name,
        "split": split,
        "architecture": architecture_columns(config),
        "metrics": scored_metrics(y, probs, data.class_names),
        "by_length": accuracy_by_length(y, np.argmax(probs, axis=1), token_counts(texts)),
        "decision": evaluate_decision(thresholds.load_decision(run_dir), y, probs, data.class_names),
        "class_names": data.class_names,
        "behaviour": behaviour_result(serve, data.class_names),
        "temperature": runs.temperature(run_dir),
        "params": count_params(model),
        "model_bytes": fingerprint["bytes"],
        "speed": serving_speed(serve, texts, latency_calls),
        "fit_seconds_per_epoch": fit_seconds_per_epoch(run_dir),
        "data_source": data.source,
        "model_fingerprint": fingerprint,
        "evaluated_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    store = read_cache(run_dir)
    store[split] = result
    write_json(os.path.join(run_dir, EVALUATION), store)
    return result, False


def evaluation_config(run_dir: str, split: str, data_path: str | None) -> Config:
    """The run's config, its data source settled; after a final fit, validation is part of training."""
    config = resolve_data(runs.load_config(run_dir), data_path)
    if config.train.final_fit:
        # The final model was trained on train + validation, with vocabularies fitted on all of it.
        if split == "validation":
            raise UserError("the run's final fit trained on its validation reviews (train.final_fit); use --split test")
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, validation_size=0))
    return config


def load_run_data(run_dir: str, config: Config, verbose: bool):
    """The run's data, as its model was trained on; UserError when its vocabulary is not the run's."""
    data = load_data(config, verbose=verbose)
    if runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB)) != data.vocabulary:
        raise UserError(
            f"vocabulary does not match its model: {runs.VOCAB} differs from the vocabulary of "
            f"{data.source}; pass the --data the run was trained on"
        )
    return data


def split_labels_and_texts(data, split: str, config: Config):
    """(labels (N,), the N raw texts) of ``split``, in the order of its unshuffled dataset."""
    if data.streamed:
        return data.labels(SHORT_SPLIT[split]), data.texts(SHORT_SPLIT[split])
    _, y = split_arrays(data.tokens, split, config)
    texts_split = source_splits.split_texts(config.data, config.seed)
    return y, (texts_split.test if split == "test" else texts_split.validation)[0][: len(y)]


def check_class_names(run_dir: str, class_names: list[str]) -> None:
    if runs.load_class_names(run_dir) != class_names:
        raise UserError(
            f"the data's classes {class_names} differ from the run's {runs.load_class_names(run_dir)}; "
            "pass the --data the run was trained on"
        )


def scored_metrics(y, probs, class_names) -> dict:
    """Classification metrics (per class too), ECE and Brier score of probabilities (N, classes)."""
    metrics = classification.classification_metrics(y, probs, class_names)
    metrics["ece"] = expected_calibration_error(y, probs)
    metrics["brier"] = brier_score(y, probs)
    return metrics


def behaviour_result(serve, class_names) -> dict:
    """The behavioural suite through the serving function, or why it does not apply."""
    if not behaviour_applies(class_names):
        return {
            "applicable": False,
            "reason": f"the behavioural suite is IMDB's (neg/pos); this run's classes are {class_names}",
        }
    behaviour = score_suite(lambda batch: serve(_tf_strings(batch))[serving.PROBABILITY].numpy(), load_suite())
    return {k: behaviour[k] for k in ("pass_rate", "passed", "total", "by_category", "failures")}


def serving_speed(serve, texts, latency_calls: int | None) -> dict:
    """Throughput and batch-1 latency of the serving function on up to 2,048 of ``texts``."""
    speed = measure_serving(serve, texts[:2048], batch1_calls=latency_calls or LATENCY_CALLS)
    return {
        "throughput_per_s": speed["throughput_reviews_per_s"],
        "latency_ms": speed["batch1_p50_ms"],
        "latency_p95_ms": speed["batch1_p95_ms"],
        "throughput_batch": speed["batch_size"],
        "latency_calls": speed["batch1_calls"],
        "measured_on": "serving function (raw text in)",
    }


def behaviour_applies(class_names) -> bool:
    """The IMDB behavioural suite (negative/positive sentences) scores only a model with aclImdb's classes."""
    return list(class_names) == list(CLASS_NAMES)


def _tf_strings(texts):
    import tensorflow as tf

    return tf.constant(list(texts), dtype=tf.string)
