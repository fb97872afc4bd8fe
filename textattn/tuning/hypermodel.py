"""A keras_tuner.HyperModel over textattn's model builders.

``build(hp)`` declares the space of a TuneSpec on ``hp``, writes the values
into the base Config and returns ``compile_model(build_model(config))``.
``fit`` prepares the data for the trial's data settings (vocabulary size,
sequence length: cached per setting by the pipeline), trains with early
stopping on val_accuracy and returns the trial's metrics. The test split is
never used.
"""

from __future__ import annotations

import os
import sys
import time

import keras
import keras_tuner

from textattn.config import Config
from textattn.data import pipeline
from textattn.models import build_model, count_params
from textattn.training import compile_model
from textattn.tuning.space import VARIANT_KEY, TuneSpec

OBJECTIVE = "val_accuracy"
# Extra per-trial metrics reported with the objective (stored in the trial's metrics).
SECONDS, PARAMS, NON_EMBEDDING_PARAMS, EPOCHS = "seconds", "params", "non_embedding_params", "epochs"


class TextattnHyperModel(keras_tuner.HyperModel):
    """Builds and trains one trial's model from a TuneSpec.

    Args:
        spec: the parsed tune.yaml.
        data_path: --data (None: data.path, $TEXTATTN_DATA or TFDS).
        verbose: passed to ``model.fit``; None picks 1 on a terminal, else 2.
    """

    def __init__(self, spec: TuneSpec, data_path: str | None = None, verbose=None):
        super().__init__(name="textattn")
        self.spec = spec
        self.data_path = data_path
        self.verbose = verbose if verbose is not None else (1 if sys.stdout.isatty() else 2)
        self._data_key = None
        self._data = None

    def config_for(self, hp: keras_tuner.HyperParameters) -> Config:
        """Declare the space on ``hp`` and return the base config with its values written in."""
        values = {param.key: param.declare(hp) for param in self.spec.shared}
        variant = hp.Choice(VARIANT_KEY, list(self.spec.variants), default=self.spec.base.model.variant)
        values[VARIANT_KEY] = variant
        for name, params in self.spec.variants.items():
            if not params:
                continue
            with hp.conditional_scope(VARIANT_KEY, [name]):
                for param in params:
                    value = param.declare(hp)  # None while the scope is inactive
                    if name == variant:
                        values[param.key] = value
        return self.spec.config_with(values)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The compiled model for ``hp``'s values: token ids (batch, length) -> class probabilities."""
        config = self.config_for(hp)
        keras.utils.set_random_seed(config.seed)
        return compile_model(build_model(config), config)

    def prepared(self, config: Config) -> pipeline.PreparedData:
        """Token ids for ``config.data``; the last setting is kept in memory, others come from the disk cache."""
        d = config.data
        key = (d.vocab_size, d.sequence_length, d.keep)
        if key != self._data_key:
            self._data = None  # free the previous arrays before loading new ones
            self._data = pipeline.prepare(d, config.seed, self.data_path)
            self._data_key = key
        return self._data

    def fit(self, hp, model, *args, callbacks=None, epochs=None, **kwargs):
        """Train ``model`` on the trial's data; return {val_accuracy (best epoch), seconds, params, ...}.

        KerasTuner passes its own callbacks (best-epoch checkpoint, reporting) and,
        for Hyperband, ``epochs`` and ``initial_epoch``.
        """
        config = self.config_for(hp)
        data = self.prepared(config)
        sigmoid = config.model.head == "sigmoid"
        train_ds = pipeline.make_dataset(data.x_train, data.y_train, config.train.batch_size, config.seed, sigmoid)
        val_ds = pipeline.make_dataset(data.x_val, data.y_val, config.train.batch_size, None, sigmoid)
        callbacks = list(callbacks or [])
        if self.spec.tuner.patience is not None:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=OBJECTIVE, mode="max", patience=self.spec.tuner.patience))
        kwargs.setdefault("verbose", self.verbose)

        start = time.perf_counter()
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs or self.spec.tuner.epochs,
                            callbacks=callbacks, shuffle=False, **kwargs)
        seconds = time.perf_counter() - start

        params = count_params(model)
        best = max(history.history[OBJECTIVE])
        tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
        print(f"[{tuner_id}] trial finished: {config.model.variant}, best {OBJECTIVE} {best:.4f}, "
              f"{len(history.epoch)} epochs in {seconds:.1f}s, {params['total']:,} params", flush=True)
        return {
            OBJECTIVE: float(best),
            SECONDS: seconds,
            PARAMS: float(params["total"]),
            NON_EMBEDDING_PARAMS: float(params["non_embedding"]),
            EPOCHS: float(len(history.epoch)),
        }
