"""A keras_tuner.HyperModel over textattn's model builders.

``build(hp)`` declares the space of a TuneSpec on ``hp``, writes the values
into the base Config and returns ``compile_model(build_model(config))``, with
one output per class of the trial's data.
``fit`` prepares the data for the trial's data settings (vocabulary size,
sequence length: cached per setting by the pipeline), trains as a run does
(``textattn.training.fit``; a hybrid through ``textattn.training.hybrid``) with
early stopping on val_accuracy and returns the trial's metrics. The spec's base config has its data source settled. The test
split is never used.
"""

from __future__ import annotations

import os
import sys
import time

import keras
import keras_tuner

from textattn import variants
from textattn.callbacks import KeepBestWeights
from textattn.config import Config
from textattn.data.run_data import RunData, load_data
from textattn.models import count_params
from textattn.training.compile import compile_model, new_model, new_word_model
from textattn.training.fit import fit as fit_model
from textattn.training.hybrid import fit_hybrid
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
        return new_word_model(config, self.data_for(config))

    def data_for(self, config: Config) -> RunData:
        """The data of the trial's config; the last setting is kept in memory, others come from the disk cache."""
        key = (
            config.data,
            config.model.ngram,
            config.model.hybrid.self_training,
            variants.variant(config.model.variant).reads_ngrams,
        )
        if key != self._data_key:
            self._data = None  # free the previous arrays before loading new ones
            self._data = load_data(config, verbose=False)
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
        history = fit_model(
            model,
            config,
            self.data_for(config),
            callbacks or [],
            epochs=epochs or self.spec.tuner.epochs,
            patience=self.spec.tuner.patience,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        return trial_metrics(config, max(history.history[OBJECTIVE]), len(history.epoch), seconds, count_params(model))

    def fit_bag_variant(self, config: Config, epochs=None, verbose=2) -> dict:
        """Train an ``ngram`` or ``hybrid`` trial as ``textattn train`` does (without the final fit); return its metrics.

        These need the n-gram data and, for the hybrid, two trainings and a
        blend, so they train their own models rather than the one ``build``
        returned (KerasTuner's per-epoch checkpoint is not used for them).
        """
        data = self.data_for(config)
        epochs = epochs or self.spec.tuner.epochs
        start = time.perf_counter()
        if config.model.variant == "ngram":
            model = compile_model(new_model(config, data), config)
            keep = KeepBestWeights()
            history = fit_model(model, config, data, [keep], epochs=epochs, verbose=verbose)
            best, epochs_run, params = keep.best, len(history.epoch), count_params(model)
        else:

            def fit_word_branch(word_model, word_config):
                keep = KeepBestWeights()
                history = fit_model(
                    word_model,
                    word_config,
                    data,
                    [keep],
                    epochs=epochs,
                    patience=self.spec.tuner.patience,
                    verbose=verbose,
                )
                keep.restore()
                return word_model, history

            hybrid = fit_hybrid(config, data, verbose, fit_word_branch)
            best, epochs_run, params = (
                hybrid.val_accuracy(data.labels("val")),
                len(hybrid.word_history.epoch),
                hybrid.params(),
            )
        return trial_metrics(config, best, epochs_run, time.perf_counter() - start, params)


def trial_metrics(config: Config, best: float, epochs_run: int, seconds: float, params: dict) -> dict:
    """A trial's metrics as KerasTuner records them, announced in one line."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    print(
        f"[{tuner_id}] trial finished: {config.model.variant}, best {OBJECTIVE} {best:.4f}, "
        f"{epochs_run} epochs in {seconds:.1f}s, {params['total']:,} params",
        flush=True,
    )
    return {
        OBJECTIVE: float(best),
        SECONDS: seconds,
        PARAMS: float(params["total"]),
        NON_EMBEDDING_PARAMS: float(params["non_embedding"]),
        EPOCHS: float(epochs_run),
    }
