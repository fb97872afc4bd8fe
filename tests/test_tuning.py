"""KerasTuner search: the space file, the HyperModel, a tiny search, and resuming a killed one."""

from __future__ import annotations

import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import keras
import keras_tuner
import numpy as np
import pytest
from helpers import REPO, tiny_tune_dict, write_tune_yaml

from textattn.config import apply_overrides, config_to_dict, load_config
from textattn.errors import UserError
from textattn.models import count_params
from textattn.tuning.hypermodel import OBJECTIVE, TextattnHyperModel
from textattn.tuning.report import BEST_CONFIG, RESULTS_CSV, RESULTS_MD
from textattn.tuning.search import run_search
from textattn.tuning.space import load_tune_spec, spec_from_dict
from textattn.variants import NAMES

# --------------------------------------------------------------------------- #
# The space file


def test_repo_tune_yaml_searches_the_eight_variants():
    spec = load_tune_spec(os.path.join(REPO, "configs", "tune.yaml"))
    assert sorted(spec.variants) == [
        "additive",
        "attention",
        "baseline",
        "hybrid",
        "mha",
        "ngram",
        "rnn_attention",
        "transformer",
    ]
    assert spec.tuner.max_trials >= 12


@pytest.mark.parametrize("name", ["tune.yaml", "tune_refine.yaml"])
def test_repo_tune_files_have_base_as_default(name):
    spec = load_tune_spec(os.path.join(REPO, "configs", name))
    # Declaring the space on empty hyperparameters gives back the base config.
    config = TextattnHyperModel(spec).config_for(keras_tuner.HyperParameters())
    assert config_to_dict(config) == config_to_dict(spec.base)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(extra=1), "unknown key 'extra'"),
        (lambda d: d["tuner"].update(kind="grid"), "tuner.kind"),
        (lambda d: d["tuner"].update(max_trials=0), "tuner.max_trials must be at least 1"),
        (lambda d: d["tuner"].update(worker_timeout=0), "tuner.worker_timeout must be a positive number"),
        (lambda d: d["tuner"].update(worker_timeout="soon"), "tuner.worker_timeout: expected float or null"),
        (lambda d: d["tuner"].update(chief_timeout=-1), "tuner.chief_timeout must be a positive number"),
        (
            lambda d: d["search"]["shared"].update({"model.embeding_dim": [8]}),
            "unknown config key 'model.embeding_dim'",
        ),
        (lambda d: d["search"]["shared"].update({"model.embedding_dim": [16, 32]}), "base config's value 8"),
        (lambda d: d["search"]["shared"].update({"train.learning_rate": {"min": 0.02, "max": 0.03}}), "outside"),
        (lambda d: d["search"]["shared"].update({"train.learning_rate": {"min": 0.001}}), "a range is"),
        # Ranges KerasTuner refuses, in its words.
        (
            lambda d: d["search"]["shared"].update({"train.learning_rate": {"min": 0.03, "max": 0.001}}),
            "min_value 0.03 is greater than the max_value 0.001",
        ),
        (
            lambda d: d["search"]["shared"].update(
                {"train.learning_rate": {"min": 0.001, "max": 0.03, "sampling": "cubic"}}
            ),
            "sampling must be one of",
        ),
        (
            lambda d: d["search"]["shared"].update({"model.dropout": {"min": 0.0, "max": 0.3, "sampling": "log"}}),
            "sampling='log' does not support negative values",
        ),
        (
            lambda d: d["search"]["shared"].update({"model.dropout": {"min": 0.0, "max": 0.3, "step": 0}}),
            "step must be positive",
        ),
        (lambda d: d["search"]["shared"].update({"model.positional": ["none", "rotary"]}), "'rotary' is not valid"),
        (lambda d: d["search"]["shared"].update({"model.embedding_dim": 8}), "a fixed value belongs in base"),
        (lambda d: d["search"]["shared"].update({"data.validation_size": [40, 50]}), "same validation reviews"),
        (lambda d: d["search"]["shared"].update({"model.mha.num_heads": [2, 4]}), "search.variants.mha"),
        (
            lambda d: d["search"]["variants"]["attention"].update({"model.mha.key_dim": [2]}),
            "not a hyperparameter of attention",
        ),
        (lambda d: d["search"]["variants"].update(lstm={}), "unknown variant"),
        (lambda d: d["search"]["variants"].pop("baseline"), "base.model.variant"),
    ],
)
def test_bad_tune_config_is_a_clear_user_error(tmp_path, change, message):
    data = tiny_tune_dict(tmp_path)
    change(data)
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        spec_from_dict(data)


