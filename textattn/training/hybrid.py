"""The hybrid: its n-gram branch (with self-training), its word branch, optional experts (a lexicon:
``model.hybrid.lexicon``; Naive Bayes: ``naive_bayes_expert``; character n-grams: ``character_ngrams``),
and their blend fitted on validation.

``fit_hybrid`` is the one path by which both ``textattn train`` and a search
trial train a hybrid; they differ only in how the word branch is fitted, which
the caller passes in (a run writes checkpoints and history, a trial keeps its
best weights in memory).
"""

from __future__ import annotations

import dataclasses
import typing

import keras
import numpy as np

from textattn import class_weights
from textattn.callbacks import EpochTimer, TrainableWeightsPerEpoch
from textattn.config import Config
from textattn.data import pipeline
from textattn.data.ngrams import concat_bags
from textattn.data.run_data import RunData
from textattn.errors import UserError
from textattn.inference import predict
from textattn.layers.log_linear_blend import EPSILON, LogLinearBlend, fit_log_linear_blend, length_factor
from textattn.models import count_params
from textattn.models.bag_models import NB_LAYER, assemble_hybrid, build_naive_bayes_expert, word_branch_config
from textattn.models.lexicon import build_lexicon_model, vader_table
from textattn.training import short_text
from textattn.training.compile import compile_model, new_character_model, new_ngram_model, new_word_model

LEXICON_EPOCHS = 5
LEXICON_LEARNING_RATE = 0.01
LEXICON_BATCH_SIZE = 256
"""The lexicon expert's head (a Dense layer on 4 features) is fitted on the training part with these."""
LENGTH_BLEND_STEPS = 3000
"""Gradient steps of the length-scaled blend's fit (its features span a wider range than the constant one's)."""

WordBranchFit = typing.Callable[[keras.Model, Config], tuple[keras.Model, typing.Any]]
"""(compiled word branch, its config) -> (the fitted branch, its history as the caller keeps it)."""


@dataclasses.dataclass
class HybridFit:
    """Both trained branches of a hybrid and the blend fitted on their validation probabilities."""

    ngram_model: keras.Model
    word_model: keras.Model
    word_history: typing.Any
    ngram_summary: dict
    weights: np.ndarray
    bias: np.ndarray
    branch_val: list[np.ndarray]
    """Each member's validation probabilities (N, classes): n-gram, word, then lexicon, Naive Bayes, characters."""
    lexicon_model: keras.Model | None = None
    lexicon_summary: dict | None = None
    length_check: dict | None = None
    floors: list[float] | None = None
    """Each branch's probability floor in the blend (``LogLinearBlend``); None: 1e-7 each."""
    length_weights: np.ndarray | None = None
    """``model.hybrid.blend: length``: each branch's weight per unit of ``length_factor``."""
    val_length_factors: np.ndarray | None = None
    """``length_factor`` of each validation review's token count (N,), with ``length_weights``."""
    sentences: dict | None = None
    """``model.hybrid.blend: length``: what the short validation sentences were and how the blend does on them."""
    naive_bayes_model: keras.Model | None = None
    """``model.hybrid.naive_bayes_expert``: the n-gram branch's ratios as a member of their own."""
    character_model: keras.Model | None = None
    """``model.hybrid.character_ngrams``: the character member, the blend's last."""
    character_summary: dict | None = None

    def assemble(self, config: Config) -> keras.Model:
        """One model of the branches and the blend: {token_ids, ngrams} -> class probabilities."""
        return assemble_hybrid(
            self.ngram_model,
            self.word_model,
            hybrid_name(config),
            self.weights,
            self.bias,
            self.lexicon_model,
            **blend_options(self.blend_summary(), config),
            naive_bayes_model=self.naive_bayes_model,
            character_model=self.character_model,
        )

    def blend_summary(self) -> dict:
        summary = {"branch_weights": [float(w) for w in self.weights], "bias": [float(b) for b in self.bias]}
        if self.floors is not None:
            summary["floors"] = [float(f) for f in self.floors]
        if self.length_weights is not None:
            summary["length_weights"] = [float(v) for v in self.length_weights]
        if self.sentences is not None:
            summary["sentences"] = self.sentences
        if self.length_check is not None:
            summary["length_check"] = self.length_check
        return summary

    def val_accuracy(self, labels: np.ndarray) -> float:
        """The blend's accuracy on validation, from the branches' probabilities (no hybrid model built)."""
        if self.length_weights is not None:
            probs = blend_probabilities(
                self.branch_val, self.weights, self.bias, self.floors, self.length_weights, self.val_length_factors
            )
            return float((probs.argmax(axis=1) == labels).mean())
        num_classes = self.branch_val[0].shape[1]
        blend = LogLinearBlend(len(self.branch_val), num_classes, floors=self.floors)
        blend.build([(None, num_classes)] * len(self.branch_val))
        blend.set_blend(self.weights, self.bias)
        probs = keras.ops.convert_to_numpy(blend([keras.ops.convert_to_tensor(p) for p in self.branch_val]))
        return float((probs.argmax(axis=1) == labels).mean())

    def params(self) -> dict:
        """The trained members' parameter counts added (both branches, and the character member): {total,
        non_embedding}."""
        counts = [count_params(m) for m in (self.ngram_model, self.word_model, self.character_model) if m is not None]
        return {k: sum(c[k] for c in counts) for k in ("total", "non_embedding")}


