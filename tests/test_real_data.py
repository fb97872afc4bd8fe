"""On the real Large Movie Review Dataset archive: counts, balance, and a short training."""

import json
import os

import pytest

from textattn import runs
from textattn.config import apply_overrides, load_config
from textattn.data import pipeline
from textattn.data.source import Source, resolve_data

pytestmark = pytest.mark.slow  # the real 84 MB archive


def test_real_archive_counts_and_label_balance(real_archive):
    texts = pipeline.read_texts(Source("local", real_archive), ("train", "test", "unsup"))
    for split in ("train", "test"):
        reviews, labels = texts[split]
        assert len(reviews) == 25_000
        assert labels.count(0) == labels.count(1) == 12_500
    assert len(texts["unsup"][0]) == 50_000


def test_short_training_on_a_slice_is_clearly_above_chance(real_archive, tmp_path):
    """Baseline on 4,000 real reviews for 3 epochs; validation on the full 10,000."""
    from textattn.training import train

    config = apply_overrides(
        load_config("configs/seed_attention.yaml"),
        [
            "name=real_slice",
            "model.variant=baseline",
            "model.mask_padding=true",
            "train.learning_rate=0.01",
            "train.epochs=3",
            "train.jit_compile=false",
            "data.train_limit=4000",
            "data.test_limit=5000",
        ],
    )
    run_dir = train(resolve_data(config, real_archive), output_dir=str(tmp_path), verbose=0).run_dir
    metrics = json.load(open(os.path.join(run_dir, runs.METRICS)))
    assert metrics["train_examples"] == 4000 and metrics["validation_examples"] == 10_000
    assert metrics["best_val_accuracy"] > 0.78
    assert metrics["test_accuracy"] > 0.78
    assert len(runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB))) == 10_000


def test_ngram_baseline_on_real_reviews_beats_the_attention_models(real_archive, tmp_path):
    """configs/ngram.yaml without the final fit: 15,000 reviews trained on, 2 epochs."""
    from textattn.predict import Predictor
    from textattn.training import train

    config = apply_overrides(
        load_config("configs/ngram.yaml"), ["train.final_fit=false", "train.epochs=2", "data.test_limit=5000"]
    )
    run_dir = train(resolve_data(config, real_archive), output_dir=str(tmp_path), verbose=0).run_dir
    metrics = json.load(open(os.path.join(run_dir, runs.METRICS)))
    assert metrics["best_val_accuracy"] > 0.905 and metrics["test_accuracy"] > 0.90
    assert metrics["test_ece"] < 0.03
    predictor = Predictor(run_dir)
    predictions = predictor(["", "qwzx vbnq", "a wonderful, moving film", "a dull, boring waste of time"])
    probabilities = predictions.probabilities[:, 1]
    assert probabilities[:2].tolist() == [0.5, 0.5] and predictions.known_tokens[:2].tolist() == [0, 0]
    assert probabilities[2] > 0.5 > probabilities[3] and predictions.labels[2:] == ["pos", "neg"]
