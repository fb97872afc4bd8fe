"""A trained model's class probabilities: what a run's stages and an evaluation both compute.

``predict`` gives a model's probabilities on one split of a ``RunData``,
``calibrate`` applies a run's stored softmax temperature to them, and
``load_keras`` loads a saved model (the custom layers registered). Nothing here
trains, so textattn.evaluation imports it without importing textattn.training.
"""

from __future__ import annotations

import keras
import numpy as np

import textattn.data.text  # noqa: F401  (registers the standardizer a saved model refers to)
import textattn.layers  # noqa: F401  (registers the custom layers a saved model refers to)
from textattn.config import Config
from textattn.data.run_data import RunData
from textattn.evaluation.calibration import apply_temperature, class_probabilities

PREDICT_BATCH_SIZE = 512


def predict(model: keras.Model, config: Config, data: RunData, split: str, variant: str | None = None) -> np.ndarray:
    """Class probabilities of ``split`` ("train", "val", "test"), shape (N, classes), in the split's order;
    a sigmoid head's (N, 1) becomes (N, 2). ``variant`` picks the inputs (default: the config's)."""
    ds = data.dataset(config, split, variant, batch_size=PREDICT_BATCH_SIZE, shuffle=False)
    return class_probabilities(np.asarray(model.predict(ds, verbose=0)))


def predict_label_probabilities(model: keras.Model, config: Config, data: RunData, split: str) -> np.ndarray:
    """A multi-label model's float32 (N, L): each label's sigmoid probability for the examples of ``split``."""
    ds = data.dataset(config, split, batch_size=PREDICT_BATCH_SIZE, shuffle=False)
    return np.asarray(model.predict(ds, verbose=0), np.float32)


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (N, C) with a softmax temperature applied (identity at 1)."""
    return probabilities if temperature == 1.0 else apply_temperature(probabilities, temperature)


def load_keras(path: str) -> keras.Model:
    """The .keras model at ``path``, loaded with safe_mode=True."""
    return keras.saving.load_model(path, safe_mode=True)