def blend_options(summary: dict, config: Config) -> dict:
    """``assemble_hybrid``'s keyword arguments for the blend's floors and length scaling, from
    ``HybridFit.blend_summary()`` (also metrics.json's ``branches.blend``)."""
    if "floors" not in summary:
        return {}
    return {
        "floors": summary["floors"],
        "length_weights": summary.get("length_weights"),
        "reference_length": config.data.sequence_length,
    }


def blend_probabilities(branch_probabilities, weights, bias, floors=None, length_weights=None, length_factors=None):
    """NumPy twin of ``LogLinearBlend``: float64 (N, C) from the members' (N, C) probabilities."""
    floors = floors if floors is not None else [EPSILON] * len(branch_probabilities)
    logits = np.asarray(bias, np.float64)[None, :]
    for i, (p, floor) in enumerate(zip(branch_probabilities, floors)):
        weight = weights[i] + (
            length_weights[i] * np.asarray(length_factors)[:, None] if length_weights is not None else 0
        )
        logits = logits + weight * np.log(np.clip(np.asarray(p, np.float64), floor, 1.0))
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def hybrid_name(config: Config) -> str:
    return config.name.replace("-", "_") or "hybrid"


def fit_hybrid(config: Config, data: RunData, verbose, fit_word_branch: WordBranchFit) -> HybridFit:
    """Train the n-gram branch, then the word branch (by ``fit_word_branch``), then fit their blend on validation."""
    print("Hybrid: training the n-gram branch...", flush=True)
    ngram_model, ngram_summary = fit_ngram_branch(config, data, verbose)
    print(
        f"Hybrid: n-gram branch best val_accuracy {ngram_summary['best_val_accuracy']:.4f} "
        f"at epoch {ngram_summary['best_epoch']}; training the {config.model.hybrid.branch} branch...",
        flush=True,
    )
    word_config = word_branch_config(config)
    word_model, word_history = fit_word_branch(new_word_model(word_config, data), word_config)
    branch_val = [
        predict(ngram_model, config, data, "val", "ngram"),
        predict(word_model, config, data, "val", word_config.model.variant),
    ]
    lexicon_model = lexicon_summary = length = None
    sample_weight = class_weights.sample_weights(config, data.labels("val"), data.class_names)
    if config.model.hybrid.lexicon != "none":
        lexicon_model, lexicon_summary = fit_lexicon_branch(config, data, verbose)
        branch_val.append(predict(lexicon_model, config, data, "val", word_config.model.variant))
        lexicon_summary["best_val_accuracy"] = float((branch_val[2].argmax(axis=1) == data.labels("val")).mean())
        token_ids, _ = data.inputs(word_config.model.variant, "val")
        length = length_check(branch_val, data.labels("val"), np.count_nonzero(token_ids, axis=1), sample_weight)
    settings = config.model.hybrid
    naive_bayes_model = None
    if settings.naive_bayes_expert:
        naive_bayes_model = build_naive_bayes_expert(ngram_model)
        branch_val.append(predict(naive_bayes_model, config, data, "val", "ngram"))
    character_model = character_summary = None
    if settings.character_ngrams:
        print("Hybrid: training the character n-gram member...", flush=True)
        character_model, character_summary = fit_character_member(config, data, verbose)
        branch_val.append(predict(character_model, config, data, "val", "ngram"))
    floors = None
    if settings.word_floor != EPSILON or settings.blend == "length":
        floors = [EPSILON, settings.word_floor] + [EPSILON] * (len(branch_val) - 2)
    fit = HybridFit(
        ngram_model=ngram_model,
        word_model=word_model,
        word_history=word_history,
        ngram_summary=ngram_summary,
        weights=None,  # fitted below
        bias=None,
        branch_val=branch_val,
        lexicon_model=lexicon_model,
        lexicon_summary=lexicon_summary,
        length_check=length,
        floors=floors,
        naive_bayes_model=naive_bayes_model,
        character_model=character_model,
        character_summary=character_summary,
    )
    if settings.blend == "length":
        members = [(ngram_model, "ngrams"), (word_model, "token_ids")]
        if lexicon_model is not None:
            members.append((lexicon_model, "token_ids"))
        if naive_bayes_model is not None:
            members.append((naive_bayes_model, "ngrams"))
        if character_model is not None:
            members.append((character_model, "ngrams"))
        fit_length_blend(fit, config, data, members, sample_weight)
    else:
        fit.weights, fit.bias = fit_log_linear_blend(
            branch_val, data.labels("val"), sample_weight=sample_weight, floors=floors
        )
    return fit


