"""Token weights: a distribution over the real tokens for every variant, and the rollout equals a hand computation."""

import keras
import numpy as np
import pytest
from explain_support import explainable
from helpers import tiny_config

from textattn.explain import pool_query, rollout
from textattn.explain.endpoint import make_explain
from textattn.explain.token_weights import TokenWeigher, weight_kind
from textattn.layers import AttentionPooling, TransformerBlock
from textattn.models import build_model

LENGTHS = (32, 10, 1, 0)  # a full window, a short review, one token, no token


def token_ids(seed=0, vocab=64, length=32):
    ids = np.random.default_rng(seed).integers(1, vocab, size=(len(LENGTHS), length)).astype("int32")
    for row, n in enumerate(LENGTHS):
        ids[row, n:] = 0
    return ids


def assert_distribution(weights, ids):
    weights = np.asarray(weights)
    real = ids != 0
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    assert np.all(weights[~real] == 0)
    has_tokens = real.any(axis=1)
    np.testing.assert_allclose(weights[has_tokens].sum(axis=1), 1.0, atol=1e-5)
    assert np.all(weights[~has_tokens] == 0)


WORD_MODELS = [
    ("baseline", "attention", {}),
    ("baseline", "average", {}),
    ("baseline", "max", {}),
    ("attention", "average", {}),
    ("attention", "max", {}),
    ("attention", "attention", {}),
    ("additive", "average", {}),
    ("additive", "attention", {"additive": {"implementation": "keras"}}),
    ("mha", "average", {}),
    ("mha", "max", {}),
    ("mha", "attention", {"positional": "learned"}),
    ("transformer", "average", {}),
    ("transformer", "max", {"positional": "sinusoidal"}),
    ("transformer", "attention", {}),
    ("rnn_attention", "average", {}),
    ("rnn_attention", "average", {"rnn": {"cell": "lstm", "bidirectional": False}}),
]


@pytest.mark.parametrize("mask_padding", [True, False])
@pytest.mark.parametrize("variant,pooling,extra", WORD_MODELS)
def test_word_model_weights_are_a_distribution_over_real_tokens(variant, pooling, extra, mask_padding, tmp_path):
    keras.utils.set_random_seed(5)
    config = tiny_config(tmp_path, variant, pooling=pooling, mask_padding=mask_padding, **extra)
    model = build_model(config)
    ids = token_ids()
    weights = np.asarray(TokenWeigher(model, config.model)(ids))
    assert_distribution(weights, ids)
    assert weights[1].std() > 0  # not the uniform fallback: the model's own weights


@pytest.mark.parametrize(
    "variant,extra",
    [
        ("ngram", {}),
        ("hybrid", {"hybrid": {"branch": "transformer"}}),
        ("hybrid", {"hybrid": {"branch": "baseline"}}),
        ("mha", {}),
    ],
)
def test_explain_weights_are_a_distribution_for_bag_variants_too(variant, extra, tmp_path):
    import tensorflow as tf

    config, model, parts = explainable(tmp_path, variant, **extra)
    texts = [b"a great film with a dull ending", b"", b"!!!", b"zzqx qqqz", b"great great great film film"]
    out = make_explain(model, parts)(tf.constant(texts))
    tokens, weights = out["tokens"].numpy(), out["weights"].numpy()
    assert_distribution(weights, (tokens != b"").astype(int))
    assert not (tokens[1] != b"").any() and not (tokens[2] != b"").any()  # no token, no weight
    assert weights[0].std() > 0


def test_weight_kinds_follow_the_variant(tmp_path):
    kinds = {
        (v, p): weight_kind(tiny_config(tmp_path, v, pooling=p).model)
        for v in ("baseline", "attention", "transformer", "rnn_attention")
        for p in ("average", "attention")
    }
    assert kinds == {
        ("baseline", "average"): "gradient_x_input",
        ("baseline", "attention"): "attention_pooling",
        ("attention", "average"): "rollout",
        ("attention", "attention"): "rollout",
        ("transformer", "average"): "rollout",
        ("transformer", "attention"): "rollout",
        ("rnn_attention", "average"): "rnn_attention",
        ("rnn_attention", "attention"): "rnn_attention",
    }


