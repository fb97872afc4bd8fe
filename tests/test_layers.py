"""Every custom layer meets the layer contract; plus each layer's own behaviour."""

import keras
import numpy as np
import pytest
from layer_contract import DIM, check_layer_contract

from textattn.layers import (
    AttentionPooling,
    BahdanauAttention,
    MaskedGlobalMaxPooling1D,
    PositionalEmbedding,
    SinusoidalPositionEncoding,
    TransformerBlock,
    sinusoidal_table,
)

CONTRACTS = {
    "positional_embedding": dict(
        make_layer=lambda: PositionalEmbedding(7), expected_shape=(3, 7, DIM), output_masked=True
    ),
    "sinusoidal": dict(make_layer=lambda: SinusoidalPositionEncoding(), expected_shape=(3, 7, DIM), output_masked=True),
    "transformer_block": dict(
        make_layer=lambda: TransformerBlock(num_heads=2, ff_dim=12, key_dim=4),
        expected_shape=(3, 7, DIM),
        output_masked=True,
    ),
    "bahdanau": dict(
        make_layer=lambda: BahdanauAttention(units=5), n_inputs=2, expected_shape=(3, 7, DIM), output_masked=True
    ),
    "attention_pooling": dict(
        make_layer=lambda: AttentionPooling(units=4), expected_shape=(3, DIM), output_masked=False
    ),
    "masked_max_pooling": dict(
        make_layer=lambda: MaskedGlobalMaxPooling1D(), expected_shape=(3, DIM), output_masked=False
    ),
}


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_layer_contract(name, tmp_path):
    check_layer_contract(tmp_path, **CONTRACTS[name])


def test_sinusoidal_table_known_values():
    table = sinusoidal_table(length=4, dim=6)
    np.testing.assert_allclose(table[0], [0, 1, 0, 1, 0, 1], atol=1e-7)
    np.testing.assert_allclose(table[1, :2], [np.sin(1.0), np.cos(1.0)], atol=1e-6)
    # Column pair i uses frequency 1 / 10000^(2i/dim).
    np.testing.assert_allclose(table[3, 2:4], [np.sin(3 / 10000 ** (2 / 6)), np.cos(3 / 10000 ** (2 / 6))], atol=1e-6)
    np.testing.assert_allclose(table[2, 4:6], [np.sin(2 / 10000 ** (4 / 6)), np.cos(2 / 10000 ** (4 / 6))], atol=1e-6)


def test_sinusoidal_layer_adds_the_table_for_static_and_dynamic_lengths():
    x = np.random.default_rng(0).normal(size=(2, 5, 7)).astype("float32")
    expected = x + sinusoidal_table(5, 7)
    static = SinusoidalPositionEncoding()
    np.testing.assert_allclose(np.asarray(static(x)), expected, atol=1e-5)
    dynamic = SinusoidalPositionEncoding()
    dynamic.build((None, None, 7))
    np.testing.assert_allclose(np.asarray(dynamic(x)), expected, atol=1e-5)
    assert not static.weights


def test_positional_embedding_adds_a_trainable_table():
    layer = PositionalEmbedding(10)
    x = np.zeros((2, 4, 3), "float32")
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out[0], np.asarray(layer.position_table)[:4])
    assert [w.name for w in layer.trainable_weights] == ["position_table"]


def test_bahdanau_matches_its_formula_and_ignores_masked_keys():
    keras.utils.set_random_seed(0)
    layer = BahdanauAttention(units=3)
    rng = np.random.default_rng(1)
    q, v = rng.normal(size=(1, 2, 4)).astype("float32"), rng.normal(size=(1, 5, 4)).astype("float32")
    value_mask = np.array([[True, True, True, False, False]])
    context, weights = layer([q, v], mask=[None, value_mask], return_attention_scores=True)
    w_q = np.asarray(layer.query_projection.kernel)
    w_k, b_k = np.asarray(layer.key_projection.kernel), np.asarray(layer.key_projection.bias)
    score_v = np.asarray(layer.score_vector)
    scores = np.tanh((q[0] @ w_q)[:, None, :] + (v[0] @ w_k + b_k)[None, :, :]) @ score_v  # (2, 5)
    scores = scores[:, :3]
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(weights)[0, :, :3], expected, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(weights)[0, :, 3:], 0.0)
    np.testing.assert_allclose(np.asarray(context)[0], expected @ v[0, :3], atol=1e-5)


def test_attention_pooling_weights_sum_to_one_over_unmasked_steps():
    layer = AttentionPooling(units=4)
    x = np.random.default_rng(2).normal(size=(2, 6, 5)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    pooled, weights = layer(x, mask=mask, return_attention_scores=True)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(-1), [1.0, 1.0], atol=1e-6)
    np.testing.assert_array_equal(weights[0, 4:], 0.0)
    np.testing.assert_allclose(np.asarray(pooled), np.einsum("bt,btd->bd", weights, x), atol=1e-5)


def test_masked_max_pooling_ignores_padding_and_handles_empty_rows():
    x = np.array([[[1.0], [5.0], [9.0]], [[-3.0], [-2.0], [7.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_allclose(np.asarray(MaskedGlobalMaxPooling1D()(x, mask=mask)), [[5.0], [0.0]])
