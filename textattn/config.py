"""Typed experiment configuration, loaded from YAML with type-checked overrides.

A config is a tree of dataclasses. ``load_config`` reads a YAML file into it,
rejecting unknown keys and values of the wrong type; ``apply_overrides`` takes
``key=value`` strings such as ``model.mha.num_heads=4`` or ``train.epochs=3``.
The sections of the variants' own settings (``model.attention``, ``model.rnn``,
...) are declared with the variants, in textattn/variants.py.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from typing import Literal, Optional

import yaml

from textattn import threshold_spec, variants
from textattn.errors import UserError
from textattn.multilabel.settings import check_multi_label

VariantName = Literal[variants.NAMES]


@dataclass
class DataConfig:
    """Where the examples come from and how they become token ids (docs/data.md)."""

    source: Literal["auto", "local", "csv", "tsv", "jsonl", "folders", "tfds", "shards", "prepared"] = "auto"
    """auto: ``path``/--data/TEXTATTN_DATA recognised by its extension or layout, else TFDS. A command
    settles it once (textattn/data/source.py): a run's config.yaml says local (an aclImdb copy, with
    its path), csv, tsv, jsonl, folders (with the path), tfds, shards (a glob of CSV/TSV/JSONL files)
    or prepared (a directory written by ``textattn prepare``); shards and prepared are streamed
    (textattn/data/streamed.py). csv, tsv, jsonl, folders, shards and prepared force that reading
    of the path."""
    path: Optional[str] = None
    """A CSV, TSV or JSONL file, a glob of them, a prepared directory, a folder of class folders, an
    aclImdb directory or .tar.gz, or ``tfds:NAME``."""
    tfds_name: str = "imdb_reviews"
    """The TFDS dataset of ``source: tfds`` (``--data tfds:NAME`` sets it)."""
    text_field: Optional[str] = None
    """The text column (CSV, TSV), key (JSONL) or feature (TFDS); None: ``text``, or TFDS's supervised keys."""
    label_field: Optional[str] = None
    """The label column, key or feature; None: ``label``, or TFDS's supervised keys."""
    multi_label: bool = False
    """Each example has a set of labels (docs/multi_label.md): a JSONL list, a CSV/TSV column split by
    ``label_separator``, or one file name under several class folders. One sigmoid per label, each
    with a threshold fitted on validation; word-sequence variants only."""
    label_separator: Optional[str] = None
    """Multi-label CSV/TSV: what separates a row's labels in the label column, e.g. "|"."""
    split_field: str = "split"
    """The optional column whose values (train, validation/val/dev, test) give each row's split."""
    test_fraction: float = 0.2
    """Without given test rows: this fraction of each class is carved out as test."""
    validation_fraction: float = 0.1
    """Without given validation rows: this fraction of each class left is validation (see validation_size)."""
    vocab_size: int = 10_000
    sequence_length: int = 256
    keep: Literal["start", "end"] = "start"
    """Which end of a review longer than ``sequence_length`` tokens is kept."""
    long_text: Literal["cut", "chunks"] = "cut"
    """A review longer than ``sequence_length`` tokens. cut: only ``keep``'s end is read. chunks: at
    evaluation and serving it is read in overlapping windows of ``sequence_length`` tokens, each scored
    by the word model, their log-probabilities averaged (docs/long_documents.md); training is unchanged."""
    chunk_overlap: int = 64
    """With ``long_text: chunks``: tokens each window shares with the one before (below ``sequence_length``)."""
    max_chunks: int = 8
    """With ``long_text: chunks``: windows read at most; longer reviews are cut to what they cover first."""
    validation_size: Optional[int] = None
    """IMDB (aclImdb, tfds:imdb_reviews): the first N reviews of the shuffled training split are
    validation, None meaning 10,000 (the reference split). Other sources: None means the given
    validation rows, else ``validation_fraction`` of each class; N, about N rows spread over the
    classes; 0, no validation (what the final fit uses; a run itself needs validation rows)."""
    validation_by_movie: bool = False
    """IMDB from a local aclImdb copy: validation takes whole movies, about ``validation_size`` reviews
    (None: 10,000), so the part trained on holds none of its movies, as it holds none of test's (the
    dataset's train and test movies are disjoint). false: the first reviews of the shuffled training
    split, which mostly share their movies with the rest (bench/validation_movies.py)."""
    order: Literal["canonical", "archive"] = "canonical"
    """Order of reviews before the seeded shuffle. canonical: by label, then text (TFDS and a
    local copy agree); archive: by label, then as stored in the local copy (the order
    the reference script seed_reference.py uses, so the same seed gives its split)."""
    train_limit: Optional[int] = None
    """Train on at most this many of the remaining reviews (None: all)."""
    test_limit: Optional[int] = None
    """Report on at most this many test reviews (None: all)."""
    cache_dir: Optional[str] = None
    """Where prepared data is cached (default: $TEXTATTN_CACHE or ~/.cache/textattn)."""
    negation: Literal["none", "mark", "mark_near", "mark_near_concession"] = "none"
    """mark: words between a negator (not, no, never, n't, ...) and the clause's end become ``not_WORD``
    tokens, for the word and the n-gram vocabularies alike, in training and in the export
    (textattn/data/negation.py, docs/reading.md); mark_near: the same, for at most the 3 words after the
    negator; mark_near_concession: mark_near, and the words a contrast concedes ("nice cast, but ...", "although
    ...,") become ``con_WORD`` (textattn/data/concession.py); none: the standardization as it always was."""
    counterfactual: bool = False
    """Add to the reviews trained on their short polar sentences ("The acting was terrific.") and negated
    copies with the other label ("The acting wasn't terrific."); two-class data only
    (textattn/data/counterfactual.py, docs/reading.md)."""


