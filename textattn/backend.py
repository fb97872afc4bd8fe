"""Which Keras backend runs the models, and what needs TensorFlow's.

textattn trains and evaluates its word-sequence variants under any backend
Keras runs (``KERAS_BACKEND=tensorflow``, the default, or ``jax``). The data
pipeline, text vectorization and the exported SavedModel are TensorFlow code
either way (TensorFlow is always installed). What needs the TensorFlow
backend itself fails early here, with one line naming the backend:

- ``ngram`` and ``hybrid``: their input is a ``tf.SparseTensor`` (multi-hot
  n-gram bags), which only the TensorFlow backend feeds to a Keras model;
- ``explain``: its endpoint runs the model's layers inside a ``tf.function``.

``export`` also needs it, and re-runs itself under TensorFlow (see
``textattn.export.export_run``).
"""

from __future__ import annotations

from textattn.errors import UserError

TENSORFLOW = "tensorflow"
SPARSE_INPUT_VARIANTS = ("ngram", "hybrid")


def name() -> str:
    """The Keras backend in use: "tensorflow", "jax", ..."""
    import keras

    return keras.backend.backend()


def is_tensorflow() -> bool:
    return name() == TENSORFLOW


def require_tensorflow(what: str) -> None:
    """Raise UserError unless the backend is TensorFlow; ``what`` names the thing that needs it."""
    backend = name()
    if backend != TENSORFLOW:
        raise UserError(
            f"{what} needs the TensorFlow backend, not KERAS_BACKEND={backend}; run it with KERAS_BACKEND={TENSORFLOW}"
        )


def check_variant(variant: str) -> None:
    """Raise UserError when ``variant`` cannot run under the current backend."""
    if variant in SPARSE_INPUT_VARIANTS:
        require_tensorflow(f"model.variant {variant!r} (its n-gram input is a tf.SparseTensor)")


def jit_compile(configured: bool, variant: str) -> bool:
    """Whether train/predict steps are compiled: ``train.jit_compile`` under TensorFlow (never for the
    sparse n-gram variants, whose ops XLA cannot compile); always under JAX, whose only fast mode it is."""
    if name() == "jax":
        return True
    return configured and variant not in SPARSE_INPUT_VARIANTS
