"""One training run: ``train(config)`` writes a run directory, in named stages.

1. Fit on the training part, choosing on validation (``fit_on_training_part``).
   A word-sequence or n-gram model trains with ``train.*``, keeping its best
   epoch by validation accuracy. The hybrid trains its n-gram branch
   (``model.hybrid.ngram_*``), then its word branch (``train.*``), then fits
   the blend of the two on validation.
2. Calibrate: a softmax temperature fitted on validation (``train.calibrate``).
3. Final fit (``train.final_fit``): every part is retrained on train +
   validation for the number of epochs chosen in stage 1, with vocabularies
   refitted on all of it; the blend and temperature stay as fitted on validation.
4. Test once, and write metrics.json.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time

import keras

from textattn import backend, distributed, imbalance, runs
from textattn.atomic_write import write_json
from textattn.config import Config
from textattn.data.run_data import RunData, load_data
from textattn.errors import UserError
from textattn.inference import calibrate, load_keras, predict
from textattn.models.build import check_head
from textattn.training.calibrate import Calibration, calibrate_on_validation
from textattn.training.checks import check_streamed, check_validation
from textattn.training.compile import compile_model, new_model
from textattn.training.final_fit import FinalFit, final_fit
from textattn.training.fit import fit_with_run_callbacks
from textattn.training.hybrid import fit_hybrid
from textattn.training.multi_label import train_multi_label
from textattn.training.run_dir import WORD_BRANCH_CHECKPOINT, check_class_names, open_run, save_final_model
from textattn.training.scoring import accuracy, run_metrics, score_branches_on_test, score_on_test
from textattn.training.worker import train_worker


@dataclasses.dataclass
class TrainResult:
    """What ``train`` returns: the run's directory, and metrics.json's content (None for a non-chief worker,
    which writes no run)."""

    run_dir: str
    metrics: dict | None


@dataclasses.dataclass
class Chosen:
    """Stage 1's outcome: the model with the epoch (and blend) chosen on validation."""

    model: keras.Model
    history: list[dict]
    """history.csv's rows (a hybrid's: its word branch's)."""
    branches: dict | None
    """A hybrid's {"ngram": its branch's summary, "blend": the blend's weights}; None for other variants."""
    fit_wall_seconds: float


@dataclasses.dataclass
class Validation:
    """Stage 2's outcome: the calibration and metrics.json's "validation_phase"."""

    calibration: Calibration
    phase: dict
    decision: dict
    """The decision rule (``train.threshold``, ``train.abstain``) fitted on calibrated validation
    probabilities (textattn/imbalance.py)."""


def train(
    config: Config,
    output_dir: str | None = None,
    resume: str | None = None,
    verbose: int | str = "auto",
    run_dir: str | None = None,
    session=None,
) -> TrainResult:
    """Train ``config`` and write a run directory.

    ``config``'s data source is settled (``textattn.data.source.resolve_data``);
    config.yaml records it, so that a resumed run and ``evaluate`` read the same
    data. With ``resume`` (the directory of a killed run, and its config) the
    run continues from its last finished epoch. ``run_dir`` names the directory
    outright (see ``open_run_dir``). ``session`` (``textattn.distributed.start``)
    makes this process one of a data-parallel run's: the chief writes the run
    directory, any other worker only trains along (``train_worker``).
    """
    backend.check_variant(config.model.variant)
    session = session or distributed.LOCAL
    if not session.is_chief:
        return TrainResult(train_worker(config, session, resume or run_dir, verbose), None)
    run_dir, resumed = open_run(config, output_dir, resume, run_dir)
    announce(config, run_dir, session)
    data = load_checked_data(config, run_dir, resumed)
    if config.data.multi_label:  # one sigmoid per label, thresholds in place of calibration
        return TrainResult(run_dir, train_multi_label(config, data, run_dir, resumed, verbose))
    chosen = fit_on_training_part(config, data, run_dir, verbose, session)
    validation = choose_on_validation(config, data, chosen)
    final = refit_on_all(config, data, chosen, validation, verbose) if config.train.final_fit else None
    model, final_data = (final.model, final.data) if final else (chosen.model, data)
    save_final_model(run_dir, model, final_data, write_model=config.model.variant == "hybrid" or final is not None)
    test = score_on_test(config, model, final_data, validation.calibration.temperature)
    if chosen.branches:
        score_branches_on_test(config, model, final_data, chosen.branches)
        chosen.branches["word"].update(
            variant=config.model.hybrid.branch,
            best_val_accuracy=best_row(chosen)["val_accuracy"],
            best_epoch=validation.phase["best_epoch"],
        )
    metrics = run_metrics(
        config,
        model,
        final_data,
        test,
        validation.calibration.summary,
        validation.phase,
        chosen.history,
        session,
        prep_seconds=data.prep_seconds,
        fit_wall=chosen.fit_wall_seconds,
        n_validation=int(data.count("val")),
        resumed=resumed,
        branches=chosen.branches,
        final=final and final.summary,
    )
    metrics.update(
        imbalance.run_metrics(config, final_data, validation.decision, test.probabilities, final_data.labels("test"))
    )
    write_json(os.path.join(run_dir, runs.METRICS), metrics)
    print_outcome(config, metrics)
    return TrainResult(run_dir, metrics)


