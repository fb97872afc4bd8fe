"""A keras_tuner.HyperModel over textattn's model builders.

``build(hp)`` declares the space of a TuneSpec on ``hp``, writes the values
into the base Config and returns ``compile_model(build_model(config))``, with
one output per class of the trial's data.
``fit`` prepares the data for the trial's data settings (vocabulary size,
sequence length: cached per setting by the pipeline), trains as a run does
(``textattn.fitting``) with early stopping on val_accuracy and returns the
trial's metrics. The spec's base config has its data source settled. The test
split is never used.
"""

from __future__ import annotations

import os
import sys
import time

import keras
import keras_tuner

from textattn import class_weights, fitting, variants
from textattn.config import Config
from textattn.models import build_model, count_params
from textattn.training import compile_model
from textattn.tuning.space import VARIANT_KEY, TuneSpec

OBJECTIVE = "val_accuracy"
# Extra per-trial metrics reported with the objective (stored in the trial's metrics).
SECONDS, PARAMS, NON_EMBEDDING_PARAMS, EPOCHS = "seconds", "params", "non_embedding_params", "epochs"


class TextattnHyperModel(keras_tuner.HyperModel):
    """Builds and trains one trial's model from a TuneSpec.

    Args:
        spec: the parsed tune.yaml, its base config's data source settled
            (``textattn.data.source.resolve_data``).
        verbose: passed to ``model.fit``; None picks 1 on a terminal, else 2.
    """

    def __init__(self, spec: TuneSpec, verbose=None):
        super().__init__(name="textattn")
        self.spec = spec
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
        """The compiled model for ``hp``'s values: token ids (batch, length) -> class probabilities.

        The head has one unit per class of the trial's data (prepared here, reused by ``fit``).
        """
        config = self.config_for(hp)
        num_classes = self.data_for(config).num_classes
        keras.utils.set_random_seed(config.seed)
        return compile_model(build_model(config, num_classes=num_classes), config)

    def data_for(self, config: Config) -> fitting.RunData:
        """The data of the trial's config; the last setting is kept in memory, others come from the disk cache."""
        key = (config.data, config.model.ngram, config.model.hybrid.self_training,
               variants.variant(config.model.variant).reads_ngrams)
        if key != self._data_key:
            self._data = None  # free the previous arrays before loading new ones
            self._data = fitting.load_data(config, verbose=False)
            self._data_key = key
        return self._data

    def fit(self, hp, model, *args, callbacks=None, epochs=None, **kwargs):
        """Train ``model`` on the trial's data; return {val_accuracy (best epoch), seconds, params, ...}.

        KerasTuner passes its own callbacks (best-epoch checkpoint, reporting) and,
        for Hyperband, ``epochs`` and ``initial_epoch``.
        """
        config = self.config_for(hp)
        if variants.variant(config.model.variant).reads_ngrams:
            return self.fit_bag_variant(config, epochs, kwargs.get("verbose", self.verbose))
        kwargs.setdefault("verbose", self.verbose)
        start = time.perf_counter()
        history = fitting.fit(model, config, self.data_for(config), callbacks or [],
                              epochs=epochs or self.spec.tuner.epochs, patience=self.spec.tuner.patience, **kwargs)
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

    def fit_bag_variant(self, config: Config, epochs=None, verbose=2) -> dict:
        """Train an ``ngram`` or ``hybrid`` trial as ``textattn train`` does (without the final fit); return its metrics.

        These need the n-gram data and, for the hybrid, two trainings and a
        blend, so they train their own models rather than the one ``build``
        returned (KerasTuner's per-epoch checkpoint is not used for them).
        """
        from textattn import training
        from textattn.callbacks import KeepBestWeights
        from textattn.layers.log_linear_blend import LogLinearBlend, fit_log_linear_blend
        from textattn.models.bag_models import word_branch_config

        data = self.data_for(config)
        epochs = epochs or self.spec.tuner.epochs
        start = time.perf_counter()
        if config.model.variant == "ngram":
            model = training.compile_model(training.new_model(config, data), config)
            keep = KeepBestWeights()
            history = fitting.fit(model, config, data, [keep], epochs=epochs, verbose=verbose)
            best, epochs_run, params = keep.best, len(history.epoch), count_params(model)
        else:
            ngram_model, _ = training.fit_ngram_branch(config, data, verbose)
            word_config = word_branch_config(config)
            keras.utils.set_random_seed(config.seed)
            word_model = training.compile_model(build_model(word_config, num_classes=data.num_classes), word_config)
            keep = KeepBestWeights()
            history = fitting.fit(word_model, word_config, data, [keep], epochs=epochs,
                                  patience=self.spec.tuner.patience, verbose=verbose)
            keep.restore()
            branch_val = [training.predict(ngram_model, config, data, "val", "ngram"),
                          training.predict(word_model, config, data, "val", word_config.model.variant)]
            weights, bias = fit_log_linear_blend(branch_val, data.labels("val"), sample_weight=class_weights
                                                 .sample_weights(config, data.labels("val"), data.class_names))
            blend = LogLinearBlend(2, data.num_classes)
            blend.build([(None, data.num_classes)] * 2)
            blend.set_blend(weights, bias)
            probs = keras.ops.convert_to_numpy(blend([keras.ops.convert_to_tensor(p) for p in branch_val]))
            best = float((probs.argmax(axis=1) == data.labels("val")).mean())
            epochs_run = len(history.epoch)
            params = {k: count_params(ngram_model)[k] + count_params(word_model)[k] for k in ("total", "non_embedding")}
        seconds = time.perf_counter() - start
        tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
        print(f"[{tuner_id}] trial finished: {config.model.variant}, best {OBJECTIVE} {best:.4f}, "
              f"{epochs_run} epochs in {seconds:.1f}s, {params['total']:,} params", flush=True)
        return {OBJECTIVE: float(best), SECONDS: seconds, PARAMS: float(params["total"]),
                NON_EMBEDDING_PARAMS: float(params["non_embedding"]), EPOCHS: float(epochs_run)}
