"""train.class_weight: parsing, the balanced weights' arithmetic, and their reach into the fits,
the n-gram ratios and the hybrid's blend."""

import os

import keras
import numpy as np
import pytest
from helpers import tiny_config

from textattn import class_weights
from textattn.config import apply_overrides, config_from_dict
from textattn.data.run_data import load_data
from textattn.errors import UserError
from textattn.inference import predict
from textattn.layers.log_linear_blend import fit_log_linear_blend
from textattn.layers.naive_bayes_ngrams import ratios_from_counts
from textattn.training import train
from textattn.training.compile import compile_model, new_model, ngram_ratios
from textattn.training.fit import fit


def with_weights(spec):
    return config_from_dict({"train": {"class_weight": spec}})


def test_balanced_weights_are_n_over_classes_times_count():
    # 3 of class 0, 1 of class 1: 4 / (2 * 3) and 4 / (2 * 1); a class without examples weighs 1.
    np.testing.assert_allclose(class_weights.balanced_weights([0, 0, 0, 1], 2), [2 / 3, 2.0], rtol=1e-12)
    np.testing.assert_allclose(class_weights.balanced_weights([0, 2, 2], 3), [1.0, 1.0, 0.5], rtol=1e-12)
    # Each class then carries the same total weight: count_c * w_c = n / classes.
    labels = np.array([0] * 90 + [1] * 10)
    weights = class_weights.balanced_weights(labels, 2)
    np.testing.assert_allclose(np.bincount(labels) * weights, [50.0, 50.0], rtol=1e-12)


def test_config_reads_none_balanced_and_a_mapping():
    assert with_weights("none").train.class_weight == "none"
    assert config_from_dict({}).train.class_weight == "none"  # the default
    assert with_weights("balanced").train.class_weight == "balanced"
    # YAML reads a class named 1 as an int key: it becomes the class name "1".
    config = apply_overrides(config_from_dict({}), ["train.class_weight={pos: 3, 1: 2}"])
    assert config.train.class_weight == {"pos": 3.0, "1": 2.0}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("bal", "train.class_weight: expected 'none' | 'balanced' or a mapping of str to float"),
        ({"pos": "heavy"}, r"a mapping of str to float, got \{'pos': 'heavy'\}"),
    ],
)
def test_config_rejects_bad_class_weights(spec, message):
    with pytest.raises(UserError, match=message):
        with_weights(spec)


def test_a_mapping_names_known_classes_with_positive_weights():
    np.testing.assert_allclose(class_weights.resolve({"pos": 4.0}, [0, 1], ["neg", "pos"]), [1.0, 4.0])
    with pytest.raises(UserError, match=r"names class 'spam', which the data does not have; its classes are neg, pos"):
        class_weights.resolve({"spam": 2.0}, [0, 1], ["neg", "pos"])
    with pytest.raises(UserError, match="train.class_weight.pos must be positive"):
        class_weights.resolve({"pos": 0.0}, [0, 1], ["neg", "pos"])
    assert class_weights.resolve("none", [0, 1], ["neg", "pos"]) is None


def test_for_fit_and_sample_weights():
    config = with_weights("balanced")
    assert class_weights.for_fit(config, [0, 0, 0, 1], ["neg", "pos"]) == pytest.approx({0: 2 / 3, 1: 2.0})
    np.testing.assert_allclose(
        class_weights.sample_weights(config, [1, 0, 0, 0], ["neg", "pos"]), [2.0, 2 / 3, 2 / 3, 2 / 3]
    )
    assert class_weights.for_fit(with_weights("none"), [0, 1], ["neg", "pos"]) is None
    assert class_weights.sample_weights(with_weights("none"), [0, 1], ["neg", "pos"]) is None


def test_weighted_nb_ratios_scale_each_class_counts():
    # Documents holding each of 3 features (feature 0 is the OOV bucket), per class.
    counts = np.array([[0.0, 6.0, 1.0], [0.0, 1.0, 2.0]])
    config = apply_overrides(config_from_dict({}), ["train.class_weight={pos: 3}"])
    weighted = class_weights.weight_counts(counts, config, [0, 1], ["neg", "pos"])
    np.testing.assert_array_equal(weighted, [[0.0, 6.0, 1.0], [0.0, 3.0, 6.0]])
    # With alpha 1, class pos's ratio of feature 2: log((1 + 6) / 12) - log((1 + 1) / 10).
    ratios = ratios_from_counts(weighted, alpha=1.0)
    assert ratios[2, 1] == pytest.approx(np.log(7 / 12) - np.log(2 / 10), rel=1e-6)
    assert ratios[2, 1] != pytest.approx(ratios_from_counts(counts)[2, 1], rel=1e-3)  # the weight matters
    assert class_weights.weight_counts(counts, with_weights("none"), [0, 1], ["neg", "pos"]) is counts


