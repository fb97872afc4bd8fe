"""Keras layers' private parts that textattn.layers reads (tested with Keras 3.15).

``FoldedMultiHeadAttention`` and ``FoldedAttention`` compute what their Keras
parents compute, by another route (textattn/layers/folded_*.py). They read
public properties where Keras has them (``query_dense``, ``key_dense``,
``value_dense``, ``output_dense``, ``key_dim``, ``dropout``,
``attention_axes``, ``score_mode``, ``scale``) and, through this module only,
these private ones:

- ``MultiHeadAttention._dropout_layer``: the layer (and seed) that drops
  attention scores; the folded path uses the very same one, so training is
  bit-identical to the parent's.
- ``MultiHeadAttention._sliding_window`` and ``_use_gate`` (Keras 3.15): a mask
  or a gate the folded path does not compute. Keras before 3.15 has neither.
- ``Attention._validate_inputs``: the parent's argument checks.

Each reader answers None (or False) where this Keras lacks the attribute, and
the layer then takes its parent's own ``call``: same outputs, without the
speed-up. tests/test_compat_keras_layers.py fails when one of them moves on the
Keras that textattn is tested with.
"""

from __future__ import annotations

import dataclasses

MHA_PRIVATE = ("_dropout_layer", "_sliding_window", "_use_gate")


@dataclasses.dataclass(frozen=True)
class MhaPrivateParts:
    """What the folded path needs of a ``keras.layers.MultiHeadAttention`` that Keras does not make public."""

    dropout_layer: object
    sliding_window: object
    use_gate: bool


def mha_private_parts(layer) -> MhaPrivateParts | None:
    """``layer``'s dropout layer, sliding window and gate flag; None where this Keras lacks any of them."""
    if not all(hasattr(layer, name) for name in MHA_PRIVATE):
        return None
    return MhaPrivateParts(layer._dropout_layer, layer._sliding_window, bool(layer._use_gate))


def validate_attention_inputs(layer, inputs, mask) -> bool:
    """Run ``keras.layers.Attention``'s own argument checks on ``inputs`` and ``mask`` (raising its ValueError);
    False, checking nothing, where this Keras lacks them."""
    validate = getattr(layer, "_validate_inputs", None)
    if validate is None:
        return False
    validate(inputs=inputs, mask=mask)
    return True