def test_overrides_apply_to_the_base_config(tmp_path):
    spec = spec_from_dict(tiny_tune_dict(tmp_path), ["train.batch_size=8"])
    assert spec.base.train.batch_size == 8
    with pytest.raises(UserError, match="unknown config key"):
        spec_from_dict(tiny_tune_dict(tmp_path), ["train.batchsize=8"])


# --------------------------------------------------------------------------- #
# The HyperModel


@pytest.fixture
def hypermodel(tmp_path, tiny_aclimdb):
    keras.utils.set_random_seed(7)
    return TextattnHyperModel(spec_from_dict(tiny_tune_dict(tmp_path, data=tiny_aclimdb)), verbose=0)


def test_default_hyperparameters_build_the_base_model_and_fit(hypermodel):
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert config_to_dict(hypermodel.config_for(hp)) == config_to_dict(hypermodel.spec.base)
    assert model.optimizer is not None  # compiled
    metrics = hypermodel.fit(hp, model, epochs=1)
    # One epoch: the trial's score is the trained model's accuracy on the validation reviews.
    data = hypermodel.data_for(hypermodel.config_for(hp)).tokens
    accuracy = float(np.mean(np.argmax(model.predict(data.x_val, verbose=0), axis=1) == data.y_val))
    assert metrics[OBJECTIVE] == pytest.approx(accuracy, abs=1e-6)
    assert metrics["params"] == count_params(model)["total"]
    assert metrics["non_embedding_params"] == count_params(model)["non_embedding"]
    assert metrics["seconds"] > 0 and metrics["epochs"] == 1


def is_validation_accuracy(value: float) -> bool:
    """Whether ``value`` is a share of the tiny data's 40 validation reviews (k / 40)."""
    return 0.0 <= value <= 1.0 and abs(value * 40 - round(value * 40)) < 1e-4


PINNED = [
    ("baseline", {}),
    ("attention", {"model.attention.num_layers": 1, "model.attention.score_mode": "concat"}),
    ("additive", {"model.additive.units": 2}),
    ("mha", {"model.mha.num_heads": 1}),
    ("transformer", {"model.transformer.num_heads": 1}),
    ("rnn_attention", {"model.rnn.cell": "lstm"}),
    ("ngram", {"model.ngram.max_ngram": 2, "model.ngram.vocab_size": 200}),
    ("hybrid", {"model.hybrid.branch": "attention"}),
]


@pytest.mark.parametrize("variant, pinned", PINNED, ids=[v for v, _ in PINNED])
def test_each_pinned_variant_builds_and_fits(hypermodel, variant, pinned):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("model.variant", variant)
    for key, value in pinned.items():
        hp.Fixed(key, value)
    hp.Fixed("data.sequence_length", 24)  # a data setting other than the base's
    model = hypermodel.build(hp)
    config = hypermodel.config_for(hp)
    assert config.model.variant == variant
    for key, value in pinned.items():
        section, field = key.split(".")[1:]
        assert getattr(getattr(config.model, section), field) == value
    # Only the chosen variant's own hyperparameters are active.
    own = {p.key for p in hypermodel.spec.variants[variant]}
    others = {p.key for v, ps in hypermodel.spec.variants.items() if v != variant for p in ps}
    assert own <= set(hp.values) and not others & set(hp.values)
    if variant == "ngram":
        assert model.input_shape == (None, 200)  # one multi-hot column per n-gram
    elif variant == "hybrid":
        assert {x.name: tuple(x.shape) for x in model.inputs}["token_ids"] == (None, 24)
    else:
        assert model.input_shape == (None, 24)
    metrics = hypermodel.fit(hp, model, epochs=1)
    assert is_validation_accuracy(metrics[OBJECTIVE]) and metrics["epochs"] == 1


