"""The library versions a run or an export was made with (metrics.json, metadata.json)."""

from __future__ import annotations

import platform

import textattn


def versions() -> dict[str, str]:
    """{python, keras, tensorflow, textattn} of this process; imports Keras and TensorFlow."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "keras_backend": keras.backend.backend(),
        "textattn": textattn.__version__,
    }