def fit_length_blend(fit: HybridFit, config: Config, data: RunData, members, sample_weight) -> None:
    """Fit ``fit``'s blend length-scaled, on the validation reviews plus their last sentences (``short_text``).

    Sets its weights, bias, length weights, the validation reviews' length factors, and ``sentences``:
    how many, their median token count, the blend's and each member's accuracy on them.
    """
    if data.streamed:
        raise UserError(
            "model.hybrid.blend=length reads the validation texts again, which a streamed source does not keep; "
            "set model.hybrid.blend=constant"
        )
    texts, sentence_labels = short_text.validation_sentences(config)
    print(f"Hybrid: fitting a length-scaled blend on validation plus {len(texts)} of its last sentences...", flush=True)
    sentence_probs, counts = short_text.branch_probabilities(members, short_text.serving_parts(config, data), texts)
    sentence_factors = np.asarray(length_factor(counts, config.data.sequence_length))
    token_ids, _ = data.inputs(word_branch_config(config).model.variant, "val")
    fit.val_length_factors = np.asarray(length_factor(np.count_nonzero(token_ids, axis=1), config.data.sequence_length))
    weights_all = None
    if sample_weight is not None:
        weights_all = np.concatenate(
            [sample_weight, class_weights.sample_weights(config, sentence_labels, data.class_names)]
        )
    fit.weights, fit.bias, fit.length_weights = fit_log_linear_blend(
        [np.concatenate([v, s]) for v, s in zip(fit.branch_val, sentence_probs)],
        np.concatenate([data.labels("val"), sentence_labels]),
        sample_weight=weights_all,
        floors=fit.floors,
        length_factors=np.concatenate([fit.val_length_factors, sentence_factors]),
        steps=LENGTH_BLEND_STEPS,
    )
    blended = blend_probabilities(
        sentence_probs, fit.weights, fit.bias, fit.floors, fit.length_weights, sentence_factors
    )
    fit.sentences = {
        "count": len(texts),
        "median_tokens": float(np.median(counts)),
        "blend_accuracy": float((blended.argmax(axis=1) == sentence_labels).mean()),
        "member_accuracy": [float((p.argmax(axis=1) == sentence_labels).mean()) for p in sentence_probs],
    }


def fit_lexicon_branch(config: Config, data: RunData, verbose) -> tuple[keras.Model, dict]:
    """The lexicon expert: its table built from the run's word vocabulary and the lexicon (at training time),
    its head fitted on the training part (``LEXICON_*``)."""
    word_config = word_branch_config(config)
    keras.utils.set_random_seed(config.seed)
    vocabulary = data.vocabulary
    model = build_lexicon_model(len(vocabulary), None, data.num_classes, vader_table(vocabulary))
    compile_model(model, word_config, LEXICON_LEARNING_RATE)
    labels = data.labels("train")
    model.fit(
        data.dataset(word_config, "train", batch_size=LEXICON_BATCH_SIZE),
        epochs=LEXICON_EPOCHS,
        shuffle=False,
        verbose=verbose,
        class_weight=class_weights.for_fit(config, labels, data.class_names),
    )
    return model, {"lexicon": config.model.hybrid.lexicon, "epochs": LEXICON_EPOCHS, "train_examples": len(labels)}


