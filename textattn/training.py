"""One training run: data, model, fit, calibration, optional final fit, test, and the run directory.

Stages (each variant goes through the ones that apply):

1. Choose on validation. A word-sequence or n-gram model trains with
   ``train.*``, keeping its best epoch by validation accuracy. The hybrid
   trains its n-gram branch (``model.hybrid.ngram_*``), then its word branch
   (``train.*``), then fits the blend of the two on validation.
2. Calibrate: a softmax temperature fitted on validation (``train.calibrate``).
3. Final fit (``train.final_fit``): every part is retrained on train +
   validation for the number of epochs chosen in stage 1, with vocabularies
   refitted on all of it; the blend and temperature stay as fitted on validation.
4. Test once, and write metrics.json.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import shutil
import statistics
import tempfile
import time

import keras
import numpy as np

from textattn import backend, distributed, fitting, runs
from textattn.atomic_write import write_atomic, write_json
from textattn.callbacks import (
    AtomicBackupAndRestore, AtomicBestCheckpoint, EpochTimer, KeepBestWeights, read_history, write_history,
)
from textattn.config import Config, config_to_dict, save_config
from textattn.data import pipeline
from textattn.errors import UserError
from textattn.fitting import RunData, load_data
from textattn.models import build_model, count_params
from textattn.models.build import check_head
from textattn.versions import versions


def compile_model(model: keras.Model, config: Config, learning_rate: float | None = None,
                  weighted: bool = False) -> keras.Model:
    """Compile with the config's optimizer and loss; ``weighted``: accuracy counts sample weights (a JAX
    multi-process run pads its last validation batch with rows of weight 0)."""
    t = config.train
    lr = learning_rate or t.learning_rate
    optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": lr}})
    if config.model.head == "sigmoid":
        loss = "binary_crossentropy"
    else:
        loss = "sparse_categorical_crossentropy"
    # XLA cannot compile the sparse n-gram input's ops.
    jit = backend.jit_compile(t.jit_compile, config.model.variant)
    metrics = {"weighted_metrics" if weighted else "metrics": ["accuracy"]}
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit, **metrics)
    return model


def new_run_dir(config: Config, output_dir: str | None) -> str:
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
            raise UserError(f"--run-dir {path!r} holds a run of another config (its {runs.CONFIG} differs in "
                            f"{', '.join(differ)}); pass a new directory, or the same config to continue it")
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


def ngram_ratios(config: Config, data: RunData, bags=None, labels=None) -> np.ndarray:
    """Log-count ratios of the training part (or of ``bags``/``labels`` when given)."""
    from textattn.layers.naive_bayes_ngrams import ratios_from_counts

    return ratios_from_counts(data.ngram_class_counts(bags, labels), config.model.ngram.alpha)


def new_ngram_model(config: Config, data: RunData, bags=None, labels=None) -> keras.Model:
    from textattn.models.bag_models import NB_LAYER, build_ngram_model

    model = build_ngram_model(config, data.ngram_vocab_size, data.num_classes)
    model.get_layer(NB_LAYER).set_log_count_ratios(ngram_ratios(config, data, bags, labels))
    return model


def new_model(config: Config, data: RunData) -> keras.Model:
    """An untrained model for ``config`` (the n-gram ratios already set from the training part)."""
    keras.utils.set_random_seed(config.seed)
    if config.model.variant == "ngram":
        return new_ngram_model(config, data)
    return build_model(config, num_classes=data.num_classes)


def predict(model: keras.Model, config: Config, data: RunData, split: str, variant: str | None = None) -> np.ndarray:
    """Class probabilities of ``split``, shape (N, classes); a sigmoid head's (N, 1) becomes (N, 2)."""
    from textattn.evaluation.calibration import class_probabilities

    ds = data.dataset(config, split, variant, batch_size=512, shuffle=False)
    return class_probabilities(np.asarray(model.predict(ds, verbose=0)))


# --------------------------------------------------------------------------- #
# Stage 1: fit on the training part, choose on validation.


