"""The lexicon expert (model.hybrid.lexicon: vader): its layer, its table, and a hybrid that blends it in."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import serve_tf_only, tiny_config

from textattn import export, runs, serving
from textattn.config import apply_overrides
from textattn.data.text import standardize_review_marking_negation
from textattn.errors import UserError
from textattn.layers import LexiconScores
from textattn.models.lexicon import SCORES_LAYER, build_lexicon_model, vader_lexicon, vader_table
from textattn.predict import Predictor
from textattn.training import train

pytest.importorskip("vaderSentiment")

VOCABULARY = ["", "[UNK]", "the", "food", "was", "good", "bad", "but", "very", "not", "not_good", "not_bad", "however"]
VALENCES = {"good": 1.9, "bad": -2.5, "food": 0.0}
BOOSTERS = {"very": 0.293}
COMPOUND = 0  # LexiconScores' first feature: S / sqrt(S^2 + 15)


def ids(text: str, length: int = 12) -> np.ndarray:
    index = {word: i for i, word in enumerate(VOCABULARY)}
    tokens = standardize_review_marking_negation(tf.constant([text])).numpy()[0].decode().split()
    row = [index.get(token, 1) for token in tokens][:length]
    return np.array([row + [0] * (length - len(row))], np.int32)


@pytest.fixture(scope="module")
def layer():
    table = vader_table(VOCABULARY, VALENCES, BOOSTERS)
    scores = LexiconScores(len(VOCABULARY))
    scores.build((None, None))
    scores.set_table(table)
    return scores


def valences(layer, text):
    return np.asarray(layer.token_valences(ids(text)))[0]


def test_table_flips_negated_words_and_skips_negators():
    table = vader_table(VOCABULARY, VALENCES, BOOSTERS)
    assert table.shape == (len(VOCABULARY), 3)
    row = {word: table[i] for i, word in enumerate(VOCABULARY)}
    assert row["good"][0] == pytest.approx(1.9) and row["not_good"][0] == pytest.approx(-0.74 * 1.9)
    assert row["not_bad"][0] == pytest.approx(0.74 * 2.5)
    assert row["not"][0] == 0 and row[""].tolist() == [0, 0, 0] and row["[UNK]"].tolist() == [0, 0, 0]
    assert row["very"][1] == pytest.approx(0.293) and row["but"][2] == 1 and row["however"][2] == 1


def test_known_values(layer):
    out = lambda text: np.asarray(layer(ids(text)))[0]  # noqa: E731
    assert out("good")[COMPOUND] == pytest.approx(1.9 / np.sqrt(1.9**2 + 15), rel=1e-5)
    assert out("good")[COMPOUND] > 0 > out("not good")[COMPOUND]
    assert out("not bad")[COMPOUND] > 0 > out("bad")[COMPOUND]
    assert out("very good")[COMPOUND] > out("good")[COMPOUND]  # a booster adds 0.293
    assert valences(layer, "very good")[1] == pytest.approx(1.9 + 0.293)
    # "but": the clause before it counts half, the one after it one and a half times.
    v = valences(layer, "the food was good but the food was bad")
    assert v[3] == pytest.approx(0.5 * 1.9) and v[8] == pytest.approx(1.5 * -2.5)
    assert out("the food was good but bad")[COMPOUND] < 0 < out("the food was bad but good")[COMPOUND]
    assert out("")[COMPOUND] == 0 and out("zzz qqq")[COMPOUND] == 0  # padding and unknown words add nothing
    longer = np.asarray(layer(ids("the food was good but bad", length=30)))[0]
    np.testing.assert_allclose(longer, out("the food was good but bad"), rtol=1e-6)  # more padding, same features


def test_layer_shape_and_config_round_trip(layer):
    assert layer(np.zeros((5, 7), np.int32)).shape == (5, LexiconScores.FEATURES)
    assert layer.compute_output_shape((5, 7)) == (5, 4)
    clone = LexiconScores.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and clone.vocab_size == len(VOCABULARY)


def test_model_saves_and_loads_with_identical_outputs(tmp_path):
    model = build_lexicon_model(len(VOCABULARY), None, 2, vader_table(VOCABULARY, VALENCES, BOOSTERS))
    batch = np.concatenate([ids("not good"), ids("the food was very good"), ids("")])
    path = str(tmp_path / "lexicon.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(batch)), np.asarray(model(batch)), rtol=1e-6)
    assert loaded.get_layer(SCORES_LAYER).table.trainable is False


def test_the_installed_lexicon_reads():
    lexicon, boosters = vader_lexicon()
    assert len(lexicon) > 7000 and lexicon["good"] > 0 > lexicon["bad"] and boosters["very"] > 0
    assert all(" " not in word for word in boosters)


def test_lexicon_setting_is_type_checked(tmp_path):
    config = apply_overrides(tiny_config(tmp_path, "hybrid"), ["model.hybrid.lexicon=vader"])
    assert config.model.hybrid.lexicon == "vader"
    assert tiny_config(tmp_path, "hybrid").model.hybrid.lexicon == "none"
    with pytest.raises(UserError, match="lexicon"):
        apply_overrides(tiny_config(tmp_path, "hybrid"), ["model.hybrid.lexicon=afinn"])


HYBRID_LEXICON = [
    "model.ngram.vocab_size=400",
    "model.hybrid.branch=baseline",
    "model.pooling=attention",
    "model.hybrid.ngram_epochs=2",
    "model.hybrid.ngram_learning_rate=0.01",
    "model.hybrid.lexicon=vader",
    "data.negation=mark",
    "train.final_fit=true",
]


@pytest.fixture(scope="module")
def lexicon_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lexicon_run")
    config = apply_overrides(tiny_config(tmp, "hybrid", data=tiny_aclimdb), HYBRID_LEXICON)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_hybrid_blends_the_lexicon_expert(lexicon_run):
    metrics = runs.read_json(os.path.join(lexicon_run, runs.METRICS))
    branches = metrics["branches"]
    assert set(branches) == {"ngram", "word", "lexicon", "blend"}
    assert len(branches["blend"]["branch_weights"]) == 3
    assert 0 <= branches["lexicon"]["best_val_accuracy"] <= 1 and 0 <= branches["lexicon"]["test_accuracy"] <= 1
    check = branches["blend"]["length_check"]
    assert set(check) >= {"constant", "length", "length_weights"} and len(check["length_weights"]) == 4
    model = runs.load_model(lexicon_run)  # safe_mode=True
    assert {layer.name for layer in model.layers} >= {"ngram_branch", "word_branch", "lexicon_branch", "blend"}
    np.testing.assert_allclose(
        np.asarray(model.get_layer("blend").branch_weights), branches["blend"]["branch_weights"], rtol=1e-6
    )


@pytest.mark.slow
def test_export_serves_the_lexicon_blend_with_tensorflow_only(lexicon_run, tmp_path):
    out = export.export_run(lexicon_run, str(tmp_path / "export"))
    texts = ["great wonderful superb film", "awful boring waste", "not bad at all", "", "the plot"]
    in_process = Predictor(lexicon_run)(texts).probabilities[:, 1]
    # The same serving computation with the lexicon member's blend weight set to 0 answers otherwise.
    parts, model = serving.load_serving_parts(lexicon_run)
    blend = model.get_layer("blend")
    weights = np.asarray(blend.branch_weights)
    blend.set_blend([weights[0], weights[1], 0.0], np.asarray(blend.bias))
    without = serving.make_serve(model, parts)(tf.constant(texts))[serving.PROBABILITY].numpy()
    served = serve_tf_only(out, texts, tmp_path)
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"], in_process, atol=1e-5)
    assert served["probability"][3] == 0.5
    assert weights[2] != 0 and np.abs(np.asarray(served["probability"]) - without)[[0, 1, 2, 4]].max() > 1e-4


def test_training_without_the_package_says_how_to_install_it(monkeypatch):
    import importlib.resources

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(UserError, match=r"pip install 'vaderSentiment>=3.3,<4'"):
        vader_lexicon()
