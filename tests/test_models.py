"""Model builders: every variant builds; reference parameter counts; padding invariance."""

import os

import keras
import numpy as np
import pytest
from helpers import tiny_config

from textattn import runs
from textattn.config import apply_overrides, load_config
from textattn.models import build_model, count_params
from textattn.training import train
from textattn.variants import NAMES

REFERENCE_PARAMS = {
    "seed_attention": 160_036,
    "seed_mha": 160_630,
    "seed_transformer": 164_386,
    "seed_transformer_pos": 168_482,
}


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_reference_configs_have_the_reported_parameter_counts(name):
    model = build_model(load_config(f"configs/{name}.yaml"))
    params = count_params(model)
    assert params["total"] == model.count_params() == REFERENCE_PARAMS[name]
    assert params["non_embedding"] == REFERENCE_PARAMS[name] - 160_000


EIGHT_VARIANTS = ["additive", "attention", "baseline", "hybrid", "mha", "ngram", "rnn_attention", "transformer"]


def test_the_eight_variants_are_registered():
    assert set(EIGHT_VARIANTS) <= set(NAMES)


VARIANT_SETTINGS = [
    ("baseline", []),
    ("attention", []),
    ("attention", ["model.attention.score_mode=concat"]),
    ("additive", []),
    ("additive", ["model.additive.implementation=keras"]),
    ("mha", ["model.mha.output_dims=[8, 10]"]),
    ("transformer", ["model.transformer.num_layers=2"]),
    ("rnn_attention", []),
    ("rnn_attention", ["model.rnn.cell=lstm", "model.rnn.bidirectional=false"]),
]
POSITIONS_AND_POOLING = [("none", "average"), ("learned", "max"), ("sinusoidal", "attention")]


def small_config(variant, extra, length, positional="none", pooling="average", mask=True):
    from textattn.config import Config

    return apply_overrides(
        Config(),
        [
            f"model.variant={variant}",
            "data.vocab_size=50",
            f"data.sequence_length={length}",
            "model.embedding_dim=8",
            f"model.mask_padding={str(mask).lower()}",
            f"model.positional={positional}",
            f"model.pooling={pooling}",
            *extra,
        ],
    )


def copy_weights(source, target):
    """Copy weights by path; a learned position table is cut to the target's length."""
    by_path = {w.path: np.asarray(w) for w in source.weights}
    for w in target.weights:
        value = by_path[w.path]
        w.assign(value[: w.shape[0]] if value.shape != tuple(w.shape) else value)


def predictions_short_and_long(variant, extra, positional, pooling, mask):
    keras.utils.set_random_seed(3)
    long_model = build_model(small_config(variant, extra, 24, positional, pooling, mask))
    short_model = build_model(small_config(variant, extra, 12, positional, pooling, mask))
    copy_weights(long_model, short_model)
    review = np.array([[5, 9, 13, 2, 7, 31, 4, 8]], "int32")
    short = np.pad(review, ((0, 0), (0, 4)))
    long = np.pad(review, ((0, 0), (0, 16)))
    return short_model.predict(short, verbose=0), long_model.predict(long, verbose=0)


@pytest.mark.parametrize("positional,pooling", POSITIONS_AND_POOLING)
@pytest.mark.parametrize("variant,extra", VARIANT_SETTINGS)
def test_padding_invariance_with_masking(variant, extra, positional, pooling):
    """Appending padding tokens leaves the prediction unchanged when masking is on."""
    short, long = predictions_short_and_long(variant, extra, positional, pooling, mask=True)
    assert short.shape == long.shape
    np.testing.assert_allclose(short, long, atol=1e-5)


@pytest.mark.parametrize("variant", ["attention", "mha", "transformer"])
def test_without_masking_padding_changes_the_prediction(variant):
    """The invariance above is the mask's doing: with it off, padding leaks in."""
    short, long = predictions_short_and_long(variant, [], "none", "average", mask=False)
    assert np.abs(short - long).max() > 1e-4


def test_sigmoid_head_and_head_dropout():
    config = small_config("baseline", ["model.head=sigmoid", "model.dropout=0.2"], 10)
    model = build_model(config)
    assert model.output.shape[-1] == 1
    assert model.get_layer("head_dropout").rate == 0.2


def test_sigmoid_head_trains_on_the_integer_labels(tiny_aclimdb, tmp_path):
    """The data layer knows nothing of heads: labels stay class ids, and the sigmoid head's loss takes them."""
    config = apply_overrides(tiny_config(tmp_path, data=tiny_aclimdb), ["model.head=sigmoid", "train.epochs=3"])
    run_dir = train(config, output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    metrics = runs.read_json(os.path.join(run_dir, runs.METRICS))
    assert metrics["best_val_accuracy"] >= 0.9 and metrics["test_accuracy"] >= 0.9