def fit_with_run_callbacks(model, config: Config, data: RunData, run_dir: str, checkpoint: str,
                           verbose, variant: str | None = None, session=None,
                           shared_dir: str | None = None) -> list[dict]:
    """Fit with the run's history, best checkpoint, TensorBoard and resumable backup; return the history rows.

    ``session``: a distributed run's (textattn.distributed); ``shared_dir``: the chief's
    run directory, when this process is another worker: it restores the chief's
    backup and starts from the chief's best val_accuracy, so that it saves its own
    checkpoint at the same epochs as the chief (a save under the strategy may be a
    collective, which every worker must run).
    """
    history_path = os.path.join(run_dir, runs.HISTORY)
    previous = read_history(history_path)
    source = shared_dir or run_dir
    chief_previous = read_history(os.path.join(source, runs.HISTORY)) if shared_dir else previous
    best_so_far = (max((row["val_accuracy"] for row in chief_previous), default=None)
                   if os.path.isfile(os.path.join(source, os.path.basename(checkpoint))) else None)
    callbacks = [
        EpochTimer(),
        AtomicBestCheckpoint(checkpoint, monitor="val_accuracy", best=best_so_far),
        keras.callbacks.CSVLogger(history_path, append=bool(previous)),
        keras.callbacks.TensorBoard(os.path.join(run_dir, runs.LOGS)),
        # Last, so an epoch counts as finished only once everything above is on disk.
        AtomicBackupAndRestore(os.path.join(run_dir, runs.BACKUP), shared_dir and os.path.join(shared_dir, runs.BACKUP)),
    ]
    t = config.train
    fitting.fit(model, config, data, callbacks, patience=t.patience if t.early_stopping else None,
                restore_best=t.restore_best, variant=variant, verbose=verbose, session=session)
    history = read_history(history_path)
    write_history(history_path, history)
    if not history and shared_dir is None:
        raise UserError("training finished no epoch; check train.epochs")
    return history


def fit_ngram_branch(config: Config, data: RunData, verbose, epochs: int | None = None,
                     validate: bool = True) -> tuple[keras.Model, dict]:
    """The hybrid's n-gram branch, trained with ``model.hybrid.ngram_*``; best epoch by validation kept.

    With ``model.hybrid.self_training`` the trained branch labels the unlabelled
    reviews; those it is confident about (top class probability at least
    ``self_training_confidence``) join the training part with their arg-max
    class as label (for the log-count ratios too) and a fresh branch is trained
    on all of them.
    """
    h = config.model.hybrid
    model, summary = _fit_ngram_model(config, data, None, None, verbose, epochs, validate)
    unsup = None if data.streamed else data.ngrams.unsup
    if h.self_training and unsup is None:
        print(f"Self-training skipped: {data.source} has no unlabelled texts (only IMDB has them)", flush=True)
    if h.self_training and unsup is not None:
        from textattn.data.ngrams import concat_bags

        ds = pipeline.make_dataset(unsup, np.zeros(len(unsup), np.int32), 512, ngram_vocab_size=data.ngram_vocab_size)
        probabilities = np.asarray(model.predict(ds, verbose=0))
        confident = np.where(probabilities.max(axis=1) >= h.self_training_confidence)[0]
        pseudo = unsup.take(confident)
        bags = pipeline.NgramBags(*concat_bags(data.ngrams.train, pseudo))
        labels = np.concatenate([data.tokens.y_train, probabilities[confident].argmax(axis=1).astype(np.int32)])
        teacher = summary
        model, summary = _fit_ngram_model(config, data, bags, labels, verbose,
                                          epochs or (teacher.get("best_epoch") if validate else None), validate)
        summary["self_training"] = {"unlabeled": int(len(unsup)), "pseudo_labelled": int(len(confident)),
                                    "confidence": h.self_training_confidence, "teacher": teacher}
        summary["fit_seconds"] = round(summary["fit_seconds"] + teacher["fit_seconds"], 3)
    return model, summary


