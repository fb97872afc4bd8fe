"""The search space file (configs/tune.yaml) parsed into typed objects.

The file has three sections::

    base:    a full textattn config; every hyperparameter's default is its value here
    search:
      shared:   {dotted.config.key: CHOICES or RANGE}   searched for every variant
      variants: {variant: {model.<its section>.key: CHOICES or RANGE}}
    tuner:   TunerSettings (kind, max_trials, epochs, patience, directory, ...)

CHOICES is a list (``[16, 32]``); RANGE is a mapping
``{min: 1e-4, max: 1e-2, sampling: log}`` or ``{min: 1, max: 3, step: 1}``.
A hyperparameter is named by its config key, so a trial's values write
straight into a Config.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from textattn.config import (
    Config,
    all_keys,
    apply_overrides,
    config_from_dict,
    config_to_dict,
    dataclass_from_dict,
    read_yaml,
)
from textattn.errors import UserError
from textattn.variants import NAMES, VARIANTS, variant

VARIANT_KEY = "model.variant"

# Keys that must be the same in every trial, and why.
NOT_SEARCHABLE = {
    "name": "it names the search, not a trial",
    "seed": "every trial uses the base seed so they differ only in their hyperparameters",
    VARIANT_KEY: "list the variants under search.variants instead",
    "data.source": "every trial reads the same data; set it in base or pass --data",
    "data.path": "every trial reads the same data; set it in base or pass --data",
    "data.cache_dir": "it is where data is cached, not a model setting",
    "data.validation_size": "every trial must be scored on the same validation reviews",
    "data.test_limit": "the test split is not used during the search",
    "train.epochs": "set tuner.epochs (epochs per trial) instead",
    "train.early_stopping": "set tuner.patience instead",
    "train.patience": "set tuner.patience instead",
    "train.restore_best": "trials are scored by their best epoch already",
}


@dataclass
class TunerSettings:
    """The ``tuner:`` section."""

    kind: Literal["hyperband", "bayesian", "random"] = "random"
    max_trials: int = 12
    """Trials to run (random, bayesian); hyperband sizes itself from epochs and factor."""
    epochs: int = 3
    """Epochs per trial (hyperband: the most epochs any trial gets)."""
    patience: Optional[int] = 1
    """EarlyStopping patience on val_accuracy inside a trial; null turns it off."""
    directory: str = "tuner_runs"
    project_name: str = "textattn"
    hyperband_factor: int = 3
    hyperband_iterations: int = 1
    max_consecutive_failed_trials: int = 3
    worker_timeout: Optional[float] = 120.0
    """Distributed search: seconds a worker may go unheard (it sends a heartbeat every quarter of this
    while it runs a trial) before the chief hands its trial to another worker; null: never."""
    chief_timeout: float = 600.0
    """Distributed search: seconds a worker waits for a chief that does not answer before it exits."""


@dataclass(frozen=True)
class Param:
    """One hyperparameter, named by its dotted config key.

    kind "choice" and "boolean" use ``values``; "int" and "float" use
    ``low``/``high``/``step``/``sampling``. ``default`` is the base config's value.
    """

    key: str
    kind: Literal["choice", "boolean", "int", "float"]
    default: Any
    values: tuple = ()
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    sampling: str = "linear"

    def declare(self, hp):
        """Register this hyperparameter on ``hp`` (keras_tuner.HyperParameters); return its value."""
        if self.kind == "boolean":
            return hp.Boolean(self.key, default=self.default)
        if self.kind == "choice":
            return hp.Choice(self.key, list(self.values), default=self.default)
        declare = hp.Int if self.kind == "int" else hp.Float
        return declare(self.key, self.low, self.high, step=self.step, sampling=self.sampling, default=self.default)

    def describe(self) -> str:
        if self.kind in ("choice", "boolean"):
            return f"{self.key} in {list(self.values)}"
        step = f" step {self.step}" if self.step is not None else ""
        return f"{self.key} in [{self.low}, {self.high}]{step} ({self.sampling})"


@dataclass
class TuneSpec:
    """A parsed tune.yaml: the base config, the space and the tuner settings."""

    base: Config
    shared: list[Param]
    variants: dict[str, list[Param]]
    """Variant name -> its own hyperparameters, in the file's order."""
    tuner: TunerSettings = field(default_factory=TunerSettings)

    def config_with(self, values: dict[str, Any]) -> Config:
        """The base config with ``values`` ({dotted key: value}) written in."""
        return config_with(self.base, values)


