"""model.ngram.negation_transfer: a negated word also carries its plain word's weight times one learned factor."""

import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import NEGATIVE, POSITIVE, make_aclimdb, serve_tf_only, tiny_config

from textattn import export, runs, serving
from textattn.config import Config, apply_overrides
from textattn.errors import UserError
from textattn.layers import NaiveBayesNgramLogits
from textattn.layers.naive_bayes_ngrams import plain_words_of_negated
from textattn.models import bag_models
from textattn.predict import Predictor
from textattn.training import train

VOCAB = ["[UNK]", "bad", "good", "not_bad", "not_good", "not_bad not_at", "not_zzz", "the"]
V = len(VOCAB)


def sparse_bags(rows):
    indices = [[r, c] for r, row in enumerate(rows) for c in sorted(row)]
    return tf.SparseTensor(
        np.array(indices, np.int64).reshape(-1, 2), np.ones(len(indices), np.float32), [len(rows), V]
    )


def transfer_model(factor):
    rng = np.random.default_rng(3)
    inputs = keras.Input((V,), sparse=True, name="ngrams")
    layer = NaiveBayesNgramLogits(V, 2, negation_transfer=True, name="nb")
    model = keras.Model(inputs, layer(inputs))
    ratios = rng.normal(size=(V, 2)).astype("float32")
    ratios[0] = 0.0  # the OOV bucket, as log_count_ratios leaves it
    layer.set_log_count_ratios(ratios)
    layer.set_plain_words(plain_words_of_negated(VOCAB, "not_"))
    layer.ngram_weight.assign(rng.normal(size=(V, 1)).astype("float32"))
    layer.negation_factor.assign(factor)
    return model, layer, ratios


def test_each_negated_unigram_is_linked_to_its_plain_word():
    # not_zzz has no plain word in the vocabulary; n-grams of several words and plain words get 0.
    assert plain_words_of_negated(VOCAB, "not_").tolist() == [0, 0, 0, 1, 2, 0, 0, 0]


def test_a_negated_word_adds_the_factor_times_its_plain_words_weight():
    model, layer, ratios = transfer_model(-0.5)
    plain = ratios * np.asarray(layer.ngram_weight)
    weights = np.asarray(layer.feature_weights())
    np.testing.assert_allclose(weights[3], plain[3] - 0.5 * plain[1], rtol=1e-5, atol=1e-6)  # not_bad
    np.testing.assert_allclose(weights[4], plain[4] - 0.5 * plain[2], rtol=1e-5, atol=1e-6)  # not_good
    for unchanged in (0, 1, 2, 5, 6, 7):
        np.testing.assert_allclose(weights[unchanged], plain[unchanged], rtol=1e-6, atol=1e-7)
    out = np.asarray(model(sparse_bags([[3, 7], [1]])))
    np.testing.assert_allclose(out[0], weights[3] + weights[7], rtol=1e-5, atol=1e-6)  # bias is 0
    assert out.shape == (2, 2)
    assert layer.compute_mask(None) is None


def test_the_sparse_lookup_and_the_dense_table_give_the_whole_tables_logits():
    model, layer, _ = transfer_model(-0.8)
    rows = [[1, 3, 4, 6], [], [0, 2, 5], [3], []]  # empty rows, the last one too
    expected = np.zeros((len(rows), 2), np.float32)
    for i, row in enumerate(rows):
        expected[i] = np.asarray(layer.feature_weights())[row].sum(axis=0)
    np.testing.assert_allclose(np.asarray(model(sparse_bags(rows))), expected, rtol=1e-5, atol=1e-6)
    dense = np.asarray(tf.sparse.to_dense(sparse_bags(rows)))
    np.testing.assert_allclose(np.asarray(layer(dense)), expected, rtol=1e-5, atol=1e-6)


def test_the_factor_is_learned_and_flips_a_rare_negated_word():
    # "not_bad" appears only twice, always positive; "good"/"not_good" are frequent and opposite.
    # With the shared factor the model learns that negation flips a word's polarity.
    keras.utils.set_random_seed(0)
    model, layer, _ = transfer_model(0.0)
    layer.set_log_count_ratios(np.tile(np.array([[-1.0, 1.0]], np.float32), (V, 1)) * (np.arange(V) > 0)[:, None])
    layer.ngram_weight.assign(np.zeros((V, 1), np.float32))
    rows = [[2, 7]] * 40 + [[4, 7]] * 40 + [[1, 7]] * 40 + [[3, 7]] * 2
    labels = np.array([1] * 40 + [0] * 40 + [0] * 40 + [1] * 2)
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(sparse_bags(rows), labels, batch_size=len(rows), epochs=150, verbose=0)
    assert float(keras.ops.convert_to_numpy(layer.negation_factor)) < -0.1
    assert [w.name for w in layer.trainable_weights] == ["ngram_weight", "bias", "negation_factor"]