def _fit_ngram_model(config: Config, data: RunData, bags, labels, verbose, epochs, validate):
    """Fit a fresh n-gram model on ``bags``/``labels`` (None: the data's training part)."""
    h = config.model.hybrid
    keras.utils.set_random_seed(config.seed)
    model = compile_model(new_ngram_model(config, data, bags, labels), config, h.ngram_learning_rate)
    keep = KeepBestWeights()
    timer = EpochTimer()
    if bags is None:
        train_ds = data.dataset(config, "train", "ngram", batch_size=h.ngram_batch_size)
    else:
        train_ds = pipeline.make_dataset(bags, labels, h.ngram_batch_size, config.seed,
                                         ngram_vocab_size=data.ngram_vocab_size)
    history = model.fit(train_ds, validation_data=data.dataset(config, "val", "ngram") if validate else None,
                        epochs=epochs or h.ngram_epochs, callbacks=[timer, keep] if validate else [timer],
                        shuffle=False, verbose=verbose)
    keep.restore()
    seconds = float(sum(history.history.get("epoch_seconds", [])))
    examples = data.count("train") if labels is None else len(labels)
    summary = {"epochs_run": len(history.epoch), "fit_seconds": round(seconds, 3), "train_examples": int(examples)}
    if validate:
        summary.update(best_val_accuracy=keep.best, best_epoch=keep.best_epoch,
                       val_accuracy_per_epoch=[round(v, 5) for v in history.history["val_accuracy"]])
    return model, summary


def fit_hybrid(config: Config, data: RunData, run_dir: str, verbose):
    """Stage 1 for ``hybrid``: both branches and the blend; returns (model, word history, summary)."""
    from textattn.layers.log_linear_blend import fit_log_linear_blend
    from textattn.models.bag_models import assemble_hybrid, word_branch_config

    print("Hybrid: training the n-gram branch...", flush=True)
    ngram_model, ngram_summary = fit_ngram_branch(config, data, verbose)
    print(f"Hybrid: n-gram branch best val_accuracy {ngram_summary['best_val_accuracy']:.4f} "
          f"at epoch {ngram_summary['best_epoch']}; training the {config.model.hybrid.branch} branch...", flush=True)
    word_config = word_branch_config(config)
    keras.utils.set_random_seed(config.seed)
    word_model = compile_model(build_model(word_config, num_classes=data.num_classes), word_config)
    checkpoint = os.path.join(run_dir, WORD_BRANCH_CHECKPOINT)
    history = fit_with_run_callbacks(word_model, word_config, data, run_dir, checkpoint, verbose)
    word_model = load_keras(checkpoint)

    branch_val = [predict(ngram_model, config, data, "val", "ngram"), predict(word_model, config, data, "val",
                                                                              word_config.model.variant)]
    weights, bias = fit_log_linear_blend(branch_val, data.labels("val"))
    model = assemble_hybrid(ngram_model, word_model, config.name.replace("-", "_") or "hybrid", weights, bias)
    summary = {"ngram": ngram_summary, "blend": {"branch_weights": [float(w) for w in weights],
                                                 "bias": [float(b) for b in bias]}}
    return model, history, summary


WORD_BRANCH_CHECKPOINT = "word_branch.keras"


def load_keras(path: str) -> keras.Model:
    import textattn.data.text  # noqa: F401  (registers the standardizer)
    import textattn.layers  # noqa: F401  (registers the custom layers)

    return keras.saving.load_model(path, safe_mode=True)


# --------------------------------------------------------------------------- #
# Stage 3: the final fit on train + validation.