def config_with(base: Config, values: dict[str, Any]) -> Config:
    data = config_to_dict(base)
    for key, value in values.items():
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config_from_dict(data)


def _lookup(config: Config, key: str):
    node = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _checked(base: Config, key: str, value, where: str):
    """``value`` as the config stores it at ``key`` (e.g. 1 -> 1.0 for a float key), or UserError."""
    try:
        return _lookup(config_with(base, {key: value}), key)
    except UserError as exc:
        raise UserError(f"{where}: value {value!r} is not valid here ({exc})") from None


def parse_param(key: str, raw, base: Config, where: str) -> Param:
    """One ``key: CHOICES or RANGE`` entry; the default is the base config's value."""
    if key not in all_keys():
        raise UserError(
            f"{where}: unknown config key {key!r}; hyperparameters are dotted config keys "
            f"such as model.embedding_dim or train.learning_rate"
        )
    if key in NOT_SEARCHABLE:
        raise UserError(f"{where}: {key} cannot be searched: {NOT_SEARCHABLE[key]}")
    default = _lookup(base, key)
    if isinstance(raw, list):
        return _parse_choice(key, raw, default, base, where)
    if isinstance(raw, dict):
        return _parse_range(key, raw, default, base, where)
    raise UserError(
        f"{where}: expected a list of choices or a {{min, max}} range, got {raw!r}; a fixed value belongs in base.{key}"
    )


def _parse_choice(key, raw: list, default, base: Config, where: str) -> Param:
    if not raw:
        raise UserError(f"{where}: the list of choices is empty")
    for value in raw:
        if value is None or isinstance(value, (list, dict)):
            raise UserError(f"{where}: choices must be numbers, strings or booleans, got {value!r}")
    values = [_checked(base, key, value, where) for value in raw]
    if len(set(values)) != len(values):
        raise UserError(f"{where}: the choices {raw} repeat a value")
    if default not in values:
        raise UserError(
            f"{where}: the base config's value {default!r} is not among the choices {values}; "
            f"the base config is the search's default, so add it or change base.{key}"
        )
    if isinstance(default, bool):
        if len(values) != 2:
            raise UserError(f"{where}: a boolean is searched over [false, true]; a fixed one belongs in base.{key}")
        return Param(key, "boolean", default, values=(False, True))
    return Param(key, "choice", default, values=tuple(values))


def _parse_range(key, raw: dict, default, base: Config, where: str) -> Param:
    """A ``{min, max, step, sampling}`` entry; KerasTuner itself checks the range (order, sampling, log bounds)."""
    unknown = set(raw) - {"min", "max", "step", "sampling"}
    if unknown or "min" not in raw or "max" not in raw:
        raise UserError(
            f"{where}: a range is {{min: A, max: B}} with optional step and sampling "
            f"(linear, log or reverse_log), got {raw!r}"
        )
    is_int = isinstance(default, int) and not isinstance(default, bool)
    if not (is_int or isinstance(default, float)):
        raise UserError(
            f"{where}: a {{min, max}} range needs a numeric key (base.{key} is {default!r}); use a list of choices"
        )
    numbers = {name: raw[name] for name in ("min", "max", "step") if raw.get(name) is not None}
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int if is_int else (int, float)):
            kind = "an integer" if is_int else "a number"
            raise UserError(f"{where}: {name} must be {kind} for {key}, got {value!r}")
    step = raw.get("step")
    if step is not None and step <= 0:  # KerasTuner would divide by it
        raise UserError(f"{where}: step must be positive, got {step}")
    low, high = _checked(base, key, raw["min"], where), _checked(base, key, raw["max"], where)
    param = Param(
        key,
        "int" if is_int else "float",
        default,
        low=low,
        high=high,
        step=step if step is None or is_int else float(step),
        sampling=raw.get("sampling", "linear"),
    )
    _check_with_keras_tuner(param, where)
    if not low <= default <= high:
        raise UserError(
            f"{where}: the base config's value {default!r} is outside [{low}, {high}]; "
            f"the base config is the search's default, so widen the range or change base.{key}"
        )
    return param


def _check_with_keras_tuner(param: Param, where: str) -> None:
    """Declare ``param`` on scratch hyperparameters: KerasTuner's ValueError becomes a UserError at ``where``."""
    import keras_tuner

    try:
        param.declare(keras_tuner.HyperParameters())
    except ValueError as exc:
        raise UserError(f"{where}: not a valid range for KerasTuner ({exc})") from None


