"""NaiveBayesNgramLogits and LogLinearBlend: shapes, config, save/load, and known values."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from textattn.layers import LogLinearBlend, NaiveBayesNgramLogits
from textattn.layers.log_linear_blend import fit_log_linear_blend
from textattn.layers.naive_bayes_ngrams import log_count_ratios

V = 6


def sparse_bags(rows, vocab_size=V):
    """Multi-hot SparseTensor (len(rows), vocab_size) from lists of feature ids."""
    indices = [[r, c] for r, row in enumerate(rows) for c in sorted(row)]
    return tf.SparseTensor(
        np.array(indices, np.int64).reshape(-1, 2), np.ones(len(indices), np.float32), [len(rows), vocab_size]
    )


def nb_model(ratios, weights):
    inputs = keras.Input((V,), sparse=True, name="ngrams")
    layer = NaiveBayesNgramLogits(V, 2, name="nb")
    model = keras.Model(inputs, layer(inputs))
    layer.set_log_count_ratios(ratios)
    layer.ngram_weight.assign(np.asarray(weights, np.float32).reshape(V, 1))
    layer.bias.assign([0.25, -0.25])
    return model, layer


def test_log_count_ratios_match_a_hand_computation():
    # Four documents: two positive ({1, 2}, {1}), two negative ({2, 3}, {3}); vocabulary of 4 (0 = OOV).
    values = np.array([1, 2, 1, 2, 3, 3])
    row_splits = np.array([0, 2, 3, 5, 6])
    labels = np.array([1, 1, 0, 0])
    r = log_count_ratios((values, row_splits), labels, 4, 2, alpha=1.0)
    p = np.array([1, 3, 2, 1], float)  # alpha + positive document counts, feature 0..3
    q = np.array([1, 1, 2, 3], float)
    expected = np.log(p / p.sum()) - np.log(q / q.sum())
    np.testing.assert_allclose(r[1:, 1], expected[1:], rtol=1e-6)
    np.testing.assert_allclose(r[1:, 0], -expected[1:], rtol=1e-6)  # two classes: one vs rest is symmetric
    assert r[0].tolist() == [0.0, 0.0]  # the OOV bucket carries no evidence


def test_nb_logits_are_the_weighted_sum_of_present_ngrams():
    rng = np.random.default_rng(0)
    ratios, weights = rng.normal(size=(V, 2)).astype("float32"), rng.normal(size=V).astype("float32")
    model, layer = nb_model(ratios, weights)
    rows = [[1, 3], [], [0, 2, 5]]
    out = np.asarray(model(sparse_bags(rows)))
    assert out.shape == (3, 2)
    for i, row in enumerate(rows):
        expected = sum(ratios[g] * weights[g] for g in row) + np.array([0.25, -0.25])
        np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)
    assert layer.compute_mask(None) is None
    assert [w.name for w in layer.trainable_weights] == ["ngram_weight", "bias"]  # the ratios stay fixed


def test_nb_config_round_trip_and_save_load(tmp_path):
    rng = np.random.default_rng(1)
    model, layer = nb_model(rng.normal(size=(V, 2)), rng.normal(size=V))
    clone = NaiveBayesNgramLogits.from_config(layer.get_config())
    assert (clone.vocab_size, clone.num_classes, clone.name) == (V, 2, "nb")
    path = os.path.join(tmp_path, "nb.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    bags = sparse_bags([[1, 2, 3], [4], [5, 0]])
    np.testing.assert_array_equal(np.asarray(loaded(bags)), np.asarray(model(bags)))


def test_nb_rejects_ratios_of_the_wrong_shape():
    layer = NaiveBayesNgramLogits(V, 2)
    layer.build((None, V))
    with pytest.raises(ValueError, match="expected ratios of shape"):
        layer.set_log_count_ratios(np.zeros((V + 1, 2)))


def test_blend_is_a_weighted_product_of_experts():
    p1 = np.array([[0.9, 0.1], [0.3, 0.7]], np.float32)
    p2 = np.array([[0.6, 0.4], [0.2, 0.8]], np.float32)
    layer = LogLinearBlend(2, 2)
    layer.build([(None, 2), (None, 2)])
    layer.set_blend([2.0, 0.5], [0.1, -0.1])
    out = np.asarray(layer([p1, p2]))
    z = 2.0 * np.log(p1) + 0.5 * np.log(p2) + np.array([0.1, -0.1])
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert layer.compute_mask([p1, p2]) is None


def test_one_branch_without_bias_is_temperature_scaling():
    logits = np.array([[2.0, -1.0], [0.5, 0.0]], np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    layer = LogLinearBlend(1, 2, use_bias=False)
    layer.build([(None, 2)])
    layer.set_blend([1 / 2.5])
    t = logits / 2.5
    np.testing.assert_allclose(np.asarray(layer([probs])), np.exp(t) / np.exp(t).sum(axis=1, keepdims=True), rtol=1e-5)


def test_blend_config_round_trip_and_save_load(tmp_path):
    inputs = [keras.Input((2,), name=f"p{i}") for i in range(2)]
    layer = LogLinearBlend(2, 2, name="blend")
    model = keras.Model(inputs, layer(inputs))
    layer.set_blend([1.5, 0.7], [0.2, -0.2])
    clone = LogLinearBlend.from_config(layer.get_config())
    assert (clone.num_branches, clone.num_classes, clone.use_bias) == (2, 2, True)
    path = os.path.join(tmp_path, "blend.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = [np.array([[0.8, 0.2]], np.float32), np.array([[0.4, 0.6]], np.float32)]
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


def test_fitted_blend_recovers_the_generating_weights():
    rng = np.random.default_rng(0)
    n = 20000
    l1, l2 = rng.normal(0, 2, size=(n, 2)), rng.normal(0, 2, size=(n, 2))

    def softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    p1, p2 = softmax(l1), softmax(l2)
    true = softmax(1.5 * np.log(p1) + 0.4 * np.log(p2) + np.array([0.3, -0.3]))
    labels = (rng.random(n) < true[:, 1]).astype(int)
    weights, bias = fit_log_linear_blend([p1, p2], labels)
    np.testing.assert_allclose(weights, [1.5, 0.4], atol=0.08)
    # Only the difference of the two biases is identified by the data.
    assert abs((bias[0] - bias[1]) - 0.6) < 0.1


def length_blend(floors=None):
    """A length-scaled two-branch blend over inputs p1, p2 (batch, 2) and token ids (batch, 8)."""
    inputs = [keras.Input((2,), name="p1"), keras.Input((2,), name="p2"), keras.Input((8,), dtype="int32", name="ids")]
    layer = LogLinearBlend(2, 2, floors=floors, length_scaled=True, reference_length=8, name="blend")
    model = keras.Model(inputs, layer(inputs))
    layer.set_blend([1.0, 0.5], [0.1, -0.1], length_weights=[0.5, -0.25])
    return model, layer


def token_ids(lengths, width=8):
    return np.array([[7] * n + [0] * (width - n) for n in lengths], np.int32)


def test_length_scaled_weights_grow_with_shortness_as_the_formula_says():
    model, _ = length_blend()
    p1 = np.array([[0.9, 0.1], [0.9, 0.1], [0.3, 0.7]], np.float32)
    p2 = np.array([[0.2, 0.8], [0.2, 0.8], [0.6, 0.4]], np.float32)
    lengths = [8, 2, 0]  # 0 tokens counts as 1
    out = np.asarray(model([p1, p2, token_ids(lengths)]))
    f = np.sqrt(8.0 / np.maximum(lengths, 1))[:, None]
    z = (1.0 + 0.5 * f) * np.log(p1) + (0.5 - 0.25 * f) * np.log(p2) + np.array([0.1, -0.1])
    np.testing.assert_allclose(out, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-5)
    # The same texts at the reference length answer as a constant blend with weights w + v.
    constant = LogLinearBlend(2, 2)
    constant.build([(None, 2), (None, 2)])
    constant.set_blend([1.5, 0.25], [0.1, -0.1])
    np.testing.assert_allclose(out[0], np.asarray(constant([p1, p2]))[0], rtol=1e-5)


def test_a_floor_bounds_what_an_overconfident_branch_can_say():
    p1 = np.array([[0.4, 0.6]], np.float32)
    p2 = np.array([[1.0, 0.0]], np.float32)  # certain, and wrong about class 1
    floored = LogLinearBlend(2, 2, use_bias=False, floors=[1e-7, 0.05])
    floored.build([(None, 2), (None, 2)])
    floored.set_blend([1.0, 0.25])
    z = np.log(p1) + 0.25 * np.log(np.clip(p2, 0.05, 1.0))
    np.testing.assert_allclose(
        np.asarray(floored([p1, p2])), np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-5
    )
    unfloored = LogLinearBlend(2, 2, use_bias=False)
    unfloored.build([(None, 2), (None, 2)])
    unfloored.set_blend([1.0, 0.25])
    assert np.asarray(unfloored([p1, p2]))[0, 1] < 0.05 < np.asarray(floored([p1, p2]))[0, 1]


@pytest.mark.parametrize("floors", [[0.0, 0.1], [0.1], [1e-7, 0.5]])
def test_floors_out_of_range_are_refused(floors):
    with pytest.raises(ValueError, match="floors"):
        LogLinearBlend(2, 2, floors=floors)


def test_length_scaled_blend_config_round_trip_and_save_load(tmp_path):
    model, layer = length_blend(floors=[1e-7, 0.01])
    clone = LogLinearBlend.from_config(layer.get_config())
    assert (clone.floors, clone.length_scaled, clone.reference_length) == ([1e-7, 0.01], True, 8)
    path = os.path.join(tmp_path, "blend.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = [np.array([[0.8, 0.2], [0.5, 0.5]], np.float32), np.array([[0.4, 0.6], [0.001, 0.999]], np.float32)]
    x.append(token_ids([3, 8]))
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    np.testing.assert_array_equal(np.asarray(loaded.get_layer("blend").length_weights), [0.5, -0.25])


def test_fitted_length_blend_recovers_the_generating_weights():
    rng = np.random.default_rng(1)
    n = 30000

    def softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    p1, p2 = softmax(rng.normal(0, 1.5, size=(n, 2))), softmax(rng.normal(0, 1.5, size=(n, 2)))
    factors = np.sqrt(256.0 / rng.integers(4, 400, size=n))
    z = (0.6 + 0.3 * factors)[:, None] * np.log(p1) + (0.8 - 0.2 * factors)[:, None] * np.log(p2)
    labels = (rng.random(n) < softmax(z)[:, 1]).astype(int)
    weights, bias, length_weights = fit_log_linear_blend([p1, p2], labels, length_factors=factors, steps=3000)
    np.testing.assert_allclose(weights, [0.6, 0.8], atol=0.1)
    np.testing.assert_allclose(length_weights, [0.3, -0.2], atol=0.06)
    assert abs(bias[0] - bias[1]) < 0.1


def test_sparse_bags_give_keras_sparse_matmul_values_and_gradients():
    """The sparse path (a gather of the rows the bag holds and one segment sum) against ``ops.matmul`` on
    the whole effective table, for both bag layers, with the negation transfer, on empty and unsorted rows."""
    from keras import ops

    from textattn.layers import NaiveBayesEvidence

    rng = np.random.default_rng(7)
    vocab, batch = 5000, 64
    rows = [rng.choice(vocab, size=rng.integers(1, 300), replace=False) for _ in range(batch)]
    rows[3] = rows[40] = []
    indices = np.array([[r, c] for r, row in enumerate(rows) for c in row], np.int64)  # columns unsorted
    bag = tf.SparseTensor(indices, np.ones(len(indices), np.float32), [batch, vocab])
    ratios = rng.normal(size=(vocab, 2)).astype("float32")

    layer = NaiveBayesNgramLogits(vocab, 2, negation_transfer=True)
    layer.build((None, vocab))
    layer.set_log_count_ratios(ratios)
    layer.ngram_weight.assign(rng.normal(size=(vocab, 1)).astype("float32"))
    layer.bias.assign([0.5, -0.5])
    layer.negation_factor.assign(-0.3)
    layer.set_plain_words(np.where(rng.random(vocab) < 0.2, rng.integers(1, vocab, vocab), 0))

    def keras_logits(x):  # the whole table r * w and its transfer term, each through Keras' sparse matmul
        own = layer.log_count_ratio * layer.ngram_weight
        plain = ops.take(own, layer.plain_word, axis=0)
        return ops.matmul(x, own) + layer.bias + layer.negation_factor * ops.matmul(x, plain)

    with tf.GradientTape(persistent=True) as tape:
        ours, theirs = layer(bag), keras_logits(bag)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)  # equal here, bit for bit
    for weight in layer.trainable_weights:
        np.testing.assert_allclose(
            np.asarray(tf.convert_to_tensor(tape.gradient(ours, weight))),
            np.asarray(tf.convert_to_tensor(tape.gradient(theirs, weight))),
            rtol=1e-3,  # the OOV row's gradient sums thousands of terms, in another order
            atol=1e-5,
        )
    training = np.asarray(layer(bag, training=True))  # what fit runs: Keras' sparse matmul
    np.testing.assert_allclose(training, np.asarray(ours), rtol=1e-5, atol=1e-5)
    dense = tf.sparse.to_dense(tf.sparse.reorder(bag))  # a dense matmul sums up to 300 terms in its own order
    np.testing.assert_allclose(np.asarray(layer(dense)), np.asarray(ours), rtol=1e-4, atol=5e-4)
    empty = [i for i, row in enumerate(rows) if len(row) == 0]
    assert empty and (np.asarray(ours)[empty] == [0.5, -0.5]).all()  # an empty row is the bias alone

    expert = NaiveBayesEvidence(vocab, 2, scale=0.01)
    expert.build((None, vocab))
    expert.set_log_count_ratios(ratios)
    np.testing.assert_allclose(
        np.asarray(expert(bag)), np.asarray(ops.matmul(bag, ratios) * 0.01), rtol=1e-5, atol=1e-7
    )
