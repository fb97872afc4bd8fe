"""Stage 3 of a run (``train.final_fit``): every part retrained on train + validation for the chosen epochs.

Vocabularies are refitted on all of it; a hybrid's blend (and any temperature)
stays as fitted on validation.
"""

from __future__ import annotations

import dataclasses
import time

import keras

from textattn import class_weights
from textattn.config import Config
from textattn.data.run_data import RunData, load_data
from textattn.errors import UserError
from textattn.models.bag_models import assemble_hybrid, build_naive_bayes_expert, word_branch_config
from textattn.training.compile import compile_model, new_ngram_model, new_word_model
from textattn.training.hybrid import (
    blend_options,
    fit_character_member,
    fit_lexicon_branch,
    fit_ngram_branch,
    hybrid_name,
)


@dataclasses.dataclass
class FinalFit:
    """The final model, the data it was trained on (train + validation as "train"), and metrics.json's entry."""

    model: keras.Model
    data: RunData
    summary: dict


def final_fit(config: Config, chosen: dict, blend: dict | None, verbose, class_names=("neg", "pos")) -> FinalFit:
    """Retrain on train + validation: ``chosen`` {"epochs", and for a hybrid "ngram_epochs" (and
    "character_epochs")}; ``blend`` the hybrid's {"branch_weights", "bias"[, "floors", "length_weights"]}
    (``HybridFit.blend_summary``)."""
    full = dataclasses.replace(config, data=dataclasses.replace(config.data, validation_size=0))
    data = load_data(full)
    if data.class_names != list(class_names):
        raise UserError(
            f"the final fit's data has classes {data.class_names}, the run's {list(class_names)}; "
            "train with train.final_fit=false"
        )
    print(f"Final fit on all {data.count('train'):,} training reviews...", flush=True)
    start = time.perf_counter()
    variant = config.model.variant
    word_config = word_branch_config(full) if variant == "hybrid" else full
    word_model = None
    weights = class_weights.for_fit(full, data.labels("train"), data.class_names)
    if variant != "ngram":
        word_model = new_word_model(word_config, data)
        word_model.fit(
            data.dataset(word_config, "train", for_fit=True),
            epochs=chosen["epochs"],
            shuffle=False,
            verbose=verbose,
            class_weight=weights,
        )
    if variant == "hybrid":
        ngram_model, _ = fit_ngram_branch(full, data, verbose, epochs=chosen["ngram_epochs"], validate=False)
        lexicon_model = character_model = None
        if config.model.hybrid.character_ngrams:
            character_model, _ = fit_character_member(
                full, data, verbose, epochs=chosen["character_epochs"], validate=False
            )
        if config.model.hybrid.lexicon != "none":  # its table from the refitted vocabulary, its head refitted
            lexicon_model, _ = fit_lexicon_branch(full, data, verbose)
        model = assemble_hybrid(
            ngram_model,
            word_model,
            hybrid_name(config),
            blend["branch_weights"],
            blend["bias"],
            lexicon_model,
            **blend_options(blend, config),
            # The expert reads the refitted branch's ratios: those of all the training reviews.
            naive_bayes_model=build_naive_bayes_expert(ngram_model) if config.model.hybrid.naive_bayes_expert else None,
            character_model=character_model,
        )
    elif variant == "ngram":
        keras.utils.set_random_seed(config.seed)
        model = compile_model(new_ngram_model(full, data), full)
        model.fit(
            data.dataset(full, "train"), epochs=chosen["epochs"], shuffle=False, verbose=verbose, class_weight=weights
        )
    else:
        model = word_model
    summary = {
        "train_examples": int(data.count("train")),
        "fit_seconds": round(time.perf_counter() - start, 3),
        **chosen,
    }
    return FinalFit(model, data, summary)