def _mapping(raw, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a mapping, got {raw!r}")
    return raw


def _only(raw: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in allowed:
            raise UserError(f"unknown key {where}{key!r}; valid keys here: {', '.join(allowed)}")


def spec_from_dict(data, overrides: list[str] = ()) -> TuneSpec:
    """Parse the plain data of a tune.yaml; ``overrides`` (key=value) apply to its base config."""
    data = _mapping(data, "tune config")
    _only(data, ("base", "search", "tuner"), "")
    base = config_from_dict(_mapping(data.get("base"), "base"))
    base = apply_overrides(base, list(overrides))
    if base.train.distribution != "none":  # a search spreads trials over workers instead (docs/search.md)
        raise UserError(
            f"base.train.distribution={base.train.distribution}: textattn tune trains each trial in one "
            "process; set it to none (distributed search runs trials on several workers)"
        )

    search = _mapping(data.get("search"), "search")
    _only(search, ("shared", "variants"), "search.")
    shared = []
    for key, raw in _mapping(search.get("shared"), "search.shared").items():
        where = f"search.shared.{key}"
        # A variant's own hyperparameters (model.<section>.*) sit in its conditional scope.
        owner = next((v.name for v in VARIANTS if v.config_prefix and str(key).startswith(v.config_prefix + ".")), None)
        if owner:
            raise UserError(f"{where}: {key} belongs to variant {owner}; put it under search.variants.{owner}")
        shared.append(parse_param(key, raw, base, where))

    variants: dict[str, list[Param]] = {}
    raw_variants = _mapping(search.get("variants"), "search.variants")
    if not raw_variants:
        raise UserError(f"search.variants is empty; list at least one of {', '.join(NAMES)}")
    for name, params in raw_variants.items():
        where = f"search.variants.{name}"
        if name not in NAMES:
            raise UserError(f"{where}: unknown variant; choose from {', '.join(NAMES)}")
        section = variant(name).config_prefix
        variants[name] = []
        for key, raw in _mapping(params, where).items():
            if not section or not str(key).startswith(section + "."):
                own = f"{section}.*" if section else "none"
                raise UserError(
                    f"{where}.{key}: not a hyperparameter of {name} (its own keys: {own}); "
                    "shared hyperparameters go under search.shared"
                )
            variants[name].append(parse_param(key, raw, base, f"{where}.{key}"))
    if base.model.variant not in variants:
        raise UserError(
            f"base.model.variant is {base.model.variant!r}, which search.variants does not list; "
            "the base config is the search's default, so list it or change base.model.variant"
        )

    tuner = dataclass_from_dict(TunerSettings, _mapping(data.get("tuner"), "tuner"), "tuner")
    check_tuner(tuner)
    return TuneSpec(base=base, shared=shared, variants=variants, tuner=tuner)


def check_tuner(tuner: TunerSettings) -> None:
    for name in ("max_trials", "epochs", "hyperband_iterations", "max_consecutive_failed_trials"):
        if getattr(tuner, name) < 1:
            raise UserError(f"tuner.{name} must be at least 1, got {getattr(tuner, name)}")
    if tuner.patience is not None and tuner.patience < 0:
        raise UserError(f"tuner.patience must be 0 or more (or null for no early stopping), got {tuner.patience}")
    if tuner.worker_timeout is not None and not tuner.worker_timeout > 0:
        raise UserError(
            f"tuner.worker_timeout must be a positive number of seconds (or null: never hand a "
            f"silent worker's trial out again), got {tuner.worker_timeout}"
        )
    if not tuner.chief_timeout > 0:
        raise UserError(f"tuner.chief_timeout must be a positive number of seconds, got {tuner.chief_timeout}")
    if tuner.hyperband_factor < 2:
        raise UserError(f"tuner.hyperband_factor must be at least 2, got {tuner.hyperband_factor}")
    if not tuner.project_name or os.sep in tuner.project_name:
        raise UserError(f"tuner.project_name must be a plain folder name, got {tuner.project_name!r}")


def load_tune_spec(path: str | os.PathLike, overrides: list[str] = ()) -> TuneSpec:
    """Read and check a tune.yaml file."""
    path = os.fspath(path)
    data = read_yaml(path, what="tune config", hint="pass --config configs/tune.yaml")
    try:
        return spec_from_dict(data, overrides)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None


def replace_tuner(spec: TuneSpec, **changes) -> TuneSpec:
    """A copy of ``spec`` with tuner settings changed (values that are None are left alone)."""
    tuner = dataclasses.replace(spec.tuner, **{k: v for k, v in changes.items() if v is not None})
    check_tuner(tuner)
    return dataclasses.replace(spec, tuner=tuner)