# --------------------------------------------------------------------------- #
# Searches


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # a whole search, then a training
def test_tiny_search_writes_results_and_a_best_config_that_trains(tmp_path, tiny_aclimdb, capsys):
    from textattn.training import train

    config_path = write_tune_yaml(tmp_path)
    assert run_search(config_path, data=tiny_aclimdb) == 0
    out = capsys.readouterr().out
    project = os.path.join(str(tmp_path), "tuner", "tiny")

    rows = read_csv(os.path.join(project, RESULTS_CSV))
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "COMPLETED" and row["variant"] in NAMES
        assert is_validation_accuracy(float(row[OBJECTIVE]))
        assert int(row["params"]) > int(row["non_embedding_params"]) > 0 and float(row["seconds"]) > 0
    markdown = open(os.path.join(project, RESULTS_MD)).read()
    assert markdown.count("| COMPLETED |") == 2 and markdown in out

    best_path = os.path.join(project, BEST_CONFIG)
    assert best_path in out
    best = load_config(best_path)
    best_row = max(rows, key=lambda r: float(r[OBJECTIVE]))
    assert best.model.variant == best_row["variant"]
    assert best.data.sequence_length == int(best_row["data.sequence_length"])
    assert best.data.path == os.path.abspath(tiny_aclimdb)
    assert best.data.source == "local"  # settled, so the best config trains as it is
    run_dir = train(apply_overrides(best, ["train.epochs=1"]), output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    assert os.path.isfile(os.path.join(run_dir, "metrics.json"))


def test_max_trials_does_not_apply_to_hyperband(tmp_path, tiny_aclimdb):
    config_path = write_tune_yaml(tmp_path)
    with pytest.raises(UserError, match="--max-trials does not apply to hyperband"):
        run_search(config_path, data=tiny_aclimdb, tuner="hyperband", max_trials=3)
    assert not os.path.exists(os.path.join(str(tmp_path), "tuner"))


@pytest.mark.parametrize("data", ["aclimdb", "csv"])
def test_a_search_without_validation_rows_stops_before_the_tuner_starts(tmp_path, tiny_aclimdb, data):
    """Every trial picks its epoch on validation: none left is one line before any trial, for IMDB
    (data.validation_size=0) and for a carved source (a 3-class CSV, no validation wanted)."""
    path = tiny_aclimdb if data == "aclimdb" else os.path.join(REPO, "tests", "data", "sources", "three_class.csv")
    config_path = write_tune_yaml(tmp_path)
    with pytest.raises(UserError, match=r"the validation part of .* is empty"):
        run_search(config_path, data=path, overrides=["data.validation_size=0"])
    assert not os.path.exists(os.path.join(str(tmp_path), "tuner"))


def finished_trials(project) -> dict[str, dict]:
    """trial id -> its trial.json, for the trials KerasTuner has marked COMPLETED."""
    done = {}
    for path in glob.glob(os.path.join(project, "trial_*", "trial.json")):
        try:
            with open(path) as f:
                trial = json.load(f)
        except (OSError, ValueError):  # being written
            continue
        if trial["status"] == "COMPLETED":
            done[trial["trial_id"]] = trial
    return done


@pytest.mark.slow
def test_killed_search_resumes_without_rerunning_finished_trials(tmp_path, tiny_aclimdb):
    max_trials = 4
    config_path = write_tune_yaml(tmp_path, max_trials=max_trials)
    project = os.path.join(str(tmp_path), "tuner", "tiny")
    command = [sys.executable, "train.py", "--tune", "--config", config_path, "--data", tiny_aclimdb]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not finished_trials(project) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the search ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = finished_trials(project)
    assert 1 <= len(before) < max_trials

    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    after = finished_trials(project)
    assert len(after) == max_trials
    for trial_id, trial in before.items():
        assert after[trial_id]["metrics"] == trial["metrics"]  # kept, not run again
    assert rerun.stdout.count("trial finished:") == max_trials - len(before)
    assert os.path.isfile(os.path.join(project, BEST_CONFIG))