@dataclass
class SharedModelConfig:
    """The model settings every variant reads; each variant's own are in ``model.<section>`` (textattn/variants.py)."""

    variant: VariantName = "baseline"
    embedding_dim: int = 16
    positional: Literal["none", "learned", "sinusoidal"] = "none"
    pooling: Literal["average", "max", "attention"] = "average"
    mask_padding: bool = False
    dropout: float = 0.0
    """Dropout before the classification head."""
    head: Literal["softmax", "sigmoid"] = "softmax"
    """softmax: Dense(2, softmax) as the reference; sigmoid: one unit."""


# The shared settings plus one section per variant that has settings: model.attention, model.rnn, ...
ModelConfig = dataclasses.make_dataclass(
    "ModelConfig",
    [(v.section, v.settings, field(default_factory=v.settings)) for v in variants.VARIANTS if v.section],
    bases=(SharedModelConfig,),
    namespace={"__module__": __name__, "__doc__": "Model settings: the shared ones, and model.<section> per variant."},
)


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 512
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam"
    learning_rate: float = 1e-3
    early_stopping: bool = False
    patience: int = 3
    restore_best: bool = True
    """With early stopping, restore the best epoch's weights at the end."""
    jit_compile: bool = False
    """Compile train/predict steps with XLA (TensorFlow backend; under JAX steps are always jitted).
    Off in the shipped configs except best.yaml and default.yaml (whose results in docs/results.md
    were measured with it): it paid only where TensorFlow's default allocator page-faulted
    (bench/README.md); ``bench/run.py --quick --settings default bfc+xla`` tells for a machine."""
    crop_probability: float = 0.0
    """Chance that a training review is replaced by a random window of its tokens (word models),
    so that short inputs are seen in training; 0 turns it off."""
    crop_min_tokens: int = 3
    crop_max_tokens: int = 40
    """A window's length is drawn uniformly from [crop_min_tokens, crop_max_tokens]."""
    bucket_by_length: bool = False
    """Batch reviews of similar length together and cut each batch's padding to its longest review
    (training and validation; word models with ``model.mask_padding: true``). The model computes the
    same; attention's cost grows with the square of the length, so an epoch takes far less work."""
    calibrate: bool = True
    """Fit a softmax temperature on validation; evaluation and the export apply it."""
    final_fit: bool = False
    """After choosing on validation, retrain on train + validation for the chosen number of
    epochs; the final model is tested once. metrics.json keeps both phases' figures."""
    distribution: Literal["none", "mirrored", "multi_worker"] = "none"
    """Data-parallel training (docs/distributed.md). none: one process, as always. mirrored: one
    process, every local device (TensorFlow MirroredStrategy; JAX DataParallel over local devices).
    multi_worker: several processes, each started with the same command and ``--run-dir``
    (TensorFlow MultiWorkerMirroredStrategy from TF_CONFIG; JAX DataParallel over processes from
    KERAS_DISTRIBUTION_*). ``batch_size`` is the global batch, split over the replicas; the
    learning rate is unchanged, because the global batch is. Word-sequence variants only."""
    distribution_timeout: float = 120.0
    """Seconds a worker waits for its peers: at start-up (all must join) and for any one collective
    operation during training; then it stops with one error line instead of hanging."""
    class_weight: typing.Union[Literal["none", "balanced"], dict[str, float]] = "none"
    """How much each class's training examples count (textattn/class_weights.py; every variant, the
    n-gram ratios and the hybrid's blend). none: all alike; balanced: n / (classes * count_c);
    or a mapping {class name: weight}, classes left out weighing 1."""
    threshold: str = "argmax"
    """The decision rule, fitted on validation after calibration (textattn/thresholds.py) and served by
    the export. argmax; macro_f1: the cut (2 classes) or per-class offsets that maximize validation
    macro-F1; precision=P (2 classes): the lowest cut on the minority class's probability whose
    validation precision is at least P."""
    abstain: Optional[float] = None
    """A floor on the top class probability: below it the export answers label "unknown", label_id -1."""


