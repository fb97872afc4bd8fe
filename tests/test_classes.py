"""N classes: every variant, training, calibration, export, predict, explain, the evaluator and the search.

The three-class data is a CSV (``helpers.write_three_class_csv``) read by the CSV reader, as ``--data``
would read it; everything after it (splits, vocabularies, models, run directory, export) is the code a
user runs.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import THREE_CLASSES, three_class_texts, tiny_config, tiny_tune_dict, write_three_class_csv

from textattn import export, runs, serving
from textattn.config import apply_overrides
from textattn.data.run_data import load_data
from textattn.data.source import resolve_data
from textattn.errors import UserError
from textattn.inference import predict
from textattn.models import build_model
from textattn.training import train
from textattn.training.compile import compile_model, new_model, ngram_ratios
from textattn.training.fit import fit
from textattn.training.hybrid import fit_ngram_branch
from textattn.training.run_dir import check_class_names
from textattn.variants import NAMES

# model.* sections of the bag variants, small.
BAG = {
    "ngram": {"ngram": {"vocab_size": 300}},
    "hybrid": {"ngram": {"vocab_size": 300}, "hybrid": {"branch": "baseline", "ngram_epochs": 1}},
}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    """A three-class CSV: 150 train rows (40 of them carved as validation), 60 test rows."""
    return write_three_class_csv(tmp_path_factory.mktemp("three") / "three.csv")


def config_for(tmp_path, source, variant, **model):
    """The tiny config of ``variant``, its data settled on ``source`` (a path; None: not settled)."""
    config = tiny_config(tmp_path, variant=variant, **{**BAG.get(variant, {}), **model})
    return resolve_data(config, source) if source else config


@pytest.mark.parametrize("variant", NAMES)
def test_every_variant_builds_with_three_units(variant, tmp_path):
    model = build_model(config_for(tmp_path, None, variant), ngram_vocab_size=50, num_classes=3)
    assert model.output_shape == (None, 3)
    two = build_model(config_for(tmp_path, None, variant), ngram_vocab_size=50)
    assert two.output_shape == (None, 2)


def test_two_classes_build_the_same_model_as_before(tmp_path):
    """num_classes=2 is the default: same weights from the same seed, so IMDB numbers do not move."""
    config = config_for(tmp_path, None, "transformer")
    keras.utils.set_random_seed(1)
    default = build_model(config)
    keras.utils.set_random_seed(1)
    explicit = build_model(config, num_classes=2)
    assert [w.shape for w in default.weights] == [w.shape for w in explicit.weights]
    for a, b in zip(default.weights, explicit.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_sigmoid_head_needs_two_classes(tmp_path):
    config = apply_overrides(config_for(tmp_path, None, "baseline"), ["model.head=sigmoid"])
    assert build_model(config).output_shape == (None, 1)
    with pytest.raises(UserError, match="sigmoid classifies 2 classes but the data has 3"):
        build_model(config, num_classes=3)


@pytest.mark.parametrize("variant", NAMES)
def test_every_variant_trains_a_step_on_three_classes(variant, tmp_path, source):
    config = config_for(tmp_path, source, variant)
    data = load_data(config, verbose=False)
    assert data.class_names == list(THREE_CLASSES) and data.num_classes == 3
    assert set(np.unique(data.tokens.y_train)) == {0, 1, 2}
    if variant == "hybrid":
        model, _ = fit_ngram_branch(config, data, verbose=0)
        assert model.output_shape == (None, 3)
        return
    model = compile_model(new_model(config, data), config)
    history = fit(model, config, data, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    probs = predict(model, config, data, "val")
    assert probs.shape == (len(data.tokens.y_val), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_ngram_ratios_have_one_column_per_class(tmp_path, source):
    config = config_for(tmp_path, source, "ngram")
    data = load_data(config, verbose=False)
    ratios = ngram_ratios(config, data)
    assert ratios.shape == (data.ngram_vocab_size, 3)
    vocabulary = data.ngrams.vocabulary
    # Each class's cue word leans toward its own class: the largest of its three ratios.
    for label, word in enumerate(["recipe", "vote", "goal"]):
        assert ratios[vocabulary.index(word)].argmax() == label


def test_self_training_pseudo_labels_three_classes(tmp_path, source):
    """Only IMDB has unlabelled texts, so they are bagged here with the run's own n-gram vocabulary."""
    from textattn.data import ngrams, pipeline

    config = config_for(
        tmp_path,
        source,
        "hybrid",
        hybrid={"branch": "baseline", "ngram_epochs": 2, "self_training": True, "self_training_confidence": 0.5},
    )
    data = load_data(config, verbose=False)
    vocabulary = data.ngrams.vocabulary
    vectorizer = ngrams.make_ngram_vectorizer(len(vocabulary), config.model.ngram.max_ngram, vocabulary)
    data.ngrams.unsup = pipeline.NgramBags(*ngrams.texts_to_bags(vectorizer, three_class_texts(6, seed=9)[0]))
    model, summary = fit_ngram_branch(config, data, verbose=0)
    st = summary["self_training"]
    assert st["unlabeled"] == 6 and 0 <= st["pseudo_labelled"] <= 6
    assert summary["train_examples"] == len(data.tokens.y_train) + st["pseudo_labelled"]
    assert model.output_shape == (None, 3)


