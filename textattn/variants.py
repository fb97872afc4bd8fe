"""Every model variant in one place: its settings, its builder, its search space and its table columns.

A variant is one ``Variant`` entry in ``VARIANTS``; whatever differs between
variants comes from its entry:

- config: ``model.variant`` accepts the entries' names, and a variant with
  settings owns the config section ``model.<section>`` (its dataclass below,
  whose ``check`` rejects bad values);
- model: a word-sequence variant has a body that sits between the token
  embeddings and the pooling and head (``BODIES`` in textattn/models/bodies.py,
  around textattn/models/token_model.py); a variant with inputs and a head of
  its own has a builder (``BUILDERS`` in textattn/models/bag_models.py);
- search space: a tune.yaml lists a variant's own hyperparameters under
  ``search.variants.<name>``, and they are the keys of ``model.<section>``;
- evaluation table: ``columns`` says how deep its attention is and how many heads.

Nothing here imports Keras, TensorFlow or the models, so configs load without
them; the models import this registry, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Optional

from textattn.errors import UserError

# Model inputs: token ids (batch, sequence_length) int32; n-gram bags (batch, V), a sparse multi-hot.
TOKEN_IDS, NGRAMS = "token_ids", "ngrams"


# --------------------------------------------------------------------------- #
# Checks the settings' ``check`` methods share.


MAX_CHARACTER_NGRAM = 8
"""The widest character n-gram: 8 characters of an alphabet of up to 232 keep int64 keys
(textattn/data/character_ngrams.py)."""


def at_least_one(where: str, **values) -> None:
    for name, value in values.items():
        if value < 1:
            raise UserError(f"{where}.{name} must be at least 1, got {value}")


def dropout_rate(where: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise UserError(f"{where}.dropout must be in [0, 1), got {value}")


# --------------------------------------------------------------------------- #
# Table columns for the evaluator: {"layers", "heads"} from (the variant's settings, the model config).


def no_attention_stack(settings, model) -> dict:
    return {"layers": 0, "heads": None}


def attention_stack(settings, model) -> dict:
    """``num_layers`` attention layers of ``num_heads`` heads (1 for single-head layers)."""
    return {"layers": settings.num_layers, "heads": getattr(settings, "num_heads", 1)}


def recurrent_attention(settings, model) -> dict:
    return {"layers": 1, "heads": None}  # one recurrent layer with attention pooling


def word_branch(settings, model) -> dict:
    """The hybrid's word branch, named ``hybrid+<branch>``; its n-gram branch has no attention to count."""
    return {**variant(settings.branch).architecture(model), "variant": f"hybrid+{settings.branch}"}


# --------------------------------------------------------------------------- #
# The variants' settings: model.<section>.


@dataclass
class AttentionConfig:
    """``keras.layers.Attention`` self-attention stack (variant ``attention``)."""

    num_layers: int = 2
    use_scale: bool = True
    score_mode: Literal["dot", "concat"] = "dot"
    dropout: float = 0.0

    def check(self, where: str) -> None:
        dropout_rate(where, self.dropout)


@dataclass
class AdditiveConfig:
    """Bahdanau additive self-attention stack (variant ``additive``)."""

    num_layers: int = 1
    units: int = 16
    implementation: Literal["bahdanau", "keras"] = "bahdanau"
    """bahdanau: textattn's layer with W_q/W_k; keras: keras.layers.AdditiveAttention."""
    dropout: float = 0.0

    def check(self, where: str) -> None:
        at_least_one(where, units=self.units)
        dropout_rate(where, self.dropout)


@dataclass
class MHAConfig:
    """``keras.layers.MultiHeadAttention`` stack (variant ``mha``)."""

    num_layers: int = 2
    num_heads: int = 2
    key_dim: int = 2
    output_dims: list[int] = field(default_factory=list)
    """Output width per layer; missing entries keep the input width."""
    dropout: float = 0.0

    def check(self, where: str) -> None:
        at_least_one(where, num_heads=self.num_heads, key_dim=self.key_dim)
        dropout_rate(where, self.dropout)


@dataclass
class TransformerConfig:
    """TransformerBlock stack (variant ``transformer``)."""

    num_layers: int = 1
    num_heads: int = 2
    key_dim: Optional[int] = None
    """Per-head key size; None means the embedding size (as the reference)."""
    ff_dim: int = 64
    dropout: float = 0.1

    def check(self, where: str) -> None:
        at_least_one(where, num_heads=self.num_heads, ff_dim=self.ff_dim)
        dropout_rate(where, self.dropout)