def final_fit(config: Config, chosen: dict, blend: dict | None, verbose, class_names=("neg", "pos")):
    """Retrain on train + validation for the chosen epochs; return (model, data, summary)."""
    from textattn.models.bag_models import assemble_hybrid, word_branch_config

    full = dataclasses.replace(config, data=dataclasses.replace(config.data, validation_size=0))
    data = load_data(full)
    if data.class_names != list(class_names):
        raise UserError(f"the final fit's data has classes {data.class_names}, the run's {list(class_names)}; "
                        "train with train.final_fit=false")
    print(f"Final fit on all {data.count('train'):,} training reviews...", flush=True)
    start = time.perf_counter()
    word_config = word_branch_config(full) if config.model.variant == "hybrid" else full
    word_model = None
    if config.model.variant != "ngram":
        keras.utils.set_random_seed(config.seed)
        word_model = compile_model(build_model(word_config, num_classes=data.num_classes), word_config)
        word_model.fit(data.dataset(word_config, "train", for_fit=True), epochs=chosen["epochs"], shuffle=False,
                       verbose=verbose)
    if config.model.variant == "hybrid":
        ngram_model, _ = fit_ngram_branch(full, data, verbose, epochs=chosen["ngram_epochs"], validate=False)
        model = assemble_hybrid(ngram_model, word_model, config.name.replace("-", "_") or "hybrid",
                                blend["branch_weights"], blend["bias"])
    elif config.model.variant == "ngram":
        keras.utils.set_random_seed(config.seed)
        model = compile_model(new_ngram_model(full, data), full)
        model.fit(data.dataset(full, "train"), epochs=chosen["epochs"], shuffle=False, verbose=verbose)
    else:
        model = word_model
    summary = {"train_examples": int(data.count("train")), "fit_seconds": round(time.perf_counter() - start, 3),
               **chosen}
    return model, data, summary


# --------------------------------------------------------------------------- #


def check_validation(config: Config, n_validation: int) -> None:
    """A run chooses its epoch, blend and temperature on validation: UserError when there is none."""
    if n_validation == 0:
        raise UserError(
            f"the validation part of {config.data.path or config.data.source} is empty "
            f"(data.validation_size={config.data.validation_size}, data.validation_fraction="
            f"{config.data.validation_fraction}); a run picks its epoch and calibrates on validation: add "
            "examples, raise data.validation_fraction, or mark validation rows in the split column "
            "(train.final_fit retrains on them afterwards)")