def length_check(branch_val, labels, lengths, sample_weight=None) -> dict:
    """Would the lexicon expert's blend weight gain from depending on the text's length? Measured on validation.

    The blend with a constant weight per member against one whose lexicon weight is ``a + b * f(n)``,
    ``f(n) = sqrt(256 / n)`` for a text of ``n`` tokens (a short text has less n-gram evidence): the
    term ``b * f(n) * log p_lexicon`` is a fourth member, ``p_lexicon ** f(n)`` renormalised (a row's
    constant cancels in the softmax). Both are fitted on one half of validation (even rows, then odd)
    and scored on the other; the negative log-likelihood and accuracy of the held-out halves are reported.
    """
    labels = np.asarray(labels)
    f = np.sqrt(256.0 / np.maximum(np.asarray(lengths, np.float64), 1.0))[:, None]
    log_lexicon = np.log(np.clip(branch_val[2], 1e-7, 1.0)) * f
    scaled = np.exp(log_lexicon - log_lexicon.max(axis=1, keepdims=True))
    scaled = scaled / scaled.sum(axis=1, keepdims=True)
    variants = {"constant": list(branch_val), "length": [*branch_val, scaled]}
    halves = [np.arange(len(labels)) % 2 == 0, np.arange(len(labels)) % 2 == 1]
    result = {}
    for name, members in variants.items():
        nll, correct = 0.0, 0
        for fit_rows, score_rows in (halves, halves[::-1]):
            weight = None if sample_weight is None else np.asarray(sample_weight)[fit_rows]
            a, b = fit_log_linear_blend([m[fit_rows] for m in members], labels[fit_rows], sample_weight=weight)
            logits = sum(w * np.log(np.clip(m[score_rows], 1e-7, 1.0)) for w, m in zip(a, members)) + b
            logits = logits - logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            nll -= float(log_p[np.arange(score_rows.sum()), labels[score_rows]].sum())
            correct += int((log_p.argmax(axis=1) == labels[score_rows]).sum())
        result[name] = {"held_out_nll": round(nll / len(labels), 5), "held_out_accuracy": correct / len(labels)}
    a, _ = fit_log_linear_blend(variants["length"], labels, sample_weight=sample_weight)
    result["length_weights"] = [float(w) for w in a]
    result["tokens_median"] = float(np.median(lengths))
    result["under_50_tokens"] = int((np.asarray(lengths) < 50).sum())
    return result


def fit_ngram_branch(
    config: Config, data: RunData, verbose, epochs: int | None = None, validate: bool = True
) -> tuple[keras.Model, dict]:
    """The hybrid's n-gram branch, trained with ``model.hybrid.ngram_*``; best epoch by validation kept.

    With ``model.hybrid.self_training`` the trained branch labels the unlabelled
    reviews; those it is confident about (top class probability at least
    ``self_training_confidence``) join the training part with their arg-max
    class as label (for the log-count ratios too) and a fresh branch is trained
    on all of them.
    """
    h = config.model.hybrid
    model, summary = _fit_ngram_model(config, data, None, None, verbose, epochs, validate)
    unsup = None if data.streamed else data.ngrams.unsup
    if h.self_training and unsup is None:
        print(f"Self-training skipped: {data.source} has no unlabelled texts (only IMDB has them)", flush=True)
    if h.self_training and unsup is not None:
        ds = pipeline.make_dataset(unsup, np.zeros(len(unsup), np.int32), 512, ngram_vocab_size=data.ngram_vocab_size)
        probabilities = np.asarray(model.predict(ds, verbose=0))
        confident = np.where(probabilities.max(axis=1) >= h.self_training_confidence)[0]
        pseudo = unsup.take(confident)
        bags = pipeline.NgramBags(*concat_bags(data.ngrams.train, pseudo))
        labels = np.concatenate([data.tokens.y_train, probabilities[confident].argmax(axis=1).astype(np.int32)])
        teacher = summary
        model, summary = _fit_ngram_model(
            config, data, bags, labels, verbose, epochs or (teacher.get("best_epoch") if validate else None), validate
        )
        summary["self_training"] = {
            "unlabeled": int(len(unsup)),
            "pseudo_labelled": int(len(confident)),
            "confidence": h.self_training_confidence,
            "teacher": teacher,
        }
        summary["fit_seconds"] = round(summary["fit_seconds"] + teacher["fit_seconds"], 3)
    return model, summary


