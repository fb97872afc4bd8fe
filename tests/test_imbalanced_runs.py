"""A run on imbalanced data with class weights, a decision rule and an abstain floor: what train records,
what evaluate prints and plots, what predict shows and what the export serves with TensorFlow alone."""

import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import REPO, load_script, run_tf_only, write_review

from textattn import export, runs, serving, thresholds
from textattn.atomic_write import write_json
from textattn.config import config_from_dict
from textattn.evaluation.coverage_plot import COVERAGE_PLOT
from textattn.predict import run_predict
from textattn.training import train

evaluate_cli = load_script("evaluate.py")


def write_imbalanced_jsonl(path, n_neg: int, n_pos: int, seed: int = 0) -> str:
    """Rows {text, label, split}: ``n_neg`` negative and ``n_pos`` positive training reviews, a third as many test."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for split, scale in (("train", 1.0), ("test", 1 / 3)):
            for label, n in (("neg", n_neg), ("pos", n_pos)):
                for _ in range(round(n * scale)):
                    f.write(json.dumps({"text": write_review(rng, label), "label": label, "split": split}) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def imbalanced_run(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("imbalanced")
    data = write_imbalanced_jsonl(tmp / "reviews.jsonl", 180, 36)
    config = config_from_dict(
        {
            "name": "tiny_imbalanced",
            "seed": 7,
            "data": {
                "source": "jsonl",
                "path": data,
                "vocab_size": 64,
                "sequence_length": 32,
                "validation_fraction": 0.25,
                "cache_dir": str(tmp / "cache"),
            },
            "model": {"embedding_dim": 8, "mask_padding": True},
            "train": {
                "epochs": 2,
                "batch_size": 16,
                "learning_rate": 0.01,
                "class_weight": "balanced",
                "threshold": "macro_f1",
                "abstain": 0.7,
            },
        }
    )
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_metrics_record_weights_and_the_decision(imbalanced_run):
    metrics = runs.read_json(os.path.join(imbalanced_run, runs.METRICS))
    counts = metrics["class_weight"]["train_counts"]
    assert counts["neg"] == 5 * counts["pos"]
    n = counts["neg"] + counts["pos"]
    assert metrics["class_weight"]["weights"] == pytest.approx(
        {"neg": n / (2 * counts["neg"]), "pos": n / (2 * counts["pos"])}, rel=1e-5
    )
    decision = metrics["decision"]
    assert decision["rule"] == "macro_f1" and decision["class"] == "pos" and decision["abstain"] == 0.7
    assert decision["offsets"] == pytest.approx([0.0, 2 * decision["threshold"] - 1.0])
    test = metrics["test_decision"]
    assert 0.0 < test["coverage"] <= 1.0 and [c["class"] for c in test["per_class"]] == ["neg", "pos"]


def test_evaluate_prints_per_class_recall_and_the_coverage_curve(imbalanced_run, tmp_path, capsys):
    code = evaluate_cli.main([imbalanced_run, "--plots", str(tmp_path), "--latency-calls", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Per class (test split)" in out  # two classes, but 5:1: per-class recall up front
    assert "Decision rule and coverage" in out and "unknown when the top probability < 0.7" in out
    assert (tmp_path / COVERAGE_PLOT).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runs.read_json(os.path.join(imbalanced_run, "evaluation.json"))["test"]["decision"]
    curve = result["coverage_curve"]
    assert [p["coverage"] for p in curve] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert curve[0]["accuracy"] == pytest.approx(result["accuracy"])  # 100 %: the rule on every review
    assert [p["answered"] for p in curve] == sorted((p["answered"] for p in curve), reverse=True)


def test_predict_shows_the_rule(imbalanced_run, capsys):
    assert run_predict(imbalanced_run, ["great superb film", "awful boring waste"]) == 0
    _, err = capsys.readouterr()
    assert "Decision rule: pos when p(pos) >" in err and "unknown when the top probability < 0.7" in err


@pytest.mark.slow  # a TensorFlow-only interpreter in a subprocess
def test_export_serves_cut_and_abstain_with_tensorflow_alone(imbalanced_run, tmp_path):
    # The run's own cut sits near 0.5 on this easy data: a copy gets a cut of 0.8 and a floor of 0.6.
    run = shutil.copytree(imbalanced_run, tmp_path / "run")
    metrics = runs.read_json(os.path.join(run, runs.METRICS))
    metrics["decision"].update(threshold=0.8, offsets=[0.0, 2 * 0.8 - 1.0], abstain=0.6)
    write_json(os.path.join(run, runs.METRICS), metrics)
    rng = random.Random(11)
    # Halves of a positive and a negative review: probabilities spread over [0, 1].
    texts = [
        write_review(rng, "pos", rng.randint(2, 20)) + " " + write_review(rng, "neg", rng.randint(2, 20))
        for _ in range(300)
    ] + ["", "zzz qqq"]  # the last two: no evidence
    out_dir = export.export_run(str(run), str(tmp_path / "export"))
    script = """
    model = tf.saved_model.load(data["export"])
    out = model.serve(tf.constant(data["texts"]))
    result = {"label_id": out["label_id"].numpy().tolist(), "probabilities": out["probabilities"].numpy().tolist(),
              "label": [v.decode() for v in out["label"].numpy().tolist()],
              "known": out["known_tokens"].numpy().tolist()}
    """
    served = run_tf_only(script, {"export": out_dir, "texts": texts}, tmp_path)
    assert served["imported"] == []
    decision = runs.read_json(os.path.join(out_dir, serving.METADATA))["decision"]
    assert (decision["threshold"], decision["abstain"]) == (0.8, 0.6)
    assert decision["served"] == "pos when p(pos) > 0.8 (macro_f1); unknown when the top probability < 0.6"
    p = np.asarray(served["probabilities"], np.float32)
    label_id = np.asarray(served["label_id"])
    assert label_id[-2:].tolist() == [-1, -1] and served["label"][-2:] == ["unknown", "unknown"]
    p, label_id, labels = p[:300], label_id[:300], served["label"][:300]
    expected = np.where(p[:, 1] > 0.8, 1, 0)
    expected[p.max(axis=1) < 0.6] = -1
    assert label_id.tolist() == expected.tolist() == thresholds.decide(p, decision).tolist()
    assert (label_id[(p[:, 1] > 0.6) & (p[:, 1] < 0.8)] == 0).sum() > 0, "pos by arg-max, neg by the cut"
    assert (label_id == -1).any() and (label_id >= 0).any(), "the floor splits these reviews"
    assert [name for name, i in zip(labels, label_id) if i == -1] == ["unknown"] * int((label_id == -1).sum())


@pytest.mark.slow  # starts `textattn train` in new processes
@pytest.mark.parametrize(
    "override, message",
    [
        ("train.threshold=f1", "train.threshold must be argmax, macro_f1 or precision=P"),
        ("train.class_weight={spam: 2}", "train.class_weight names class 'spam', which the data does not have"),
        ("train.abstain=1.5", "train.abstain must be in (0, 1]"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2_with_nothing_written(override, message, tiny_aclimdb, tmp_path):
    out = tmp_path / "runs"
    out.mkdir()
    env = {**os.environ, "TEXTATTN_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "textattn",
            "train",
            "--config",
            "configs/fast.yaml",
            "--data",
            tiny_aclimdb,
            "--set",
            "data.validation_size=40",
            "--set",
            override,
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.stderr
    assert not os.listdir(out), "nothing is written for bad input"
