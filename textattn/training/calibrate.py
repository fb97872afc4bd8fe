"""Stage 2 of a run: a softmax temperature fitted on validation (``train.calibrate``).

The temperature is stored in metrics.json; ``textattn.inference.calibrate``
applies it wherever probabilities are served or evaluated.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from textattn.config import Config
from textattn.evaluation.calibration import expected_calibration_error, fit_temperature
from textattn.inference import calibrate


@dataclasses.dataclass
class Calibration:
    temperature: float
    """1.0 when not calibrated."""
    summary: dict
    """metrics.json's "calibration": temperature, validation ECE before and after."""


def calibrate_on_validation(config: Config, y_val: np.ndarray, val_probs: np.ndarray) -> Calibration:
    """Fit the temperature on validation labels (N,) and probabilities (N, classes), when the config asks for one.

    A hybrid gets none: its blend is itself fitted on validation.
    """
    temperature = 1.0
    if config.train.calibrate and config.model.variant != "hybrid":
        temperature = fit_temperature(y_val, val_probs)
    summary = {
        "temperature": round(float(temperature), 6),
        "validation_ece_uncalibrated": expected_calibration_error(y_val, val_probs),
        "validation_ece": expected_calibration_error(y_val, calibrate(val_probs, temperature)),
    }
    return Calibration(temperature, summary)
