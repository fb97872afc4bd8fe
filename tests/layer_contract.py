"""The contract every textattn layer meets, checked by one helper.

``check_layer_contract`` builds a small functional model around the layer,
fed by a masking Embedding, and checks: output shape, mask propagation, that
masked steps do not leak into the output, the get_config/from_config round
trip, and a ``.keras`` save/load (safe_mode=True) with identical outputs.
"""

from __future__ import annotations

import os

import keras
import numpy as np

VOCAB, DIM = 20, 6


def token_batch(batch=3, length=7, seed=0):
    """Random token ids (batch, length); row r ends in r + seed padding steps."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, VOCAB, size=(batch, length))
    for row in range(batch):
        padding = row + seed
        if padding:
            ids[row, length - padding :] = 0
    return ids.astype("int32")


def _model(make_layer, n_inputs, length):
    inputs = [keras.Input((length,), dtype="int32", name=f"ids_{i}") for i in range(n_inputs)]
    embedded = [keras.layers.Embedding(VOCAB, DIM, mask_zero=True, name=f"emb_{i}")(x) for i, x in enumerate(inputs)]
    layer = make_layer()
    outputs = layer(embedded if n_inputs > 1 else embedded[0])
    return keras.Model(inputs, outputs), layer


def check_layer_contract(tmp_path, make_layer, *, n_inputs=1, expected_shape, output_masked, length=7):
    """Assert the layer contract for ``make_layer()`` (a factory of a fresh layer).

    Args:
        make_layer: () -> layer; the layer takes one (batch, length, DIM) tensor,
            or a list of ``n_inputs`` of them.
        expected_shape: output shape for a batch of 3, e.g. (3, 7, DIM).
        output_masked: True if the output carries the (first) input's mask,
            False if the layer consumes the mask (pooling).
    """
    keras.utils.set_random_seed(1)
    model, layer = _model(make_layer, n_inputs, length)
    ids = [token_batch(3, length, seed=i) for i in range(n_inputs)]
    out = np.asarray(model.predict(ids if n_inputs > 1 else ids[0], verbose=0))

    # Shape, statically and at run time.
    assert out.shape == tuple(expected_shape)
    assert tuple(model.output.shape[1:]) == tuple(expected_shape[1:])
    assert np.all(np.isfinite(out))

    # Mask in, mask out.
    embedded = [np.random.default_rng(5).normal(size=(3, length, DIM)).astype("float32") for _ in ids]
    masks = [i != 0 for i in ids]
    layer_in = embedded if n_inputs > 1 else embedded[0]
    mask_in = masks if n_inputs > 1 else masks[0]
    out_mask = layer.compute_mask(layer_in, mask_in)
    if output_masked:
        np.testing.assert_array_equal(np.asarray(out_mask), masks[0])
    else:
        assert out_mask is None

    # Masked steps do not leak: changing the padding tokens' embeddings leaves
    # the outputs at unmasked steps (or the pooled output) unchanged.
    noisy = [np.where(m[..., None], e, 100.0 * np.ones_like(e)) for e, m in zip(embedded, masks)]
    clean_out = np.asarray(layer(layer_in, mask=mask_in))
    noisy_out = np.asarray(layer(noisy if n_inputs > 1 else noisy[0], mask=mask_in))
    if output_masked:
        keep = masks[0]
        np.testing.assert_allclose(clean_out[keep], noisy_out[keep], atol=1e-5)
    else:
        np.testing.assert_allclose(clean_out, noisy_out, atol=1e-5)

    # get_config / from_config round trip, with the same weights -> same outputs.
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    clone.build([e.shape for e in embedded] if n_inputs > 1 else embedded[0].shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(layer_in, mask=mask_in)), clean_out, atol=1e-6)

    # .keras save/load with safe_mode=True gives identical outputs.
    path = os.path.join(str(tmp_path), f"{layer.__class__.__name__}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    reloaded = np.asarray(loaded.predict(ids if n_inputs > 1 else ids[0], verbose=0))
    np.testing.assert_array_equal(reloaded, out)