@pytest.fixture(scope="module")
def three_class_run(tmp_path_factory, source):
    """A finished three-class baseline run (trained in-process, as ``train.py`` does)."""
    tmp = tmp_path_factory.mktemp("three_run")
    return train(config_for(tmp, source, "baseline"), output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_run_keeps_its_class_names(three_class_run):
    metrics = runs.read_json(os.path.join(three_class_run, runs.METRICS))
    assert metrics["class_names"] == list(THREE_CLASSES) == runs.load_class_names(three_class_run)
    assert metrics["test_accuracy"] > 0.6  # chance is 1/3
    assert 0 < metrics["calibration"]["temperature"] and metrics["test_ece"] < 0.5


def test_resume_refuses_other_classes(three_class_run, tmp_path):
    with pytest.raises(UserError, match="differ from the run's"):
        check_class_names(three_class_run, ["neg", "pos"], resume=three_class_run)


@pytest.fixture(scope="module")
def three_class_export(three_class_run, tmp_path_factory):
    return export.export_run(three_class_run, str(tmp_path_factory.mktemp("three_export") / "model"))


TEXTS = ["recipe oven flour garlic", "vote election senate", "goal match team score", "", "zzqx unseen"]


def test_export_serves_names_ids_and_probabilities(three_class_export):
    loaded = tf.saved_model.load(three_class_export)  # plain TensorFlow
    out = {k: v.numpy() for k, v in loaded.serve(tf.constant(TEXTS)).items()}
    assert set(out) == {"label", "label_id", "probabilities", "known_tokens"}  # no "probability": 3 classes
    assert out["probabilities"].shape == (5, 3) and out["probabilities"].dtype == np.float32
    assert out["label_id"].dtype == np.int32
    assert [t.decode() for t in out["label"]] == ["cooking", "politics", "sports", "unknown", "unknown"]
    assert out["label_id"].tolist() == [0, 1, 2, -1, -1]
    np.testing.assert_array_equal(out["probabilities"][3:], np.full((2, 3), 1 / 3, np.float32))
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-6)
    meta = runs.read_json(os.path.join(three_class_export, serving.METADATA))
    assert meta["class_names"] == list(THREE_CLASSES) and meta["format_version"] == 2
    assert meta["signature"]["outputs"]["probabilities"] == {"dtype": "float32", "shape": [None, 3]}
    assert meta["no_evidence"] == {"label_id": -1, "label": "unknown", "probabilities": "uniform"}