@dataclass
class Config:
    name: str = "experiment"
    seed: int = 1337
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# --------------------------------------------------------------------------- #
# Building dataclasses from plain data, with type checks.


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a mapping of {} to {}".format(*(_type_name(a) for a in typing.get_args(tp)))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, where: str):
    """Return ``value`` checked against type ``tp``, or raise UserError."""
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except UserError:
                pass
        raise UserError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise UserError(f"{where}: expected one of {_type_name(tp)}, got {value!r}")
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected {_type_name(tp)}, got {value!r}")
        key_tp, value_tp = typing.get_args(tp)
        # YAML reads a class named 1 as an int key; class names are strings.
        return {
            _coerce(str(k) if isinstance(k, int) and key_tp is str else k, key_tp, where): _coerce(
                v, value_tp, f"{where}.{k}"
            )
            for k, v in value.items()
        }
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{where}: expected {_type_name(tp)}, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return dataclass_from_dict(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "2e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    raise UserError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def dataclass_from_dict(cls, data, where: str):
    """Build dataclass ``cls`` from a mapping; unknown keys and bad types raise UserError."""
    if not isinstance(data, dict):
        raise UserError(f"{where or 'config'}: expected a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in hints:
            raise UserError(f"unknown config key {path!r}; valid keys here: {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], path)
    return cls(**kwargs)


def config_from_dict(data: dict) -> Config:
    """Build a Config from nested plain data; unknown keys and bad types raise UserError."""
    config = dataclass_from_dict(Config, data or {}, "")
    validate(config)
    return config


def config_to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def read_yaml(path: str | os.PathLike, what: str = "config file", hint: str = "pass --config configs/NAME.yaml"):
    """The parsed contents of YAML file ``path``; a missing or malformed file raises UserError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UserError(f"{what} {path!r} does not exist; {hint}")
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{what} {path!r} is not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


def load_config(path: str | os.PathLike) -> Config:
    """Read a YAML config file into a Config."""
    data = read_yaml(path, hint="pass --config configs/NAME.yaml (see configs/)")
    try:
        return config_from_dict(data)
    except UserError as exc:
        raise UserError(f"{os.fspath(path)}: {exc}") from None


def save_config(config: Config, path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config_to_dict(config), f, sort_keys=False)


def all_keys(cls=Config, prefix: str = "") -> list[str]:
    """Every settable dotted key, e.g. ``model.mha.num_heads``."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            keys.extend(all_keys(hints[f.name], key + "."))
        else:
            keys.append(key)
    return keys


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    """Return a copy of ``config`` with ``key=value`` overrides applied.

    Values are parsed as YAML scalars (``3``, ``0.5``, ``true``, ``null``,
    ``[16, 20]``) and checked against the key's type.
    """
    data = config_to_dict(config)
    valid = all_keys()
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise UserError(f"override {item!r} must look like key=value, e.g. train.epochs=3")
        if key not in valid:
            raise UserError(f"unknown config key {key!r} in --set; valid keys: {', '.join(valid)}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if raw.strip() in ("|", ">"):  # YAML's block-scalar marks read as "": a lone one means itself (a separator)
            value = raw.strip()
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config_from_dict(data)


def check_distributable(config: Config) -> None:
    """What ``train.distribution`` other than none cannot run yet: UserError naming the key to change."""
    what = f"train.distribution={config.train.distribution}"
    if variants.NGRAMS in variants.variant(config.model.variant).inputs:
        raise UserError(
            f"{what} trains the word-sequence variants only; model.variant {config.model.variant!r} "
            "reads sparse n-gram bags, which the distributed input pipelines cannot split; "
            "train it with train.distribution=none"
        )
    if config.train.final_fit:
        raise UserError(f"{what} does not run train.final_fit yet; set train.final_fit=false")
    if config.train.class_weight != "none":
        raise UserError(f"{what} does not weight classes yet; set train.class_weight=none")
    if config.train.bucket_by_length:
        raise UserError(
            f"{what} needs batches of one shape, which train.bucket_by_length does not give; "
            "set train.bucket_by_length=false"
        )


def check_chunks(config: Config) -> None:
    """What ``data.long_text: chunks`` needs: UserError naming the key to change."""
    data = config.data
    if not 0 <= data.chunk_overlap < data.sequence_length:
        raise UserError(
            f"data.chunk_overlap must be at least 0 and below data.sequence_length ({data.sequence_length}) "
            f"so that windows advance, got {data.chunk_overlap}; lower it, e.g. "
            f"--set data.chunk_overlap={data.sequence_length // 4}"
        )
    if data.max_chunks < 1:
        raise UserError(f"data.max_chunks must be at least 1, got {data.max_chunks}")
    if variants.TOKEN_IDS not in variants.variant(config.model.variant).inputs:
        raise UserError(
            f"data.long_text=chunks splits the word sequence, which model.variant "
            f"{config.model.variant!r} does not read (it sees the whole text); set data.long_text=cut"
        )


def check_length_blend(config: Config) -> None:
    """What ``model.hybrid.blend: length`` needs: the validation texts in memory and one window per text."""
    if config.data.long_text == "chunks":
        raise UserError(
            "model.hybrid.blend=length weighs a text by its token count, which data.long_text=chunks spreads "
            "over windows; set model.hybrid.blend=constant or data.long_text=cut"
        )
    if config.data.source in ("shards", "prepared"):
        raise UserError(
            f"model.hybrid.blend=length reads the validation texts again, which a streamed source "
            f"({config.data.source}) does not keep; set model.hybrid.blend=constant"
        )


def validate(config: Config) -> None:
    """Cross-field and range checks that types alone cannot express."""
    positive = {
        "data.vocab_size": config.data.vocab_size,
        "data.sequence_length": config.data.sequence_length,
        "model.embedding_dim": config.model.embedding_dim,
        "train.epochs": config.train.epochs,
        "train.batch_size": config.train.batch_size,
    }
    for key, value in positive.items():
        if value < 1:
            raise UserError(f"{key} must be at least 1, got {value}")
    if config.data.vocab_size < 3:
        raise UserError("data.vocab_size must be at least 3 (padding, out-of-vocabulary and one word)")
    if config.data.validation_size is not None and config.data.validation_size < 0:
        raise UserError("data.validation_size must be 0 or more (or null for the source's default)")
    for key in ("test_fraction", "validation_fraction"):
        if not 0.0 <= getattr(config.data, key) < 1.0:
            raise UserError(f"data.{key} must be in [0, 1), got {getattr(config.data, key)}")
    if config.data.test_fraction + config.data.validation_fraction >= 1.0:
        raise UserError("data.test_fraction + data.validation_fraction must be below 1, leaving examples to train on")
    if not 0.0 <= config.train.crop_probability <= 1.0:
        raise UserError(f"train.crop_probability must be in [0, 1], got {config.train.crop_probability}")
    if not 1 <= config.train.crop_min_tokens <= config.train.crop_max_tokens:
        raise UserError("train.crop_min_tokens must be at least 1 and at most train.crop_max_tokens")
    if not variants.variant(config.model.variant).word_sequence and config.model.head != "softmax":
        raise UserError(f"model.variant {config.model.variant!r} needs model.head: softmax")
    if config.train.final_fit and config.data.validation_size == 0:
        raise UserError("train.final_fit chooses the epochs on validation; set data.validation_size above 0")
    if config.train.learning_rate <= 0:
        raise UserError(f"train.learning_rate must be positive, got {config.train.learning_rate}")
    if (
        config.train.bucket_by_length
        and variants.TOKEN_IDS in variants.variant(config.model.variant).inputs
        and not config.model.mask_padding
    ):
        raise UserError(
            "train.bucket_by_length needs model.mask_padding: true (without a mask the padding it cuts "
            "would change what the model computes); set both, or --set train.bucket_by_length=false"
        )
    if config.data.long_text == "chunks":
        check_chunks(config)
    if config.model.ngram.negation_transfer and config.data.negation == "none":
        raise UserError(
            "model.ngram.negation_transfer reads the negated words data.negation=mark makes; "
            "set --set data.negation=mark, or model.ngram.negation_transfer=false"
        )
    if config.model.variant == "hybrid" and config.model.hybrid.blend == "length":
        check_length_blend(config)
    if config.train.distribution_timeout <= 0:
        raise UserError(f"train.distribution_timeout must be positive, got {config.train.distribution_timeout}")
    if config.train.distribution != "none":
        check_distributable(config)
    threshold_spec.parse_spec(config.train.threshold)
    if config.train.abstain is not None and not 0.0 < config.train.abstain <= 1.0:
        raise UserError(
            f"train.abstain must be in (0, 1] (a floor on the top class probability) or null, "
            f"got {config.train.abstain}"
        )
    check_multi_label(config)
    variants.dropout_rate("model", config.model.dropout)
    for entry in variants.VARIANTS:
        check = getattr(entry.settings, "check", None)
        if check is not None:
            check(getattr(config.model, entry.section), entry.config_prefix)