def train(config: Config, output_dir: str | None = None, resume: str | None = None,
          verbose: int | str = "auto", run_dir: str | None = None, session=None) -> str:
    """Train ``config`` and write a run directory; return its path.

    ``config``'s data source is settled (``textattn.data.source.resolve_data``);
    config.yaml records it, so that a resumed run and ``evaluate`` read the same
    data. With ``resume`` (the directory of a killed run, and its config) the
    run continues from its last finished epoch. ``run_dir`` names the directory
    outright (see ``open_run_dir``). ``session`` (``textattn.distributed.start``)
    makes this process one of a data-parallel run's: the chief writes the run
    directory, any other worker only trains along (``train_worker``).
    """
    from textattn.evaluation.calibration import brier_score, expected_calibration_error, fit_temperature

    backend.check_variant(config.model.variant)
    if config.data.multi_label:  # one sigmoid per label: its own stages (textattn/multilabel/run.py)
        from textattn.multilabel.run import train_multi_label

        return train_multi_label(config, output_dir, resume, verbose, run_dir)
    session = session or distributed.LOCAL
    if not session.is_chief:
        return train_worker(config, session, resume or run_dir, verbose)
    if resume:
        run_dir = resume
    elif run_dir:
        if open_run_dir(config, run_dir):
            resume = run_dir
    else:
        run_dir = new_run_dir(config, output_dir)
        save_config(config, os.path.join(run_dir, runs.CONFIG))
    print(f"Run directory: {run_dir}", flush=True)
    if session.kind != distributed.NONE:
        print(f"Distribution: {session.describe()}; global batch {config.train.batch_size}, "
              f"{config.train.batch_size / session.replicas:g} per replica", flush=True)

    keras.utils.set_random_seed(config.seed)
    try:
        check_streamed(config)
        data = load_data(config)
        check_validation(config, data.count("val"))
        check_head(config, data.num_classes)
        check_class_names(run_dir, data.class_names, resume)
    except UserError:
        if not resume:  # a run that cannot start leaves nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    prep_seconds = data.prep_seconds
    print(f"Data: {data.count('train')} train / {data.count('val')} validation / {data.count('test')} test reviews "
          f"from {data.source} in {prep_seconds:.1f}s{' (cached)' if data.cache_hit else ''}", flush=True)

    variant = config.model.variant
    start = time.perf_counter()
    branches = None
    if variant == "hybrid":
        model, history, branches = fit_hybrid(config, data, run_dir, verbose)
    else:
        with session.scope():  # the model's variables and its fit: mirrored over the replicas
            model = compile_model(new_model(config, data), config, weighted=session.weights_validation)
            model_path = os.path.join(run_dir, runs.MODEL)
            history = fit_with_run_callbacks(model, config, data, run_dir, model_path, verbose, session=session)
        # Loaded outside the scope: what follows runs on the chief alone, with no collective.
        model = runs.load_model(run_dir)
    fit_wall = time.perf_counter() - start
    best = max(history, key=lambda row: row["val_accuracy"])

    val_probs = predict(model, config, data, "val")
    y_val = data.labels("val")
    temperature = 1.0
    if config.train.calibrate and variant != "hybrid":  # the hybrid's blend is itself fitted on validation
        temperature = fit_temperature(y_val, val_probs)
    calibration = {
        "temperature": round(float(temperature), 6),
        "validation_ece_uncalibrated": expected_calibration_error(y_val, val_probs),
        "validation_ece": expected_calibration_error(y_val, calibrate(val_probs, temperature)),
    }
    val_accuracy = float(np.mean(np.argmax(val_probs, axis=1) == y_val))
    validation_phase = {
        # The hybrid is chosen by its blend's validation accuracy; its word branch's curve is in history.csv.
        "best_val_accuracy": val_accuracy if variant == "hybrid" else best["val_accuracy"],
        "best_epoch": best["epoch"] + 1,
        "final_val_accuracy": history[-1]["val_accuracy"],
        "val_accuracy": val_accuracy,
    }

    final = None
    n_validation = int(data.count("val"))
    if config.train.final_fit:
        chosen = {"epochs": validation_phase["best_epoch"]}
        if branches:
            chosen["ngram_epochs"] = branches["ngram"]["best_epoch"]
        model, data, final = final_fit(config, chosen, branches and branches["blend"], verbose, data.class_names)
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), data.vocabulary)
    if data.ngram_vocabulary is not None:
        runs.save_vocabulary(os.path.join(run_dir, runs.NGRAM_VOCAB), data.ngram_vocabulary)
    if variant == "hybrid" or final:
        write_atomic(os.path.join(run_dir, runs.MODEL), model.save, suffix=".keras")
    if os.path.exists(os.path.join(run_dir, WORD_BRANCH_CHECKPOINT)):
        os.unlink(os.path.join(run_dir, WORD_BRANCH_CHECKPOINT))

    # Test: touched once, after every choice is made.
    compile_model(model, config)
    test_probs = calibrate(predict(model, config, data, "test"), temperature)
    y_test = data.labels("test")
    test_accuracy = float(np.mean(np.argmax(test_probs, axis=1) == y_test))
    test_loss = float(keras.losses.SparseCategoricalCrossentropy()(y_test, test_probs))
    if branches:
        from textattn.models.bag_models import NGRAM_BRANCH, WORD_BRANCH

        for key, layer, branch_variant in (("ngram", NGRAM_BRANCH, "ngram"),
                                           ("word", WORD_BRANCH, config.model.hybrid.branch)):
            probs = predict(model.get_layer(layer), config, data, "test", branch_variant)
            branches.setdefault(key, {})["test_accuracy"] = float(np.mean(np.argmax(probs, axis=1) == y_test))
        branches["word"].update(variant=config.model.hybrid.branch, best_val_accuracy=best["val_accuracy"],
                                best_epoch=validation_phase["best_epoch"])

    epoch_seconds = [row.get("epoch_seconds", 0.0) for row in history]
    fit_seconds = sum(epoch_seconds) + (branches["ngram"]["fit_seconds"] if branches else 0.0)
    metrics = {
        "name": config.name,
        "variant": variant,
        "params": count_params(model),
        "best_val_accuracy": validation_phase["best_val_accuracy"],
        "best_epoch": validation_phase["best_epoch"],
        "final_val_accuracy": validation_phase["final_val_accuracy"],
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "test_ece": expected_calibration_error(y_test, test_probs),
        "test_brier": brier_score(y_test, test_probs),
        "calibration": calibration,
        "epochs_run": len(history),
        "data_prep_seconds": round(prep_seconds, 3),
        "data_cache_hit": data.cache_hit,
        "fit_seconds": round(fit_seconds + (final["fit_seconds"] if final else 0.0), 3),
        "fit_seconds_per_epoch_median": round(statistics.median(epoch_seconds), 3),
        "fit_wall_seconds_last_session": round(fit_wall, 3),
        "resumed": bool(resume),
        "distribution": {"kind": session.kind, "replicas": session.replicas},
        "train_examples": int(data.count("train")),
        "validation_examples": n_validation,
        "test_examples": int(data.count("test")),
        "data_source": data.source,
        "class_names": data.class_names,
        "seed": config.seed,
        "versions": versions(),
    }
    if branches:
        metrics["branches"] = branches
    if final:
        metrics["validation_phase"] = validation_phase
        metrics["final_fit"] = final
    write_json(os.path.join(run_dir, runs.METRICS), metrics)
    print(f"Best val_accuracy {metrics['best_val_accuracy']:.4f} at epoch {metrics['best_epoch']}; "
          f"test_accuracy {metrics['test_accuracy']:.4f}; fit {metrics['fit_seconds']:.1f}s", flush=True)
    if branches:
        print(f"Branches on test: n-gram {branches['ngram']['test_accuracy']:.4f}, "
              f"{config.model.hybrid.branch} {branches['word']['test_accuracy']:.4f}, blend {test_accuracy:.4f}",
              flush=True)
    return run_dir


