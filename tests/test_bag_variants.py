"""The ngram and hybrid variants end to end on tiny data: bags, training stages, final fit,
calibration, export (TensorFlow only), no-evidence answers, evaluation."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import BAD_TEXTS, run_tf_only, tiny_config

from textattn import export, runs
from textattn.config import apply_overrides
from textattn.data import ngrams
from textattn.predict import Predictor
from textattn.training import train
from textattn.versions import versions

NGRAM = ["model.ngram.vocab_size=400", "train.learning_rate=0.01"]
HYBRID = [
    "model.ngram.vocab_size=400",
    "model.hybrid.branch=baseline",
    "model.pooling=attention",
    "model.hybrid.ngram_epochs=2",
    "model.hybrid.ngram_learning_rate=0.01",
    "train.final_fit=true",
]


def test_bags_hold_each_distinct_ngram_once():
    vectorizer = ngrams.adapt_ngram_vectorizer(["A great film, a GREAT film!", "dull film"], 100, 3)
    vocabulary = vectorizer.get_vocabulary()
    values, row_splits = ngrams.texts_to_bags(vectorizer, ["a great film a great film", "dull", "", "unseen"])
    rows = [sorted(vocabulary[i] for i in values[a:b]) for a, b in zip(row_splits[:-1], row_splits[1:])]
    assert rows[0] == sorted(
        ["a", "great", "film", "a great", "great film", "film a", "a great film", "great film a", "film a great"]
    )
    assert rows[1:] == [["dull"], [], []]  # nothing in the vocabulary: an empty bag, no OOV entry
    sparse = ngrams.bags_to_sparse(tf.RaggedTensor.from_row_splits(values.astype(np.int64), row_splits), 100)
    assert sparse.dense_shape.numpy().tolist() == [4, 100]


@pytest.fixture(scope="module")
def ngram_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ngram_run")
    config = apply_overrides(tiny_config(tmp, "ngram", data=tiny_aclimdb), NGRAM)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


@pytest.fixture(scope="module")
def hybrid_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hybrid_run")
    config = apply_overrides(tiny_config(tmp, "hybrid", data=tiny_aclimdb), HYBRID)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_ngram_run_writes_its_vocabulary_and_calibration(ngram_run):
    metrics = runs.read_json(os.path.join(ngram_run, runs.METRICS))
    assert metrics["variant"] == "ngram" and metrics["test_accuracy"] > 0.8
    assert metrics["calibration"]["temperature"] > 0 and 0 <= metrics["test_ece"] <= 1
    assert 0 <= metrics["test_brier"] <= 1
    assert len(runs.load_vocabulary(os.path.join(ngram_run, runs.NGRAM_VOCAB))) <= 400
    assert metrics["versions"] == versions()  # the same helper as the export's metadata
    model = runs.load_model(ngram_run)
    assert model.get_layer("naive_bayes_ngrams").log_count_ratio.trainable is False


def test_hybrid_reports_each_branch_and_the_final_fit(hybrid_run):
    metrics = runs.read_json(os.path.join(hybrid_run, runs.METRICS))
    branches = metrics["branches"]
    assert set(branches) == {"ngram", "word", "blend"}
    for name in ("ngram", "word"):
        correct = branches[name]["test_accuracy"] * 60  # a share of the tiny tree's 60 test reviews
        assert correct == pytest.approx(round(correct), abs=1e-6)
    assert len(branches["blend"]["branch_weights"]) == 2 and branches["word"]["variant"] == "baseline"
    assert metrics["final_fit"]["train_examples"] == 120  # train + validation
    assert metrics["final_fit"]["epochs"] == metrics["validation_phase"]["best_epoch"]
    assert metrics["final_fit"]["ngram_epochs"] == branches["ngram"]["best_epoch"]
    assert metrics["validation_examples"] == 40
    assert not os.path.exists(os.path.join(hybrid_run, "word_branch.keras"))
    model = runs.load_model(hybrid_run)  # safe_mode=True
    assert {layer.name for layer in model.layers} >= {"ngram_branch", "word_branch", "blend"}
    np.testing.assert_allclose(
        np.asarray(model.get_layer("blend").branch_weights), branches["blend"]["branch_weights"], rtol=1e-6
    )


@pytest.mark.slow
@pytest.mark.parametrize("which", ["ngram", "hybrid"])
def test_export_serves_what_the_run_serves_with_tensorflow_only(which, ngram_run, hybrid_run, tmp_path):
    run_dir = ngram_run if which == "ngram" else hybrid_run
    out = export.export_run(run_dir, str(tmp_path / "export"))
    texts = ["great wonderful superb film", "awful boring waste", "", "zzqx", "the plot"]
    in_process = Predictor(run_dir)(texts).probabilities[:, 1]
    script = """
    model = tf.saved_model.load(data["export"])
    out = model.serve(tf.constant(data["texts"] + [bytes.fromhex(h) for h in data["bad"]]))
    result = {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy().tolist() for k, v in out.items()}
    result["empty_batch"] = {k: v.numpy().tolist() for k, v in model.serve(tf.constant([], tf.string)).items()}
    """
    served = run_tf_only(
        script, {"export": out, "texts": texts, "bad": [v.hex() for v in BAD_TEXTS.values()]}, tmp_path
    )
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"][:5], in_process, atol=1e-5)
    assert served["probability"][2:4] == [0.5, 0.5] and served["known_tokens"][2:4] == [0, 0]
    assert served["probability"][0] > 0.5 > served["probability"][1]
    assert all(0.0 <= p <= 1.0 for p in served["probability"])
    assert len(served["probability"]) == len(texts) + len(BAD_TEXTS)
    assert served["label"][:4] == ["pos", "neg", "unknown", "unknown"]
    assert served["empty_batch"] == {
        "known_tokens": [],
        "label": [],
        "label_id": [],
        "probabilities": [],
        "probability": [],
    }


def test_evaluate_reports_calibration_length_and_behaviour(hybrid_run, tiny_aclimdb):
    from textattn.evaluation.run import evaluate_run

    result, cached = evaluate_run(hybrid_run, "test", data_path=tiny_aclimdb, latency_calls=3, verbose=False)
    assert not cached
    metrics = runs.read_json(os.path.join(hybrid_run, runs.METRICS))
    assert result["metrics"]["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert 0 <= result["metrics"]["ece"] <= 1 and 0 <= result["metrics"]["brier"] <= 1
    assert [b["bucket"] for b in result["by_length"]] == ["<=50", "51-200", ">200"]
    assert sum(b["examples"] for b in result["by_length"]) == 60
    assert result["behaviour"]["total"] >= 90 and 0 <= result["behaviour"]["pass_rate"] <= 1
    with pytest.raises(Exception, match="final fit"):
        evaluate_run(hybrid_run, "validation", data_path=tiny_aclimdb, verbose=False)


def test_bags_take_rows_in_any_order():
    from textattn.data.pipeline import NgramBags

    bags = NgramBags(np.array([1, 2, 3, 4, 5, 6]), np.array([0, 2, 2, 5, 6]))
    taken = bags.take([3, 0, 1, 2])
    assert taken.values.tolist() == [6, 1, 2, 3, 4, 5] and taken.row_splits.tolist() == [0, 1, 3, 3, 6]
    assert len(bags.take([])) == 0


def test_self_training_adds_confident_unlabelled_reviews(tiny_aclimdb, tmp_path):
    config = apply_overrides(
        tiny_config(tmp_path, "hybrid", data=tiny_aclimdb),
        HYBRID
        + ["train.final_fit=false", "model.hybrid.self_training=true", "model.hybrid.self_training_confidence=0.5"],
    )
    run_dir = train(config, output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    ngram = runs.read_json(os.path.join(run_dir, runs.METRICS))["branches"]["ngram"]
    # confidence 0.5 keeps every one of the tiny tree's 10 unlabelled reviews
    assert ngram["self_training"]["unlabeled"] == 10 and ngram["self_training"]["pseudo_labelled"] == 10
    assert ngram["train_examples"] == 80 + 10
    assert ngram["self_training"]["teacher"]["train_examples"] == 80


def test_crop_windows_are_contiguous_pieces_of_the_review():
    from textattn.data.pipeline import Crop, make_dataset

    keras.utils.set_random_seed(3)
    x = np.zeros((50, 12), np.int32)
    for i in range(50):
        x[i, : 4 + i % 8] = np.arange(2, 6 + i % 8)
    ((ids, _),) = make_dataset(x, np.zeros(50, np.int32), 50, 1, crop=Crop(1.0, 2, 3, seed=3))
    for row in ids.numpy():
        tokens = row[row != 0]
        assert 2 <= len(tokens) <= 3 and (row[len(tokens) :] == 0).all()  # tokens first, padding after
        assert (np.diff(tokens) == 1).all()  # one contiguous window of the original 2, 3, 4, ...
    ((kept, _),) = make_dataset(x, np.zeros(50, np.int32), 50, 1, crop=Crop(0.0, 2, 3))
    assert np.array_equal(np.sort(kept.numpy(), axis=0), np.sort(x, axis=0))  # probability 0: unchanged


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.crop_probability=1.5", "crop_probability"),
        ("train.crop_min_tokens=50", "crop_min_tokens"),
        ("model.hybrid.self_training_confidence=0.3", "self_training_confidence"),
        ("model.head=sigmoid", "needs model.head: softmax"),
    ],
)
def test_bad_hybrid_settings_are_user_errors(override, message, tmp_path):
    from textattn.errors import UserError

    with pytest.raises(UserError, match=message):
        apply_overrides(tiny_config(tmp_path, "hybrid"), [override])
