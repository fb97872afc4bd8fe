"""FoldedAttention and FoldedMultiHeadAttention compute what their Keras parents compute.

Both fold the scale and the key padding mask into the score matmul. These
tests hold them to their parents (same weights: same outputs and gradients,
masked or not), and to the layer contract: shape, mask in and out, padding
invariance, config round trip, .keras save/load with identical outputs.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_contract import DIM, check_layer_contract, token_batch

from textattn.layers import FoldedAttention, FoldedMultiHeadAttention

LENGTHS = np.array([9, 5, 1, 0])  # the last row has no real step at all


def _inputs(seed=0, batch=4, length=9, dim=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, length, dim)).astype("float32")
    mask = np.arange(length)[None, :] < LENGTHS[:batch, None]
    return x, mask


def _twin_attention(**kwargs):
    """A keras.layers.Attention and a FoldedAttention with the same (non-trivial) weights."""
    parent, folded = keras.layers.Attention(**kwargs), FoldedAttention(**kwargs)
    x, _ = _inputs()
    parent([x, x])
    folded([x, x])
    if parent.weights:
        parent.weights[0].assign(0.7)
    folded.set_weights(parent.get_weights())
    return parent, folded


def _twin_mha(**kwargs):
    keras.utils.set_random_seed(3)
    parent, folded = keras.layers.MultiHeadAttention(**kwargs), FoldedMultiHeadAttention(**kwargs)
    x, _ = _inputs()
    parent(x, x)
    folded(x, x)
    folded.set_weights(parent.get_weights())
    return parent, folded


def test_folded_attention_meets_the_layer_contract(tmp_path):
    check_layer_contract(
        tmp_path, lambda: FoldedAttention(use_scale=True), n_inputs=2, expected_shape=(3, 7, DIM), output_masked=True
    )


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("use_scale", [False, True])
def test_folded_attention_matches_keras_attention_outputs_and_gradients(masked, use_scale):
    parent, folded = _twin_attention(use_scale=use_scale)
    x, mask = _inputs()
    masks = [mask, mask] if masked else None

    def run(layer):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = layer([xt, xt], mask=masks)
            loss = tf.reduce_sum(out * np.arange(out.shape[-1], dtype="float32"))
        return out.numpy(), [g.numpy() for g in tape.gradient(loss, [xt, *layer.trainable_weights])]

    (out_p, grads_p), (out_f, grads_f) = run(parent), run(folded)
    np.testing.assert_allclose(out_f, out_p, atol=1e-5)
    for g_f, g_p in zip(grads_f, grads_p):
        np.testing.assert_allclose(g_f, g_p, rtol=1e-4, atol=1e-4)
    if masked:  # masked query steps are zero, as the parent makes them
        np.testing.assert_array_equal(out_f[~mask], 0.0)


def test_folded_attention_with_a_separate_key_and_the_parents_own_paths():
    parent, folded = _twin_attention(use_scale=True)
    x, mask = _inputs()
    key = _inputs(seed=1)[0]
    np.testing.assert_allclose(
        folded([x, x, key], mask=[mask, mask]), parent([x, x, key], mask=[mask, mask]), atol=1e-5
    )
    # Attention scores and causal masks take keras.layers.Attention's own code.
    out_f, scores_f = folded([x, x], mask=[mask, mask], return_attention_scores=True)
    out_p, scores_p = parent([x, x], mask=[mask, mask], return_attention_scores=True)
    np.testing.assert_allclose(scores_f, scores_p, atol=1e-6)
    np.testing.assert_allclose(out_f, out_p, atol=1e-6)
    np.testing.assert_allclose(folded([x, x], use_causal_mask=True), parent([x, x], use_causal_mask=True), atol=1e-6)


def test_folded_attention_dropout_drops_only_in_training():
    keras.utils.set_random_seed(0)
    layer = FoldedAttention(use_scale=True, dropout=0.5, seed=1)
    x, mask = _inputs()
    inference = np.asarray(layer([x, x], mask=[mask, mask], training=False))
    trained = np.asarray(layer([x, x], mask=[mask, mask], training=True))
    parent = keras.layers.Attention(use_scale=True)
    parent([x, x])
    np.testing.assert_allclose(inference, parent([x, x], mask=[mask, mask]), atol=1e-5)
    assert not np.allclose(trained[mask], inference[mask])


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("output_shape", [None, 5])
def test_folded_mha_matches_keras_mha_at_real_steps(masked, output_shape):
    parent, folded = _twin_mha(num_heads=2, key_dim=3, output_shape=output_shape)
    x, mask = _inputs()
    kwargs = dict(query_mask=mask, value_mask=mask) if masked else {}
    keep = mask if masked else np.ones_like(mask)

    def run(layer):
        with tf.GradientTape() as tape:
            out = layer(x, x, **kwargs)
            # Only real steps count, as they do after masked pooling.
            loss = tf.reduce_sum(tf.boolean_mask(out, keep) * np.arange(out.shape[-1], dtype="float32"))
        return out.numpy(), [g.numpy() for g in tape.gradient(loss, layer.trainable_weights)]

    (out_p, grads_p), (out_f, grads_f) = run(parent), run(folded)
    np.testing.assert_allclose(out_f[keep], out_p[keep], atol=1e-5)
    for g_f, g_p in zip(grads_f, grads_p):
        np.testing.assert_allclose(g_f, g_p, rtol=1e-4, atol=1e-4)


def test_folded_mha_ignores_padded_keys_and_passes_the_query_mask_on():
    _, layer = _twin_mha(num_heads=2, key_dim=2, output_shape=4)
    x, mask = _inputs()
    noisy = np.where(mask[..., None], x, 100.0).astype("float32")
    clean = np.asarray(layer(x, x, query_mask=mask, value_mask=mask))
    np.testing.assert_allclose(
        np.asarray(layer(noisy, noisy, query_mask=mask, value_mask=mask))[mask], clean[mask], atol=1e-5
    )
    # The query mask reaches the pooling after it: more padding changes nothing.
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, 6, mask_zero=True)(ids)
    attended = FoldedMultiHeadAttention(num_heads=2, key_dim=2)(embedded, embedded)
    model = keras.Model(ids, keras.layers.GlobalAveragePooling1D()(attended))
    batch = token_batch(3, 7)
    padded = np.pad(batch, [(0, 0), (0, 5)])
    np.testing.assert_allclose(model.predict(padded, verbose=0), model.predict(batch, verbose=0), atol=1e-6)


def test_folded_mha_falls_back_to_keras_for_scores_and_attention_masks():
    parent, folded = _twin_mha(num_heads=2, key_dim=3)
    x, mask = _inputs()
    out_f, scores_f = folded(x, x, query_mask=mask, value_mask=mask, return_attention_scores=True)
    out_p, scores_p = parent(x, x, query_mask=mask, value_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(scores_f, scores_p, atol=1e-6)
    np.testing.assert_allclose(out_f, out_p, atol=1e-6)
    causal = np.tril(np.ones((9, 9), bool))[None]
    np.testing.assert_allclose(folded(x, x, attention_mask=causal), parent(x, x, attention_mask=causal), atol=1e-6)


def test_folded_mha_config_round_trip_and_keras_file(tmp_path):
    keras.utils.set_random_seed(1)
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, DIM, mask_zero=True)(ids)
    layer = FoldedMultiHeadAttention(num_heads=2, key_dim=2, output_shape=5, name="mha")
    pooled = keras.layers.GlobalAveragePooling1D()(layer(embedded, embedded))
    model = keras.Model(ids, pooled)
    batch = token_batch(3, 7)
    out = np.asarray(model.predict(batch, verbose=0))
    assert out.shape == (3, 5)

    config = layer.get_config()
    clone = FoldedMultiHeadAttention.from_config(config)
    assert clone.get_config() == config

    path = os.path.join(str(tmp_path), "mha.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("mha"), FoldedMultiHeadAttention)
    np.testing.assert_array_equal(np.asarray(loaded.predict(batch, verbose=0)), out)