def check_streamed(config: Config) -> None:
    """What a run on streamed data (textattn/data/streamed.py) cannot do yet: UserError before anything is read."""
    from textattn.data.streamed import STREAMED_KINDS

    if config.data.source in STREAMED_KINDS and config.train.final_fit:
        raise UserError("train.final_fit retrains on train + validation in memory; streamed data "
                        f"({config.data.path}) keeps its validation split: --set train.final_fit=false")


def train_worker(config: Config, session, run_dir: str, verbose) -> str:
    """A data-parallel run's non-chief worker: the chief's data, model and fit, every step a collective.

    It writes only to a temporary directory of its own ($TMPDIR/textattn-NAME-HASH), deleted at the end;
    a restarted worker resumes from the chief's backup in ``run_dir`` (which all
    workers must see, as in TensorFlow's multi-worker tutorial). The stages after
    the fit (calibration, test, metrics.json) are the chief's alone.
    """
    # Named after the run, so that a restarted worker clears what a killed one left behind.
    digest = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:12]
    scratch = os.path.join(tempfile.gettempdir(), f"textattn-{session.name}-{digest}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    print(f"{session.name}: {session.describe()}; the chief writes {run_dir}, this worker only {scratch} "
          "(deleted at the end)", flush=True)
    try:
        keras.utils.set_random_seed(config.seed)
        data = load_data(config)
        check_validation(config, data.count("val"))
        check_head(config, data.num_classes)
        with session.scope():
            model = compile_model(new_model(config, data), config, weighted=session.weights_validation)
            history = fit_with_run_callbacks(model, config, data, scratch, os.path.join(scratch, runs.MODEL),
                                             verbose, session=session, shared_dir=run_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{session.name}: training finished ({len(history)} epochs in this session)", flush=True)
    return run_dir


def check_class_names(run_dir: str, class_names: list[str], resume) -> None:
    """Write RUN_DIR/classes.txt; a resumed run's data must have the classes it started with."""
    path = os.path.join(run_dir, runs.CLASSES)
    if resume and os.path.isfile(path) and runs.load_class_names(run_dir) != list(class_names):
        raise UserError(f"the data's classes {list(class_names)} differ from the run's ({runs.CLASSES}: "
                        f"{runs.load_class_names(run_dir)}); resume with the data the run started with")
    runs.save_class_names(path, list(class_names))


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (N, C) with a softmax temperature applied (identity at 1)."""
    from textattn.evaluation.calibration import apply_temperature

    return probabilities if temperature == 1.0 else apply_temperature(probabilities, temperature)
