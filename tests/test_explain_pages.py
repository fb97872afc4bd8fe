"""textattn evaluate --explain N --html DIR: the most confident correct and wrong reviews per class, one page per run."""

import shutil

import numpy as np
import pytest
from helpers import load_script

from textattn.evaluation.explain_pages import pick_reviews, split_texts
from textattn.predict import Predictor

evaluate_cli = load_script("evaluate.py")


def test_pick_reviews_takes_the_most_confident_correct_then_wrong_per_class():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    positive = np.array([0.1, 0.3, 0.8, 0.6, 0.9, 0.99, 0.2, 0.45, 0.7])
    predicted = (positive > 0.5).astype(int)
    confidence = np.where(predicted == 1, positive, 1 - positive)
    names = ["neg", "pos"]
    picked = pick_reviews(labels, confidence, predicted, 2, names)
    assert [i for i, _ in picked] == [0, 1, 2, 3, 5, 4, 6, 7]
    assert picked[0][1] == "true neg, most confident correct #1 (review 0)"
    assert picked[3][1] == "true neg, most confident wrong #2 (review 3)"
    assert picked[6][1] == "true pos, most confident wrong #1 (review 6)"
    assert [i for i, _ in pick_reviews(labels, confidence, predicted, 1, names)] == [0, 2, 5, 6]
    all_right = pick_reviews(labels[:4], confidence[:4], predicted[:4] * 0, 3, names)
    assert [i for i, _ in all_right] == [0, 2, 1]  # no wrong ones, no positives: fewer blocks


def test_pick_reviews_for_three_classes_skips_reviews_without_a_verdict():
    labels = np.array([0, 1, 2, 2, 2, 1])
    predicted = np.array([0, 1, 2, -1, 0, 2])  # -1: no evidence, never correct
    confidence = np.array([0.9, 0.5, 0.8, 1 / 3, 0.7, 0.6])
    picked = pick_reviews(labels, confidence, predicted, 1, ["a", "b", "c"])
    assert [c for _, c in picked] == [
        "true a, most confident correct #1 (review 0)",
        "true b, most confident correct #1 (review 1)",
        "true b, most confident wrong #1 (review 5)",
        "true c, most confident correct #1 (review 2)",
        "true c, most confident wrong #1 (review 4)",
    ]


def test_evaluate_writes_one_explain_page_per_run(tiny_run, tiny_aclimdb, tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    shutil.copytree(tiny_run, run_dir)  # evaluate writes evaluation.json into the run
    out_dir = tmp_path / "pages"
    assert (
        evaluate_cli.main(
            [run_dir, "--data", tiny_aclimdb, "--explain", "2", "--html", str(out_dir), "--latency-calls", "5"]
        )
        == 0
    )
    page = out_dir / "run.html"
    assert f"Wrote {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")

    texts, labels = split_texts(run_dir, "test", tiny_aclimdb)
    predictions = Predictor(run_dir)(texts)
    expected = pick_reviews(labels, predictions.confidence, predictions.label_ids, 2, predictions.class_names)
    assert html.count('<section class="review">') == len(expected) >= 4
    positions = [html.index(caption) for _, caption in expected]
    assert positions == sorted(positions)  # in pick order
    assert "most confident correct #2" in html and "true pos" in html


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--explain", "2"], "--explain N and --html DIR go together"),
        (["--html", "x"], "--explain N and --html DIR go together"),
        (["--explain", "0", "--html", "x"], "--explain must be at least 1"),
    ],
)
def test_explain_options_are_checked(argv, message, capsys):
    assert evaluate_cli.main(["runs/x", *argv]) == 2
    assert message in capsys.readouterr().err
