"""model.hybrid.naive_bayes_expert: plain Naive Bayes over the n-gram bag as a blend member of its own."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import serve_tf_only, tiny_config

from textattn import export, runs, serving
from textattn.config import apply_overrides
from textattn.data.text import truncate_and_pad
from textattn.explain.endpoint import make_explain
from textattn.layers import NaiveBayesEvidence
from textattn.models import bag_models
from textattn.predict import Predictor
from textattn.training import train

V = 6


def sparse_bags(rows):
    indices = [[r, c] for r, row in enumerate(rows) for c in sorted(row)]
    return tf.SparseTensor(
        np.array(indices, np.int64).reshape(-1, 2), np.ones(len(indices), np.float32), [len(rows), V]
    )


def evidence_model(scale=0.5):
    inputs = keras.Input((V,), sparse=True, name="ngrams")
    layer = NaiveBayesEvidence(V, 2, scale=scale, name="nb")
    model = keras.Model(inputs, layer(inputs))
    ratios = np.random.default_rng(2).normal(size=(V, 2)).astype("float32")
    layer.set_log_count_ratios(ratios)
    return model, layer, ratios


def test_known_values_sparse_and_dense():
    model, layer, ratios = evidence_model(0.5)
    rows = [[1, 2], [], [0, 3, 5], [4]]
    expected = np.stack([0.5 * ratios[row].sum(axis=0) if row else np.zeros(2) for row in rows])
    np.testing.assert_allclose(np.asarray(model(sparse_bags(rows))), expected, rtol=1e-5, atol=1e-6)
    dense = np.asarray(tf.sparse.to_dense(sparse_bags(rows)))
    np.testing.assert_allclose(np.asarray(layer(dense)), expected, rtol=1e-5, atol=1e-6)
    assert layer.trainable_weights == [] and layer.compute_mask(None) is None
    assert model.output_shape == (None, 2)


def test_config_round_trip_and_save_load(tmp_path):
    model, layer, _ = evidence_model(0.25)
    clone = NaiveBayesEvidence.from_config(layer.get_config())
    assert (clone.vocab_size, clone.num_classes, clone.scale) == (V, 2, 0.25)
    path = os.path.join(tmp_path, "nb.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    bags = sparse_bags([[1, 4], [0], [2, 3, 5]])
    np.testing.assert_array_equal(np.asarray(loaded(bags)), np.asarray(model(bags)))


def test_bad_shapes_and_scales_are_refused():
    _, layer, _ = evidence_model()
    with pytest.raises(ValueError, match="expected ratios of shape"):
        layer.set_log_count_ratios(np.zeros((V + 1, 2)))
    with pytest.raises(ValueError, match="scale must be positive"):
        NaiveBayesEvidence(V, 2, scale=0.0)


def test_the_expert_reads_the_ngram_models_ratios(tmp_path):
    config = apply_overrides(tiny_config(tmp_path, "ngram"), ["model.ngram.vocab_size=50"])
    ngram_model = bag_models.build_ngram_model(config, 50)
    ratios = np.random.default_rng(0).normal(size=(50, 2)).astype("float32")
    ngram_model.get_layer(bag_models.NB_LAYER).set_log_count_ratios(ratios)
    expert = bag_models.build_naive_bayes_expert(ngram_model)
    evidence = expert.get_layer(bag_models.NB_EVIDENCE)
    np.testing.assert_array_equal(np.asarray(evidence.log_count_ratio), ratios)
    bags = tf.SparseTensor([[0, 3], [0, 7], [1, 9]], [1.0, 1.0, 1.0], [2, 50])
    logits = evidence.scale * np.stack([ratios[3] + ratios[7], ratios[9]])
    np.testing.assert_allclose(np.asarray(expert(bags)), tf.nn.softmax(logits).numpy(), rtol=1e-5, atol=1e-6)


EXPERT_RUN = [
    "model.ngram.vocab_size=400",
    "model.hybrid.branch=baseline",
    "model.pooling=attention",
    "model.hybrid.ngram_epochs=2",
    "model.hybrid.ngram_learning_rate=0.01",
    "model.hybrid.blend=length",
    "model.hybrid.word_floor=0.01",
    "model.hybrid.naive_bayes_expert=true",
    "train.final_fit=true",
]
TEXTS = ["great wonderful superb film", "awful boring waste", "not bad at all", "", "the plot"]


@pytest.fixture(scope="module")
def expert_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("expert_run")
    config = apply_overrides(tiny_config(tmp, "hybrid", data=tiny_aclimdb), EXPERT_RUN)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_a_run_blends_the_expert_on_the_final_fits_ratios(expert_run):
    branches = runs.read_json(os.path.join(expert_run, runs.METRICS))["branches"]
    assert set(branches) == {"ngram", "word", "naive_bayes", "blend"}
    assert len(branches["blend"]["branch_weights"]) == len(branches["blend"]["length_weights"]) == 3
    assert 0 <= branches["naive_bayes"]["best_val_accuracy"] <= 1 and 0 <= branches["naive_bayes"]["test_accuracy"] <= 1
    model = runs.load_model(expert_run)  # safe_mode=True
    ngram_ratios = model.get_layer(bag_models.NGRAM_BRANCH).get_layer(bag_models.NB_LAYER).log_count_ratio
    expert = model.get_layer(bag_models.NB_EXPERT).get_layer(bag_models.NB_EVIDENCE)
    np.testing.assert_array_equal(np.asarray(expert.log_count_ratio), np.asarray(ngram_ratios))
    assert np.abs(np.asarray(ngram_ratios)).sum() > 0


def test_explain_counts_the_experts_share_of_each_ngram(expert_run):
    parts, model = serving.load_serving_parts(expert_run)
    out = make_explain(model, parts)(tf.constant(TEXTS[:2]))
    vocabulary = [str(g) for g in parts.ngram_vectorizer.get_vocabulary()]
    nb = model.get_layer(bag_models.NGRAM_BRANCH).get_layer(bag_models.NB_LAYER)
    expert = model.get_layer(bag_models.NB_EXPERT).get_layer(bag_models.NB_EVIDENCE)
    weights, ratios = np.asarray(nb.feature_weights()), np.asarray(expert.log_count_ratio) * expert.scale
    config = parts.config
    ids = truncate_and_pad(parts.vectorizer(tf.constant(TEXTS[:2])), config.data.sequence_length, config.data.keep)
    token_ids = serving.model_token_ids(ids, serving.empty_review_ids(config.data.sequence_length))
    member = np.asarray(model.get_layer(bag_models.BLEND).member_weights(token_ids))  # (2, 3)
    grams, contributions = out["ngrams"].numpy(), out["ngram_contributions"].numpy()
    expert_terms = 0
    for row in range(2):
        present = grams[row] != b""
        assert present.sum() > 0
        for gram, value in zip(grams[row][present], contributions[row][present]):
            g = vocabulary.index(gram.decode())
            ngram_term = (weights[g, 1] - weights[g, 0]) * member[row, 0]
            expert_term = (ratios[g, 1] - ratios[g, 0]) * member[row, 2]
            expected = (ngram_term + expert_term) / parts.temperature
            assert value == pytest.approx(expected, rel=1e-4, abs=1e-6)
            if abs(expert_term) > 1e-3:
                expert_terms += 1
                assert value != pytest.approx(ngram_term / parts.temperature, rel=1e-4, abs=1e-6)
    assert expert_terms > 0  # the expert's share is there to leave out


@pytest.mark.slow
def test_the_export_serves_the_expert_with_tensorflow_only(expert_run, tmp_path):
    out = export.export_run(expert_run, str(tmp_path / "export"))
    in_process = Predictor(expert_run)(TEXTS).probabilities[:, 1]
    served = serve_tf_only(out, TEXTS, tmp_path)
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"], in_process, atol=1e-5)
    assert served["probability"][3] == 0.5