@dataclass
class RNNConfig:
    """Recurrent encoder with Bahdanau attention pooling (variant ``rnn_attention``)."""

    cell: Literal["lstm", "gru"] = "gru"
    units: int = 32
    bidirectional: bool = True
    attention_units: int = 32

    def check(self, where: str) -> None:
        at_least_one(where, units=self.units)


@dataclass
class NgramConfig:
    """Naive-Bayes-weighted bag of word n-grams (variant ``ngram``, and the n-gram branch of ``hybrid``)."""

    max_ngram: int = 3
    """Longest n-gram: 1 words only, 2 adds bigrams, 3 adds trigrams."""
    vocab_size: int = 800_000
    """The most frequent n-grams of the part trained on (the OOV bucket included)."""
    alpha: float = 1.0
    """Smoothing count added to every n-gram's document counts in the log-count ratios."""
    negation_transfer: bool = False
    """A negated word (``not_bad``, data.negation: mark) also carries its plain word's weight times one
    learned factor shared by all words (textattn/layers/naive_bayes_ngrams.py)."""

    def check(self, where: str) -> None:
        at_least_one(where, max_ngram=self.max_ngram)

        if self.vocab_size < 2:
            raise UserError(f"{where}.vocab_size must be at least 2 (the OOV bucket and one n-gram)")
        if self.alpha <= 0:
            raise UserError(f"{where}.alpha must be positive, got {self.alpha}")


@dataclass
class HybridConfig:
    """An n-gram branch and a word-sequence branch, blended in log space (variant ``hybrid``).

    The word branch is built from ``model.<branch>`` and trained with ``train.*``;
    the n-gram branch from ``model.ngram``, trained with the settings below. The
    blend weights are fitted on validation.
    """

    branch: str = "rnn_attention"
    """A word-sequence variant (one with a body): baseline, attention, additive, mha, transformer, rnn_attention."""
    ngram_epochs: int = 3
    ngram_learning_rate: float = 0.003
    ngram_batch_size: int = 256
    member_seeds: int = 1
    """Fit the n-gram branch and the character member this many times, each with its own shuffling seed
    (seed, seed + 1, ...), and keep the average of their weights: one member, as fast to serve, with less
    of the noise one shuffling order leaves in a short fit. The epoch kept is the one whose seeds score best
    on validation on average."""
    self_training: bool = False
    """Self-train the n-gram branch on IMDB's unlabelled reviews: label them with the branch,
    keep the confident ones, and retrain it on the labelled plus those."""
    self_training_confidence: float = 0.9
    """Keep an unlabelled review whose top class probability is at least this."""
    lexicon: Literal["none", "vader"] = "none"
    """vader: a third blend member, VADER's lexicon and rules over the word branch's token ids with a
    small head trained on the training part, its blend weight fitted on validation like the others'
    (textattn/models/lexicon.py, docs/reading.md). Needs the vaderSentiment package to train only."""
    blend: Literal["constant", "length"] = "constant"
    """constant: one weight per branch, fitted on the validation reviews. length: each weight
    ``w + v * sqrt(sequence_length / n)`` for a text of n tokens, fitted on the validation reviews plus
    each one's last sentence (textattn/training/short_text.py), so the blend learns how far to trust each
    branch on a short text."""
    word_floor: float = 1e-7
    """The word branch's probability floor in the blend: a higher floor bounds how much its
    over-confident answers on a few tokens can outweigh the n-gram branch."""
    naive_bayes_expert: bool = False
    """A blend member after the others: plain Naive Bayes over the n-gram bag, the n-gram branch's
    log-count ratios summed with nothing learned (textattn/layers/naive_bayes_evidence.py); its blend
    weight is fitted on validation like the others' (with blend: length, by the text's length)."""
    character_ngrams: list[int] = field(default_factory=list)
    """Widths of character n-grams, e.g. [3, 4, 5, 6]: a blend member after the others, a Naive-Bayes-
    weighted logistic regression over the review's character n-grams (lowercased, punctuation kept,
    across words: textattn/data/character_ngrams.py), trained with ``ngram_*`` on the labelled reviews
    alone; []: none. Serving finds them with TensorFlow ops (TensorFlow backend)."""
    character_vocab_size: int = 1_000_000
    """With ``character_ngrams``: the most frequent character n-grams of the part trained on (OOV included)."""

    def check(self, where: str) -> None:
        if any(not 1 <= w <= MAX_CHARACTER_NGRAM for w in self.character_ngrams):
            raise UserError(
                f"{where}.character_ngrams must be widths from 1 to {MAX_CHARACTER_NGRAM}, got {self.character_ngrams}"
            )
        if len(set(self.character_ngrams)) != len(self.character_ngrams):
            raise UserError(f"{where}.character_ngrams lists a width twice: {self.character_ngrams}")
        if self.character_ngrams and self.character_vocab_size < 2:
            raise UserError(f"{where}.character_vocab_size must be at least 2 (the OOV bucket and one n-gram)")
        words = [v.name for v in VARIANTS if v.word_sequence]
        if self.branch not in words:
            raise UserError(
                f"{where}.branch must be a word-sequence variant, one of {', '.join(words)}; got {self.branch!r}"
            )
        at_least_one(
            where,
            ngram_epochs=self.ngram_epochs,
            ngram_batch_size=self.ngram_batch_size,
            member_seeds=self.member_seeds,
        )
        if self.ngram_learning_rate <= 0:
            raise UserError(f"{where}.ngram_learning_rate must be positive, got {self.ngram_learning_rate}")
        if not 0.5 <= self.self_training_confidence < 1.0:
            raise UserError(f"{where}.self_training_confidence must be in [0.5, 1)")
        if not 0.0 < self.word_floor <= 0.1:
            raise UserError(f"{where}.word_floor must be in (0, 0.1], got {self.word_floor}")


