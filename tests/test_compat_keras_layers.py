"""textattn.compat.keras_layers: the Keras privates the folded attention layers read are still there, and
without them the layers give exactly their parents' outputs.

The first tests fail when Keras moves or renames one of those attributes on the
version textattn is tested with: then update textattn/compat/keras_layers.py.
"""

import types

import keras
import numpy as np
import pytest

from textattn.compat import keras_layers
from textattn.layers import FoldedAttention, FoldedMultiHeadAttention

MASK = np.arange(7)[None, :] < np.array([7, 4, 1])[:, None]


def inputs(seed=0):
    return np.random.default_rng(seed).normal(size=(3, 7, 6)).astype("float32")


def twin_mha(**kwargs):
    """A keras.layers.MultiHeadAttention and a FoldedMultiHeadAttention with the same weights."""
    parent, folded = keras.layers.MultiHeadAttention(**kwargs), FoldedMultiHeadAttention(**kwargs)
    x = inputs()
    parent(x, x)
    folded(x, x)
    folded.set_weights(parent.get_weights())
    return parent, folded


def test_this_keras_has_the_multi_head_attention_privates():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.1)
    x = inputs()
    layer(x, x)  # the dropout layer is made in build()
    parts = keras_layers.mha_private_parts(layer)
    assert parts is not None, f"keras {keras.__version__} lacks one of {keras_layers.MHA_PRIVATE}"
    assert isinstance(parts.dropout_layer, keras.layers.Dropout) and parts.dropout_layer.rate == 0.1
    assert parts.sliding_window is None and parts.use_gate is False
    gated = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, use_gate=True, sliding_window=4)
    gated(x, x)
    gated = keras_layers.mha_private_parts(gated)
    assert gated.use_gate is True and gated.sliding_window == 4


def test_this_keras_has_the_attention_argument_checks():
    layer = keras.layers.Attention()
    x = inputs()
    assert keras_layers.validate_attention_inputs(layer, [x, x], None) is True
    with pytest.raises(ValueError, match="must be called on a list of inputs"):
        keras_layers.validate_attention_inputs(layer, x, None)


def test_a_keras_without_the_privates_is_answered_with_none():
    bare = types.SimpleNamespace()
    assert keras_layers.mha_private_parts(bare) is None
    assert keras_layers.validate_attention_inputs(bare, [1, 2], None) is False


def test_folded_mha_takes_its_own_path_on_this_keras(monkeypatch):
    _, folded = twin_mha(num_heads=2, key_dim=3)

    def parents_call(*args, **kwargs):
        raise AssertionError("the parent's call was used")

    monkeypatch.setattr(keras.layers.MultiHeadAttention, "call", parents_call)
    x = inputs(1)
    assert folded(x, x, query_mask=MASK, value_mask=MASK).shape == (3, 7, 6)


@pytest.mark.parametrize("masked", [False, True])
def test_folded_mha_without_the_privates_gives_the_parents_outputs(masked, monkeypatch):
    parent, folded = twin_mha(num_heads=2, key_dim=3)
    x = inputs(2)
    kwargs = dict(query_mask=MASK, value_mask=MASK) if masked else {}
    folded_path = np.asarray(folded(x, x, **kwargs))
    monkeypatch.setattr(keras_layers, "MHA_PRIVATE", (*keras_layers.MHA_PRIVATE, "_not_in_this_keras"))
    fallback = np.asarray(folded(x, x, **kwargs))
    expected = np.asarray(parent(x, x, **kwargs))
    np.testing.assert_array_equal(fallback, expected)  # the parent's own computation, bit for bit
    if masked:  # the folded path differs from the parent's only in rounding (and at masked query steps)
        assert not np.array_equal(folded_path, expected)


@pytest.mark.parametrize("masked", [False, True])
def test_folded_attention_without_the_checks_gives_the_parents_outputs(masked, monkeypatch):
    parent, folded = keras.layers.Attention(use_scale=True), FoldedAttention(use_scale=True)
    x = inputs(3)
    parent([x, x])
    folded([x, x])
    parent.weights[0].assign(0.7)
    folded.set_weights(parent.get_weights())
    mask = [MASK, MASK] if masked else None
    monkeypatch.setattr(keras_layers, "validate_attention_inputs", lambda layer, inputs, mask: False)
    np.testing.assert_array_equal(np.asarray(folded([x, x], mask=mask)), np.asarray(parent([x, x], mask=mask)))