def announce(config: Config, run_dir: str, session) -> None:
    print(f"Run directory: {run_dir}", flush=True)
    if session.kind != distributed.NONE:
        print(
            f"Distribution: {session.describe()}; global batch {config.train.batch_size}, "
            f"{config.train.batch_size / session.replicas:g} per replica",
            flush=True,
        )


def load_checked_data(config: Config, run_dir: str, resumed: bool) -> RunData:
    """The run's data, checked against the config and the run; a new run that cannot start leaves nothing behind."""
    keras.utils.set_random_seed(config.seed)
    try:
        check_streamed(config)
        data = load_data(config)
        check_validation(config, data.count("val"))
        check_head(config, data.num_classes)
        check_class_names(run_dir, data.class_names, resumed)
        imbalance.check(config, data)
    except UserError:
        if not resumed:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    print(
        f"Data: {data.count('train')} train / {data.count('val')} validation / {data.count('test')} test reviews "
        f"from {data.source} in {data.prep_seconds:.1f}s{' (cached)' if data.cache_hit else ''}",
        flush=True,
    )
    return data


def fit_on_training_part(config: Config, data: RunData, run_dir: str, verbose, session) -> Chosen:
    """Stage 1: the model fitted on the training part, its best epoch (and a hybrid's blend) chosen on validation."""
    start = time.perf_counter()
    if config.model.variant == "hybrid":
        checkpoint = os.path.join(run_dir, WORD_BRANCH_CHECKPOINT)

        def fit_word_branch(word_model, word_config):
            history = fit_with_run_callbacks(word_model, word_config, data, run_dir, checkpoint, verbose)
            return load_keras(checkpoint), history

        hybrid = fit_hybrid(config, data, verbose, fit_word_branch)
        model, history = hybrid.assemble(config), hybrid.word_history
        branches = {"ngram": hybrid.ngram_summary, "blend": hybrid.blend_summary()}
        if hybrid.lexicon_summary is not None:
            branches["lexicon"] = hybrid.lexicon_summary
        if hybrid.naive_bayes_model is not None:
            labels = data.labels("val")
            position = len(hybrid.branch_val) - 1 - (hybrid.character_model is not None)  # members: ..., NB, chars
            branches["naive_bayes"] = {
                "best_val_accuracy": float((hybrid.branch_val[position].argmax(axis=1) == labels).mean())
            }
        if hybrid.character_summary is not None:
            branches["characters"] = hybrid.character_summary
    else:
        with session.scope():  # the model's variables and its fit: mirrored over the replicas
            model = compile_model(new_model(config, data), config, weighted=session.weights_validation)
            history = fit_with_run_callbacks(
                model, config, data, run_dir, os.path.join(run_dir, runs.MODEL), verbose, session=session
            )
        # Loaded outside the scope: what follows runs on the chief alone, with no collective.
        model = runs.load_model(run_dir)
        branches = None
    return Chosen(model, history, branches, time.perf_counter() - start)


def best_row(chosen: Chosen) -> dict:
    """The history row of the best validation accuracy (the first of equals)."""
    return max(chosen.history, key=lambda row: row["val_accuracy"])


def choose_on_validation(config: Config, data: RunData, chosen: Chosen) -> Validation:
    """Stage 2: the model's validation accuracy and its calibration."""
    val_probs = predict(chosen.model, config, data, "val")
    y_val = data.labels("val")
    calibration = calibrate_on_validation(config, y_val, val_probs)
    val_accuracy = accuracy(val_probs, y_val)
    best = best_row(chosen)
    phase = {
        # The hybrid is chosen by its blend's validation accuracy; its word branch's curve is in history.csv.
        "best_val_accuracy": val_accuracy if config.model.variant == "hybrid" else best["val_accuracy"],
        "best_epoch": best["epoch"] + 1,
        "final_val_accuracy": chosen.history[-1]["val_accuracy"],
        "val_accuracy": val_accuracy,
    }
    decision = imbalance.fit_decision(config, calibrate(val_probs, calibration.temperature), y_val, data.class_names)
    return Validation(calibration, phase, decision)


def refit_on_all(config: Config, data: RunData, chosen: Chosen, validation: Validation, verbose) -> FinalFit:
    """Stage 3: every part retrained on train + validation for the epochs chosen in stage 1."""
    epochs = {"epochs": validation.phase["best_epoch"]}
    if chosen.branches:
        epochs["ngram_epochs"] = chosen.branches["ngram"]["best_epoch"]
        if "characters" in chosen.branches:
            epochs["character_epochs"] = chosen.branches["characters"]["best_epoch"]
    return final_fit(config, epochs, chosen.branches and chosen.branches["blend"], verbose, data.class_names)


def print_outcome(config: Config, metrics: dict) -> None:
    print(
        f"Best val_accuracy {metrics['best_val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
        f"test_accuracy {metrics['test_accuracy']:.4f}; fit {metrics['fit_seconds']:.1f}s",
        flush=True,
    )
    branches = metrics.get("branches")
    if branches:
        print(
            f"Branches on test: n-gram {branches['ngram']['test_accuracy']:.4f}, "
            f"{config.model.hybrid.branch} {branches['word']['test_accuracy']:.4f}, "
            + (f"lexicon {branches['lexicon']['test_accuracy']:.4f}, " if "lexicon" in branches else "")
            + f"blend {metrics['test_accuracy']:.4f}",
            flush=True,
        )