def test_config_round_trip_and_save_load(tmp_path):
    model, layer, _ = transfer_model(-0.7)
    clone = NaiveBayesNgramLogits.from_config(layer.get_config())
    assert clone.negation_transfer and (clone.vocab_size, clone.num_classes) == (V, 2)
    path = os.path.join(tmp_path, "nb.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    bags = sparse_bags([[3, 4, 7], [1], [6, 0]])
    np.testing.assert_array_equal(np.asarray(loaded(bags)), np.asarray(model(bags)))
    assert np.asarray(loaded.get_layer("nb").plain_word).tolist() == [0, 0, 0, 1, 2, 0, 0, 0]


def test_pairs_are_refused_without_the_option_or_of_the_wrong_shape():
    plain = NaiveBayesNgramLogits(V, 2)
    plain.build((None, V))
    with pytest.raises(ValueError, match="no negation transfer"):
        plain.set_plain_words(np.zeros(V))
    layer = NaiveBayesNgramLogits(V, 2, negation_transfer=True)
    layer.build((None, V))
    with pytest.raises(ValueError, match="expected plain word ids of shape"):
        layer.set_plain_words(np.zeros(V + 1))


def test_no_negated_words_leave_the_weights_as_they_are():
    layer = NaiveBayesNgramLogits(V, 2, negation_transfer=True)
    layer.build((None, V))  # plain_word all 0 until set
    layer.set_log_count_ratios(np.ones((V, 2)))
    layer.ngram_weight.assign(np.arange(V, dtype="float32").reshape(V, 1))
    layer.negation_factor.assign(-1.0)
    np.testing.assert_array_equal(np.asarray(layer.feature_weights()), np.ones((V, 2)) * np.arange(V)[:, None])


def test_the_option_needs_negation_marking():
    with pytest.raises(UserError, match="data.negation=mark"):
        apply_overrides(Config(), ["model.ngram.negation_transfer=true"])
    config = apply_overrides(Config(), ["model.ngram.negation_transfer=true", "data.negation=mark"])
    assert config.model.ngram.negation_transfer


TRANSFER_RUN = [
    "data.negation=mark",
    "model.ngram.negation_transfer=true",
    "model.ngram.vocab_size=400",
    "model.hybrid.branch=baseline",
    "model.pooling=attention",
    "model.hybrid.ngram_epochs=2",
    "model.hybrid.ngram_learning_rate=0.01",
    "model.hybrid.ngram_batch_size=8",  # the factor's first gradient is 0 (every weight starts at 0): take several steps
    "train.final_fit=true",
]
NEGATED_TEXTS = ["it was not bad at all", "not good, not funny", "great fun", "", "bad bad bad but not boring"]


def aclimdb_with_negations(root) -> str:
    """The tiny aclImdb tree, each review ending with a negated cue of the other class
    (a positive review: "It was not boring.")."""
    base = make_aclimdb(root)
    rng = random.Random(1)
    for split in ("train", "test"):
        for label, opposite in (("pos", NEGATIVE), ("neg", POSITIVE)):
            folder = os.path.join(base, split, label)
            for name in os.listdir(folder):
                with open(os.path.join(folder, name), "a", encoding="utf-8") as f:
                    f.write(f" It was not {rng.choice(opposite)}.")
    return base


@pytest.fixture(scope="module")
def transfer_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transfer_run")
    data = aclimdb_with_negations(tmp / "data")
    config = apply_overrides(tiny_config(tmp, "hybrid", data=data), TRANSFER_RUN)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_a_run_learns_the_factor_and_links_the_final_vocabulary(transfer_run):
    summary = runs.read_json(os.path.join(transfer_run, runs.METRICS))["branches"]["ngram"]
    assert summary["negated_words"] > 0 and isinstance(summary["negation_factor"], float)
    parts, model = serving.load_serving_parts(transfer_run)  # safe_mode=True
    layer = model.get_layer(bag_models.NGRAM_BRANCH).get_layer(bag_models.NB_LAYER)
    vocabulary = [str(g) for g in parts.ngram_vectorizer.get_vocabulary()]  # the final fit's vocabulary
    np.testing.assert_array_equal(np.asarray(layer.plain_word), plain_words_of_negated(vocabulary, "not_"))
    assert float(keras.ops.convert_to_numpy(layer.negation_factor)) != 0.0
    bags = parts.ngram_vectorizer(tf.constant(NEGATED_TEXTS))
    expected = tf.sparse.sparse_dense_matmul(tf.cast(bags, "float32"), layer.feature_weights()) + layer.bias
    np.testing.assert_allclose(np.asarray(layer(bags)), np.asarray(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_export_serves_the_transfer_with_tensorflow_only(transfer_run, tmp_path):
    out = export.export_run(transfer_run, str(tmp_path / "export"))
    in_process = Predictor(transfer_run)(NEGATED_TEXTS).probabilities[:, 1]
    served = serve_tf_only(out, NEGATED_TEXTS, tmp_path)
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"], in_process, atol=1e-5)


def test_the_weights_of_some_ngrams_are_their_rows_of_the_whole_table():
    _, layer, _ = transfer_model(-0.6)
    ids = np.array([3, 0, 4, 1, 6, 3], np.int64)
    np.testing.assert_allclose(
        np.asarray(layer.weights_of(ids)), np.asarray(layer.feature_weights())[ids], rtol=1e-6, atol=1e-7
    )
