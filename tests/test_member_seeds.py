"""model.hybrid.member_seeds: the n-gram members fitted once per shuffling seed, their weights averaged."""

import dataclasses

import keras
import numpy as np
import pytest
from helpers import tiny_config, write_three_class_csv

from textattn.config import apply_overrides
from textattn.data.run_data import load_data
from textattn.data.source import resolve_data
from textattn.errors import UserError
from textattn.inference import predict
from textattn.models.bag_models import NB_LAYER
from textattn.training.hybrid import fit_ngram_branch


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A hybrid config and its data on a three-class CSV: 110 training rows, 40 validation rows."""
    tmp = tmp_path_factory.mktemp("seeds")
    source = write_three_class_csv(tmp / "three.csv")
    config = tiny_config(
        tmp, variant="hybrid", ngram={"vocab_size": 300}, hybrid={"branch": "baseline", "ngram_epochs": 3}
    )
    config = resolve_data(config, source)
    return config, load_data(config, verbose=False)


def with_seeds(config, seeds: int, seed: int | None = None):
    hybrid = dataclasses.replace(config.model.hybrid, member_seeds=seeds)
    return dataclasses.replace(
        config, seed=config.seed if seed is None else seed, model=dataclasses.replace(config.model, hybrid=hybrid)
    )


def trainable(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in model.trainable_weights]


def test_weights_are_the_average_of_one_fit_per_seed(setup):
    config, data = setup
    averaged, summary = fit_ngram_branch(with_seeds(config, 2), data, verbose=0, epochs=2, validate=False)
    first, _ = fit_ngram_branch(with_seeds(config, 1), data, verbose=0, epochs=2, validate=False)
    second, _ = fit_ngram_branch(with_seeds(config, 1, seed=config.seed + 1), data, verbose=0, epochs=2, validate=False)
    a, b = trainable(first), trainable(second)
    assert any(not np.allclose(x, y) for x, y in zip(a, b)), "the two seeds should shuffle differently"
    for got, x, y in zip(trainable(averaged), a, b):
        np.testing.assert_allclose(got, (x + y) / 2, rtol=1e-5, atol=1e-6)
    assert summary["member_seeds"] == 2 and summary["epochs_run"] == 2
    # The log-count ratios are the data's, the same for every seed: left as they are.
    ratios = [keras.ops.convert_to_numpy(m.get_layer(NB_LAYER).log_count_ratio) for m in (averaged, first)]
    np.testing.assert_array_equal(*ratios)


def test_epoch_kept_is_the_best_on_validation_averaged_over_seeds(setup):
    config, data = setup
    model, summary = fit_ngram_branch(with_seeds(config, 3), data, verbose=0)
    seeds = np.array(summary["seeds_val_accuracy_per_epoch"])
    assert seeds.shape == (3, 3)
    np.testing.assert_allclose(summary["val_accuracy_per_epoch"], seeds.mean(axis=0), atol=1e-5)
    assert summary["best_epoch"] == int(np.argmax(seeds.mean(axis=0))) + 1
    # The reported accuracy is the averaged model's own, not the seeds' mean.
    answers = predict(model, config, data, "val", "ngram").argmax(axis=1)
    assert summary["best_val_accuracy"] == pytest.approx(float((answers == data.labels("val")).mean()), abs=1e-6)


def test_one_seed_keeps_the_first_best_epoch_as_before(setup):
    config, data = setup
    _, summary = fit_ngram_branch(config, data, verbose=0)
    per_epoch = summary["val_accuracy_per_epoch"]
    assert "member_seeds" not in summary and "seeds_val_accuracy_per_epoch" not in summary
    assert summary["best_epoch"] == per_epoch.index(max(per_epoch)) + 1


def test_member_seeds_must_be_at_least_one(setup):
    config, _ = setup
    with pytest.raises(UserError, match="member_seeds must be at least 1"):
        apply_overrides(config, ["model.hybrid.member_seeds=0"])