# --------------------------------------------------------------------------- #
# The registry.


@dataclass(frozen=True)
class Variant:
    """One model variant: everything the config, the model builder, the search and the evaluator need."""

    name: str
    section: Optional[str] = None
    """The key of its settings under ``model.`` (``rnn`` for rnn_attention); None when it has none."""
    settings: Optional[type] = None
    """The dataclass of ``model.<section>``; a ``check(where)`` method, if it has one, raises UserError."""
    word_sequence: bool = True
    """True: a body, (embeddings (batch, length, dim), masked when model.mask_padding, Config) -> a sequence
    (batch, length, width), pooled by model.pooling, or a vector (batch, width), in the word-sequence model
    (textattn/models/bodies.py ``BODIES``). False: inputs and a softmax head of its own, built by
    (Config, ngram_vocab_size or None, num_classes) -> keras.Model (textattn/models/bag_models.py ``BUILDERS``)."""
    inputs: tuple[str, ...] = (TOKEN_IDS,)
    """What the model reads: TOKEN_IDS and/or NGRAMS (a dict of both when there are two)."""
    columns: Callable[[Any, Any], dict] = no_attention_stack
    """(its settings, the model config) -> {"layers", "heads"} for the evaluator (and "variant" to rename itself)."""

    @property
    def reads_ngrams(self) -> bool:
        return NGRAMS in self.inputs

    @property
    def config_prefix(self) -> Optional[str]:
        """``model.<section>``: the config keys, and so the hyperparameters, that belong to this variant."""
        return f"model.{self.section}" if self.section else None

    def architecture(self, model) -> dict:
        """{"variant", "layers", "heads"} of a model config (``config.model``) of this variant."""
        settings = getattr(model, self.section) if self.section else None
        return {"variant": self.name, **self.columns(settings, model)}


VARIANTS: tuple[Variant, ...] = (
    Variant("baseline"),
    Variant("attention", "attention", AttentionConfig, columns=attention_stack),
    Variant("additive", "additive", AdditiveConfig, columns=attention_stack),
    Variant("mha", "mha", MHAConfig, columns=attention_stack),
    Variant("transformer", "transformer", TransformerConfig, columns=attention_stack),
    Variant("rnn_attention", "rnn", RNNConfig, columns=recurrent_attention),
    Variant("ngram", "ngram", NgramConfig, word_sequence=False, inputs=(NGRAMS,)),
    Variant("hybrid", "hybrid", HybridConfig, word_sequence=False, inputs=(TOKEN_IDS, NGRAMS), columns=word_branch),
)
NAMES: tuple[str, ...] = tuple(v.name for v in VARIANTS)


def variant(name: str) -> Variant:
    """The registered variant called ``name``; UserError if there is none."""
    for entry in VARIANTS:
        if entry.name == name:
            return entry
    raise UserError(f"unknown model.variant {name!r}; choose one of {', '.join(NAMES)}")