def test_export_explain_weighs_for_the_predicted_class(three_class_export, three_class_run):
    from textattn.explain.explainer import Explainer

    loaded = tf.saved_model.load(three_class_export)  # kept referenced: the endpoint alone does not hold the variables
    out = loaded.explain(tf.constant(TEXTS[:3]))
    assert out["weights"].shape[0] == 3 and [t.decode() for t in out["label"].numpy()] == list(THREE_CLASSES)
    explanations = Explainer(three_class_run)(TEXTS)
    assert [e.label for e in explanations] == ["cooking", "politics", "sports", "unknown", "unknown"]
    assert explanations[0].probability == pytest.approx(float(out["probabilities"][0, 0]), abs=1e-5)
    assert sum(explanations[2].weights) == pytest.approx(1.0, abs=1e-5)


def test_predict_prints_class_names(three_class_run, three_class_export, capsys):
    from textattn.__main__ import main

    assert main(["predict", three_class_export] + TEXTS[:4]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["cooking", "politics", "sports", "unknown"]
    assert float(lines[3].split()[1]) == pytest.approx(1 / 3, abs=1e-4)
    assert main(["predict", three_class_run, TEXTS[1], "--jsonl"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["label"] == "politics" and row["label_id"] == 1
    assert list(row["probabilities"]) == list(THREE_CLASSES)
    assert row["probability"] == row["probabilities"]["politics"] == max(row["probabilities"].values())


def test_evaluator_reports_per_class_and_plots_the_confusion_matrix(three_class_run, tmp_path, capsys):
    import shutil

    from textattn.commands.evaluate import run_evaluate

    run_dir = str(tmp_path / "run")
    shutil.copytree(three_class_run, run_dir)
    plots, table = tmp_path / "plots", tmp_path / "table.json"
    assert (
        run_evaluate([run_dir], latency_calls=3, plots=str(plots), json=str(table), markdown=str(tmp_path / "t.md"))
        == 0
    )
    out = capsys.readouterr().out
    assert "Per class (test split):" in out and "true \\ predicted" in out
    row = json.loads(table.read_text())["rows"][0]
    assert row["classes"] == 3 and row["class_names"] == list(THREE_CLASSES)
    assert row["precision"] is None and row["behaviour"] is None  # binary-only columns; suite not applicable
    confusion = np.asarray(row["confusion_matrix"])
    assert confusion.shape == (3, 3) and confusion.sum() == row["examples"]
    assert row["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum(), abs=1e-6)
    f1 = [c["f1"] for c in row["per_class"]]
    assert row["macro_f1"] == pytest.approx(np.mean(f1), abs=1e-6)
    for name, c in zip(THREE_CLASSES, row["per_class"]):
        assert c["class"] == name and f"{c['f1']:.4f}" in out
    stored = runs.read_json(os.path.join(run_dir, "evaluation.json"))["test"]
    assert stored["behaviour"]["applicable"] is False
    png = plots / "confusion_tiny_baseline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "| politics |" in (tmp_path / "t.md").read_text()


@pytest.mark.parametrize("variant", ["baseline", "hybrid"])
def test_three_class_search_trial(variant, tmp_path, source):
    import keras_tuner

    from textattn.tuning.hypermodel import OBJECTIVE, TextattnHyperModel
    from textattn.tuning.space import spec_from_dict

    raw = tiny_tune_dict(tmp_path)
    raw["base"]["data"].update(source="csv", path=source)
    raw["base"]["model"]["variant"] = variant
    raw["search"] = {"shared": {}, "variants": {variant: None}}
    hypermodel = TextattnHyperModel(spec_from_dict(raw), verbose=0)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert model.output_shape[-1] == 3
    result = hypermodel.fit(hp, model)
    assert 0.0 <= result[OBJECTIVE] <= 1.0 and result["epochs"] >= 1


@pytest.mark.parametrize("variant", ["ngram", "hybrid"])
def test_three_class_ngram_rows_add_up_to_the_predicted_class_centred_log_probability(variant, tmp_path):
    """Three classes: an n-gram row is its term in log p(predicted) - mean_k log p_k (exact for ``ngram``)."""
    from explain_support import MAX_NGRAM, NGRAM_VOCAB, WORD_VOCAB, corpus

    from textattn.data.ngrams import adapt_ngram_vectorizer
    from textattn.data.text import adapt_vectorizer
    from textattn.explain.endpoint import make_explain
    from textattn.models import bag_models

    keras.utils.set_random_seed(3)
    config = config_for(tmp_path, None, variant)
    texts = corpus()
    ngram_vectorizer = adapt_ngram_vectorizer(texts, NGRAM_VOCAB, MAX_NGRAM)
    model = build_model(config, len(ngram_vectorizer.get_vocabulary()), num_classes=3)
    branch = model if variant == "ngram" else model.get_layer(bag_models.NGRAM_BRANCH)
    layer = branch.get_layer(bag_models.NB_LAYER)
    rng = np.random.default_rng(5)
    ratios = rng.normal(size=(layer.vocab_size, 3)).astype("float32")
    ratios[0] = 0.0
    layer.set_log_count_ratios(ratios)
    layer.ngram_weight.assign(rng.normal(size=(layer.vocab_size, 1)).astype("float32"))
    layer.bias.assign(np.array([0.3, -0.2, 0.1], "float32"))
    if variant == "hybrid":
        model.get_layer(bag_models.BLEND).set_blend([0.7, 1.3], [0.1, -0.1, 0.05])
    temperature = 1.7
    parts = serving.ServingParts(
        config, adapt_vectorizer(texts, WORD_VOCAB), ngram_vectorizer, temperature, list(THREE_CLASSES)
    )
    reviews = [t.encode() for t in corpus(6, seed=2)] + [b"", b"zzqx"]
    out = {k: v.numpy() for k, v in make_explain(model, parts)(tf.constant(reviews)).items()}
    assert out["probabilities"].shape == (8, 3) and "probability" not in out
    assert out["label_id"][-2:].tolist() == [-1, -1] and (out["ngram_contributions"][-2:] == 0).all()
    fw = (ratios * np.asarray(layer.ngram_weight)).astype(np.float64)
    a = 0.7 if variant == "hybrid" else 1.0
    vocabulary = ngram_vectorizer.get_vocabulary()
    for row in range(6):
        c = int(out["label_id"][row])
        assert out["label"][row].decode() == THREE_CLASSES[c]
        present = out["ngrams"][row] != b""
        for gram, value in zip(out["ngrams"][row][present], out["ngram_contributions"][row][present]):
            g = vocabulary.index(gram.decode())
            assert value == pytest.approx(a * (fw[g, c] - fw[g].mean()) / temperature, abs=1e-5)
        if variant == "ngram":
            log_p = np.log(out["probabilities"][row].astype(np.float64))
            bias = np.asarray(layer.bias, np.float64)
            total = out["ngram_contributions"][row].sum() + (bias[c] - bias.mean()) / temperature
            assert total == pytest.approx(log_p[c] - log_p.mean(), abs=1e-4)


@pytest.mark.slow
def test_three_class_export_serves_with_tensorflow_alone(three_class_export, tmp_path):
    from helpers import run_tf_only

    script = """
    model = tf.saved_model.load(data["export"])
    out = model.serve(tf.constant(data["texts"]))
    result = {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy().tolist() for k, v in out.items()}
    """
    served = run_tf_only(script, {"export": three_class_export, "texts": TEXTS}, tmp_path)
    assert served.pop("imported") == []
    assert served["label"] == ["cooking", "politics", "sports", "unknown", "unknown"]
    assert served["label_id"] == [0, 1, 2, -1, -1] and "probability" not in served
    assert [len(row) for row in served["probabilities"]] == [3] * 5


def test_a_sigmoid_head_on_three_classes_is_one_line_and_leaves_no_run(tmp_path, source):
    config = apply_overrides(config_for(tmp_path, source, "baseline"), ["model.head=sigmoid"])
    with pytest.raises(UserError, match="model.head: sigmoid classifies 2 classes but the data has 3"):
        train(config, output_dir=str(tmp_path / "runs"), verbose=0)
    assert os.listdir(tmp_path / "runs") == []


def test_the_commands_a_user_runs_on_three_classes(tmp_path, source, capsys):
    """train (with --export), predict, evaluate and explain through the CLI's entry point, in-process."""
    import yaml

    from textattn.__main__ import main
    from textattn.config import config_to_dict

    config = config_to_dict(config_for(tmp_path, None, "baseline"))
    config_path = tmp_path / "three.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    out = tmp_path / "export"
    assert (
        main(
            [
                "train",
                "--config",
                str(config_path),
                "--data",
                source,
                "--output-dir",
                str(tmp_path / "runs"),
                "--export",
                str(out),
            ]
        )
        == 0
    )
    (run_dir,) = [str(p) for p in (tmp_path / "runs").iterdir()]
    assert runs.load_vocabulary(os.path.join(run_dir, runs.CLASSES)) == list(THREE_CLASSES)
    capsys.readouterr()
    assert main(["predict", str(out), "coach league goal", "simmer garlic oven"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["sports", "cooking"]
    assert main(["explain", str(out), "senate vote policy"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("politics")
    pages = tmp_path / "pages"
    assert (
        main(["evaluate", run_dir, "--data", source, "--latency-calls", "3", "--explain", "1", "--html", str(pages)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "Per class (test split):" in printed
    html = (pages / f"{os.path.basename(run_dir)}.html").read_text(encoding="utf-8")
    for name in THREE_CLASSES:
        assert f"true {name}, most confident correct #1" in html


def test_a_three_class_run_stopped_in_its_second_epoch_resumes(tmp_path, source, monkeypatch):
    import textattn.callbacks

    config = apply_overrides(config_for(tmp_path, source, "baseline"), ["train.epochs=3"])
    checks = []

    def sigterm_in_second_epoch():  # what StopOnTerminate asks after every batch; 7 + 3 batches per epoch here
        checks.append(1)
        return len(checks) > 12

    monkeypatch.setattr(textattn.callbacks, "termination_requested", sigterm_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(config, output_dir=str(tmp_path / "runs"), verbose=0)
    monkeypatch.setattr(textattn.callbacks, "termination_requested", lambda: False)
    (run_dir,) = [str(p) for p in (tmp_path / "runs").iterdir()]
    assert not os.path.exists(os.path.join(run_dir, runs.METRICS))
    assert len(textattn.callbacks.read_history(os.path.join(run_dir, runs.HISTORY))) == 1  # one epoch finished
    assert runs.load_class_names(run_dir) == list(THREE_CLASSES)
    assert train(runs.load_config(run_dir), resume=run_dir, verbose=0).run_dir == run_dir
    metrics = runs.read_json(os.path.join(run_dir, runs.METRICS))
    assert metrics["resumed"] and metrics["epochs_run"] == 3 and metrics["class_names"] == list(THREE_CLASSES)
    assert metrics["test_accuracy"] > 0.6


@pytest.mark.slow  # a whole search
def test_a_search_on_three_classes_writes_results_and_a_best_config(tmp_path, source, capsys):
    import csv

    import yaml

    from textattn.config import load_config
    from textattn.tuning.report import BEST_CONFIG, RESULTS_CSV
    from textattn.tuning.search import run_search

    raw = tiny_tune_dict(tmp_path)
    raw["search"]["variants"] = {"baseline": None, "ngram": raw["search"]["variants"]["ngram"]}
    path = tmp_path / "tune.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert run_search(str(path), data=source, max_trials=2) == 0
    project = tmp_path / "tuner" / "tiny"
    with open(project / RESULTS_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and all(row["status"] == "COMPLETED" and 0 <= float(row["val_accuracy"]) <= 1 for row in rows)
    best = load_config(str(project / BEST_CONFIG))
    assert (best.data.source, best.data.path) == ("csv", source)
    assert "Best trial" in capsys.readouterr().out