# --------------------------------------------------------------------------- #
# Rollout against a hand computation in NumPy.


def softmax_masked(scores, key_mask):
    scores = np.where(key_mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


def hand_built(body, pooling_layer, config, vocab=12, dim=4, seed=0):
    """token_ids -> embedding (normal table, std 1) -> body -> pooling -> classifier, named as build_model names them."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(6,), dtype="int32", name="token_ids")
    embedding = keras.layers.Embedding(
        vocab,
        dim,
        mask_zero=True,
        name="token_embedding",
        embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed),
    )
    x = body(embedding(inputs))
    outputs = keras.layers.Dense(2, activation="softmax", name="classifier")(pooling_layer(x))
    return keras.Model(inputs, outputs), embedding


HAND_IDS = np.array([[3, 7, 1, 9, 4, 0], [5, 2, 0, 0, 0, 0]], dtype="int32")


def test_rollout_of_two_dot_product_layers_with_average_pooling_equals_a_hand_computation(tmp_path):
    config = tiny_config(tmp_path, "attention", pooling="average", attention={"num_layers": 2, "use_scale": False})

    def body(x):
        for i in range(2):
            x = keras.layers.Attention(name=f"attention_{i}")([x, x])
        return x

    model, embedding = hand_built(body, keras.layers.GlobalAveragePooling1D(name="average_pool"), config.model)
    got = np.asarray(TokenWeigher(model, config.model)(HAND_IDS))

    table = np.asarray(embedding.embeddings)
    for row, ids in enumerate(HAND_IDS):
        real = ids != 0
        x0 = table[ids]
        a1 = softmax_masked(x0 @ x0.T, real[None, :])
        x1 = (a1 @ x0) * real[:, None]  # keras.layers.Attention zeroes padded queries
        a2 = softmax_masked(x1 @ x1.T, real[None, :])
        query = real / real.sum()  # average pooling over the real tokens
        expected = query @ (a2 @ a1)
        np.testing.assert_allclose(got[row], expected, atol=1e-5)
        assert expected[real].std() > 0.01  # a non-trivial case


def test_rollout_of_a_transformer_block_with_attention_pooling_equals_a_hand_computation(tmp_path):
    config = tiny_config(tmp_path, "transformer", pooling="attention", transformer={"num_layers": 1})
    block = TransformerBlock(num_heads=2, ff_dim=5, key_dim=3, dropout=0.0, name="transformer_0")
    pool = AttentionPooling(units=4, name="attention_pool")
    model, embedding = hand_built(block, pool, config.model)
    got = np.asarray(TokenWeigher(model, config.model)(HAND_IDS))

    table = np.asarray(embedding.embeddings)
    mha = block.attention
    wq, bq = (np.asarray(v) for v in mha.query_dense.weights)
    wk, bk = (np.asarray(v) for v in mha.key_dense.weights)
    block_out = np.asarray(keras.Model(model.input, block.output)(HAND_IDS))
    pool_kernel, pool_bias = (np.asarray(v) for v in pool.key_projection.weights)
    pool_query_vector = np.asarray(pool.query)
    for row, ids in enumerate(HAND_IDS):
        real = ids != 0
        x = table[ids]
        q = np.einsum("td,dhk->thk", x, wq) + bq
        k = np.einsum("td,dhk->thk", x, wk) + bk
        heads = softmax_masked(np.einsum("thk,shk->hts", q, k) / np.sqrt(3), real[None, None, :])
        attention = heads.mean(axis=0)  # heads averaged
        mixed = 0.5 * attention + 0.5 * np.eye(6)  # the block's residual
        mixed = mixed / mixed.sum(axis=1, keepdims=True)
        keys = block_out[row] @ pool_kernel + pool_bias
        pool_weights = softmax_masked(keys @ pool_query_vector / np.sqrt(4), real)
        expected = pool_weights @ mixed
        np.testing.assert_allclose(got[row], expected, atol=1e-5)
        assert expected[real].std() > 1e-3


def test_rollout_helpers_on_small_matrices():
    a = np.array([[[0.5, 0.5, 0.0], [0.2, 0.8, 0.0], [1 / 3, 1 / 3, 1 / 3]]], "float32")
    expected = np.array([[[0.75, 0.25, 0.0], [0.1, 0.9, 0.0], [1 / 6, 1 / 6, 2 / 3]]])
    np.testing.assert_allclose(rollout.with_residual(a), expected, atol=1e-6)
    b = np.array([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]], "float32")
    np.testing.assert_allclose(rollout.rollout([a, b]), b @ a, atol=1e-6)  # later layers on the left
    np.testing.assert_allclose(
        rollout.carry_into_pool(np.array([[0.5, 0.5, 0.0]], "float32"), a), [[0.35, 0.65, 0.0]], atol=1e-6
    )
    heads = np.stack([a, b], axis=1)  # (batch, heads, T, T)
    np.testing.assert_allclose(rollout.average_heads(heads), (a + b) / 2, atol=1e-6)


def test_max_pooling_query_is_each_positions_share_of_the_winning_channels():
    sequence = np.array([[[1.0, 0.0, 5.0, 2.0], [3.0, 4.0, 0.0, 2.0], [9.0, 9.0, 9.0, 9.0]]], "float32")
    mask = np.array([[True, True, False]])
    # Channel maxima over the real positions: 3 (pos 1), 4 (pos 1), 5 (pos 0), 2 (tie: first, pos 0).
    np.testing.assert_allclose(pool_query.max_query(sequence, mask), [[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(pool_query.uniform_query(mask), [[0.5, 0.5, 0.0]])


# --------------------------------------------------------------------------- #
# The weights are the model's own.


def test_attention_pooling_and_rnn_weights_rebuild_the_models_pooled_vector(tmp_path):
    ids = token_ids(seed=2)[:3]
    for variant, pool_name, out_name in (
        ("baseline", "attention_pool", "attention_pool"),
        ("rnn_attention", "bahdanau_pool", "context"),
    ):
        keras.utils.set_random_seed(9)
        config = tiny_config(tmp_path, variant, pooling="attention", mask_padding=True)
        model = build_model(config)
        weights = np.asarray(TokenWeigher(model, config.model)(ids))
        pool = model.get_layer(pool_name)
        pooled_input = pool.input[0] if variant == "baseline" else pool.input[1]
        sequence, pooled = keras.Model(model.input, [pooled_input, model.get_layer(out_name).output])(ids)
        rebuilt = np.einsum("bt,btd->bd", weights, np.asarray(sequence))
        np.testing.assert_allclose(rebuilt, np.asarray(pooled), atol=1e-5)


def test_gradient_x_input_of_an_average_pooling_baseline_is_each_tokens_logit_term(tmp_path):
    # logit = (W1 - W0) . mean_t(x_t) + b, so |grad . x_t| = |(W1 - W0) . x_t| / n.
    keras.utils.set_random_seed(4)
    config = tiny_config(tmp_path, "baseline", pooling="average", mask_padding=True)
    model = build_model(config)
    ids = token_ids(seed=3)
    got = np.asarray(TokenWeigher(model, config.model)(ids))
    table = np.asarray(model.get_layer("token_embedding").embeddings)
    kernel = np.asarray(model.get_layer("classifier").kernel)
    for row in range(3):
        real = ids[row] != 0
        terms = np.abs(table[ids[row]] @ (kernel[:, 1] - kernel[:, 0])) * real
        np.testing.assert_allclose(got[row], terms / terms.sum(), atol=1e-5)