def fit_character_member(
    config: Config, data: RunData, verbose, epochs: int | None = None, validate: bool = True
) -> tuple[keras.Model, dict]:
    """The character member (``model.hybrid.character_ngrams``), trained as the n-gram branch is
    (``model.hybrid.ngram_*``, best epoch by validation kept) on the labelled training part alone:
    self-training it on the unlabelled reviews made the blend worse (docs/reading.md, lever 10)."""
    model, summary = _fit_ngram_model(config, data, None, None, verbose, epochs, validate, characters=True)
    summary["character_ngrams"] = list(config.model.hybrid.character_ngrams)
    summary["vocab_size"] = int(data.ngram_vocab_size - data.word_ngram_columns + 1)
    return model, summary


def _fit_ngram_model(config: Config, data: RunData, bags, labels, verbose, epochs, validate, characters=False):
    """Fit a fresh n-gram model (``characters``: the character member) on ``bags``/``labels`` (None: the
    data's training part), once per seed of ``model.hybrid.member_seeds`` (config.seed, + 1, ...).

    The model returned holds the seeds' trainable weights averaged, after the epoch kept: with
    ``validate`` the one with the best validation accuracy averaged over the seeds, else the last.
    """
    h = config.model.hybrid
    fits = [
        _fit_one_ngram_model(
            dataclasses.replace(config, seed=config.seed + i), data, bags, labels, verbose, epochs, validate, characters
        )
        for i in range(h.member_seeds)
    ]
    model = fits[0][0]
    per_epoch = np.mean([fit[1]["val_accuracy"] for fit in fits], axis=0) if validate else None
    kept = int(np.argmax(per_epoch)) if validate else len(fits[0][2]) - 1  # the first best, as KeepBestWeights
    for i, variable in enumerate(model.trainable_weights):
        values = [fit[2][kept][i] for fit in fits]
        variable.assign(values[0] if len(values) == 1 else np.mean(values, axis=0))
    seconds = sum(float(sum(fit[1].get("epoch_seconds", []))) for fit in fits)
    examples = data.count("train") if labels is None else len(labels)
    summary = {"epochs_run": len(fits[0][2]), "fit_seconds": round(seconds, 3), "train_examples": int(examples)}
    if config.model.ngram.negation_transfer and not characters:
        summary["negated_words"] = int(
            np.count_nonzero(keras.ops.convert_to_numpy(model.get_layer(NB_LAYER).plain_word))
        )
        summary["negation_factor"] = float(keras.ops.convert_to_numpy(model.get_layer(NB_LAYER).negation_factor))
    if validate:
        best = float(per_epoch[kept])
        if len(fits) > 1:  # the average of the seeds' weights is a model of its own: score it
            best = float(model.evaluate(fits[0][3], verbose=0, return_dict=True)["accuracy"])
            summary["seeds_val_accuracy_per_epoch"] = [[round(v, 5) for v in fit[1]["val_accuracy"]] for fit in fits]
        summary.update(
            best_val_accuracy=best,
            best_epoch=kept + 1,
            val_accuracy_per_epoch=[round(float(v), 5) for v in per_epoch],
        )
    if len(fits) > 1:
        summary["member_seeds"] = len(fits)
    return model, summary


def _fit_one_ngram_model(config: Config, data: RunData, bags, labels, verbose, epochs, validate, characters):
    """One fit of ``_fit_ngram_model``, shuffled by ``config.seed``: (model, its history, its trainable
    weights after each epoch, the validation dataset or None)."""
    h = config.model.hybrid
    keras.utils.set_random_seed(config.seed)
    fresh = new_character_model(config, data) if characters else new_ngram_model(config, data, bags, labels)
    model = compile_model(fresh, config, h.ngram_learning_rate)
    per_epoch = TrainableWeightsPerEpoch()
    if bags is None:
        train_ds = data.dataset(config, "train", "ngram", batch_size=h.ngram_batch_size)
    else:
        train_ds = pipeline.make_dataset(
            bags, labels, h.ngram_batch_size, config.seed, ngram_vocab_size=data.ngram_vocab_size
        )
    weights = class_weights.for_fit(config, data.labels("train") if labels is None else labels, data.class_names)
    val_ds = class_weights.weigh_validation(data.dataset(config, "val", "ngram"), weights) if validate else None
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs or h.ngram_epochs,
        callbacks=[EpochTimer(), per_epoch],
        shuffle=False,
        verbose=verbose,
        class_weight=weights,
    )
    return model, history.history, per_epoch.weights, val_ds