def test_run_ratios_use_the_weights(tiny_aclimdb, tmp_path):
    config = tiny_config(tmp_path, variant="ngram", data=tiny_aclimdb)
    data = load_data(config, verbose=False)
    counts = data.ngram_class_counts()
    np.testing.assert_array_equal(ngram_ratios(config, data), ratios_from_counts(counts))
    heavy = apply_overrides(config, ["train.class_weight={neg: 5}"])
    np.testing.assert_allclose(
        ngram_ratios(heavy, data), ratios_from_counts(counts * np.array([[5.0], [1.0]])), rtol=1e-6
    )


def test_blend_without_weights_is_unchanged_and_weights_move_its_bias():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 80 + [1] * 20)
    p = np.clip(0.5 + 0.3 * (labels - 0.5) + rng.normal(0, 0.2, 100), 0.05, 0.95)
    branches = [np.stack([1 - p, p], axis=1), np.stack([1 - p**2, p**2], axis=1)]
    plain = fit_log_linear_blend(branches, labels)
    np.testing.assert_array_equal(plain[1], fit_log_linear_blend(branches, labels, sample_weight=None)[1])
    balanced = fit_log_linear_blend(branches, labels, sample_weight=class_weights.balanced_weights(labels, 2)[labels])
    # Weighting the minority class up moves the bias towards it.
    assert (balanced[1][1] - balanced[1][0]) > (plain[1][1] - plain[1][0]) + 0.1


def test_class_weights_reach_the_fit(tiny_aclimdb, tmp_path):
    """Weighting neg 20 times up makes the same model, seed and data predict neg more often."""
    config = tiny_config(tmp_path, data=tiny_aclimdb)
    data = load_data(config, verbose=False)

    def mean_p_neg(cfg):
        keras.utils.set_random_seed(cfg.seed)
        model = compile_model(new_model(cfg, data), cfg)
        fit(model, cfg, data, epochs=2, verbose=0)
        return float(predict(model, cfg, data, "val")[:, 0].mean())

    assert mean_p_neg(apply_overrides(config, ["train.class_weight={neg: 20}"])) > mean_p_neg(config) + 0.05


def test_unknown_class_in_a_run_fails_before_training_and_leaves_nothing(tiny_aclimdb, tmp_path):
    config = apply_overrides(tiny_config(tmp_path, data=tiny_aclimdb), ["train.class_weight={spam: 2}"])
    out = tmp_path / "runs"
    with pytest.raises(UserError, match="names class 'spam'"):
        train(config, output_dir=str(out), verbose=0)
    assert not os.listdir(out)


def test_distribution_refuses_class_weights():
    with pytest.raises(UserError, match="does not weight classes yet; set train.class_weight=none"):
        config_from_dict({"train": {"class_weight": "balanced", "distribution": "mirrored"}})


def test_validation_batches_carry_each_label_class_weight():
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((np.arange(5.0), np.array([0, 1, 1, 0, 1], np.int32))).batch(2)
    assert class_weights.weigh_validation(ds, None) is ds
    weighted = list(class_weights.weigh_validation(ds, {0: 0.5, 1: 3.0}).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([w for _, _, w in weighted]), [0.5, 3.0, 3.0, 0.5, 3.0])


def test_weighted_validation_accuracy_is_balanced_accuracy():
    """Compiled for class weights, Keras' accuracy over weighted batches is the mean of per-class recalls."""
    import tensorflow as tf

    config = with_weights("balanced")
    labels = np.array([0] * 6 + [1] * 2, np.int32)
    probs = np.array([[0.9, 0.1]] * 5 + [[0.2, 0.8]] + [[0.3, 0.7], [0.6, 0.4]], np.float32)  # recalls 5/6, 1/2
    model = keras.Sequential([keras.Input((2,)), keras.layers.Identity()])
    compile_model(model, config)
    ds = tf.data.Dataset.from_tensor_slices((probs, labels)).batch(3)
    weights = class_weights.for_fit(config, labels, ["neg", "pos"])
    result = model.evaluate(class_weights.weigh_validation(ds, weights), verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx((5 / 6 + 1 / 2) / 2, abs=1e-6)
