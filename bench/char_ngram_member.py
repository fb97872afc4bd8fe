"""Would a character n-gram member add to a hybrid's blend? Measured on held-out validation (docs/reading.md).

    python bench/char_ngram_member.py RUN_DIR [--vocab-size 1000000] [--ngrams 3 4 5 6] [--self-training]
        [--suite tests/data/behaviour_v2.tsv] [--test-once FINAL_RUN]

RUN_DIR is a hybrid run trained with ``train.final_fit: false`` (``bench/short_text_blend.py``'s
condition: its branches never saw validation). A fourth kind of evidence is fitted on the run's training
part alone, the way the n-gram branch is (without self-training): the reviews, lowercased with HTML
breaks as spaces and punctuation kept, become multi-hot bags of their character n-grams (spaces
included, so n-grams cross word boundaries: ``keras.layers.TextVectorization(split="character")``);
``NaiveBayesNgramLogits`` over them, its log-count ratios from the training part, then trained with
``model.hybrid.ngram_*`` and the best epoch on validation kept. Its probabilities join the run's
members, and ``short_text_blend.compare`` fits each blend on validation half A and scores half B,
with and without the character member. Test reviews are read only with ``--test-once FINAL_RUN``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import short_text_blend  # noqa: E402

from textattn.startup import configure_process  # noqa: E402


def character_member(
    config,
    fit_texts,
    fit_labels,
    val_texts,
    val_labels,
    vocab_size: int,
    ngrams: tuple,
    unlabelled_texts=None,
    epochs: int | None = None,
):
    """A trained character n-gram model and the vectorizer it reads: raw text (M,) -> probabilities (M, C).
    The returned function's ``best_epoch`` is the epoch kept (by validation accuracy).

    ``val_texts`` None: no validation; ``epochs`` (default ``model.hybrid.ngram_epochs``) are all run,
    as a final fit does. With ``unlabelled_texts``, self-trained as the n-gram branch is: the member
    labels them, those it gives at least ``model.hybrid.self_training_confidence`` join the training
    part, and a fresh member is fitted.
    """
    import keras

    from textattn.data.character_ngrams import adapt_character_vectorizer
    from textattn.data.ngrams import concat_bags, texts_to_bags
    from textattn.data.pipeline import NgramBags, make_dataset
    from textattn.layers.naive_bayes_ngrams import class_document_counts, ratios_from_counts
    from textattn.models.bag_models import NB_LAYER, build_ngram_model
    from textattn.training.compile import compile_model

    started = time.perf_counter()
    vectorizer = adapt_character_vectorizer(fit_texts, vocab_size, ngrams)
    size = vectorizer.vocabulary_size()
    fit_bags = NgramBags(*texts_to_bags(vectorizer, fit_texts))
    print(f"character n-grams {ngrams}: {size:,} in the vocabulary, bags in {time.perf_counter() - started:.0f} s")

    num_classes = int(fit_labels.max()) + 1
    char_config = dataclasses.replace(
        config,
        model=dataclasses.replace(
            config.model, ngram=dataclasses.replace(config.model.ngram, negation_transfer=False, vocab_size=size)
        ),
    )
    h = config.model.hybrid
    epochs = epochs or h.ngram_epochs
    val = None
    if val_texts is not None:
        val_bags = NgramBags(*texts_to_bags(vectorizer, val_texts))
        val = make_dataset(val_bags, val_labels, 512, ngram_vocab_size=size)
    best_epochs = []

    def fit(bags, labels):
        keras.utils.set_random_seed(config.seed)
        model = build_ngram_model(char_config, size, num_classes, name="character_ngrams")
        counts = class_document_counts(bags, labels, size, num_classes)
        model.get_layer(NB_LAYER).set_log_count_ratios(ratios_from_counts(counts, config.model.ngram.alpha))
        compile_model(model, char_config, h.ngram_learning_rate)
        train = make_dataset(bags, labels, h.ngram_batch_size, config.seed, ngram_vocab_size=size)
        started = time.perf_counter()
        if val is None:
            model.fit(train, epochs=epochs, verbose=0)
            print(
                f"character member on {len(labels):,} reviews, {epochs} epochs (fit {time.perf_counter() - started:.0f} s)"
            )
            best_epochs.append(epochs)
            return model
        best = keras.callbacks.EarlyStopping("val_accuracy", patience=epochs, restore_best_weights=True)
        history = model.fit(train, validation_data=val, epochs=epochs, callbacks=[best], verbose=0)
        accuracies = history.history["val_accuracy"]
        best_epochs.append(int(np.argmax(accuracies)) + 1)
        print(
            f"character member on {len(labels):,} reviews: val accuracy per epoch "
            + " ".join(f"{a:.4f}" for a in accuracies)
            + f" (fit {time.perf_counter() - started:.0f} s)"
        )
        return model

    model = fit(fit_bags, fit_labels)
    if unlabelled_texts is not None:
        unlabelled = NgramBags(*texts_to_bags(vectorizer, list(unlabelled_texts)))
        ds = make_dataset(unlabelled, np.zeros(len(unlabelled), np.int32), 512, ngram_vocab_size=size)
        probabilities = model.predict(ds, verbose=0)
        confident = np.where(probabilities.max(axis=1) >= h.self_training_confidence)[0]
        bags = NgramBags(*concat_bags(fit_bags, unlabelled.take(confident)))
        labels = np.concatenate([fit_labels, probabilities[confident].argmax(axis=1).astype(fit_labels.dtype)])
        print(f"self-training: {len(confident):,} of {len(unlabelled):,} unlabelled reviews labelled")
        model = fit(bags, labels)

    def probabilities(texts):
        bags = NgramBags(*texts_to_bags(vectorizer, list(texts)))
        ds = make_dataset(bags, np.zeros(len(bags), np.int32), 512, ngram_vocab_size=size)
        return model.predict(ds.map(lambda x, y: x), verbose=0)

    probabilities.best_epoch = best_epochs[-1]
    return probabilities


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--vocab-size", type=int, default=1_000_000)
    parser.add_argument("--ngrams", type=int, nargs="+", default=[3, 4, 5, 6])
    parser.add_argument("--self-training", action="store_true", help="self-train it on IMDB's unlabelled reviews")
    parser.add_argument("--suite", help="also score this behavioural suite (a measurement only: never chosen on)")
    parser.add_argument(
        "--test-once",
        metavar="FINAL_RUN",
        help="the same config trained to the end (train.final_fit: true): test accuracy with and without the member",
    )
    parser.add_argument("--floor", type=float, default=0.01, help="the word branch's floor in the length blend")
    args = parser.parse_args(argv)
    configure_process()
    from textattn import runs
    from textattn.data.pipeline import split_texts
    from textattn.training import short_text

    data = short_text_blend.branch_probabilities(args.run_dir)
    config = runs.load_config(args.run_dir)  # the run's resolved config; its model is loaded above
    splits = split_texts(config.data, config.seed)
    unlabelled = None
    if args.self_training:
        from textattn.data.pipeline import read_texts
        from textattn.data.source import source_of

        unlabelled = read_texts(source_of(config.data), ("unsup",), config.data.cache_dir, config.data.order)["unsup"][
            0
        ]
    val_texts, val_labels = splits.validation
    char_probs = character_member(
        config,
        list(splits.fit[0]),
        np.asarray(splits.fit[1]),
        list(val_texts),
        np.asarray(val_labels),
        args.vocab_size,
        tuple(args.ngrams),
        unlabelled,
    )
    sentences = [short_text.last_sentence(t) for t in val_texts]
    sentences = [s for s in sentences if s is not None]
    member = {"val": char_probs(list(val_texts)), "sentences": char_probs(sentences)}
    char_probs.val, char_probs.sentences = member["val"], member["sentences"]
    print(f"character member alone: val {(member['val'].argmax(1) == data['val'][1]).mean():.4f}")

    with_char = dict(data)
    for key in ("val", "sentences"):
        probs, labels, factors = data[key]
        with_char[key] = (list(probs) + [member[key]], labels, factors)
    print(f"{len(data['val'][1]):,} validation reviews, {len(data['sentences'][1]):,} of their last sentences")
    print("| members | blend (fitted on half A) | half B reviews: acc | log-loss | half B sentences: acc | log-loss |")
    print("|---|---|---|---|---|---|")
    for label, members in (("the run's", data), ("the run's + characters", with_char)):
        for name, va, vl, sa, sl in short_text_blend.compare(members, [args.floor]):
            print(f"| {label} | {name} | {va:.4f} | {vl:.4f} | {sa:.4f} | {sl:.4f} |")
    if args.suite:
        suite_scores(args.run_dir, data, char_probs, args.suite, args.floor)
    if args.test_once:
        test_once(args.test_once, config, splits, data, char_probs, args)


def recipe_blend(config, data: dict, char_probs, with_char: bool, floor: float) -> tuple:
    """The blend fitted on all of validation the way ``config`` fits it: (weights, bias, floors, length weights).

    ``model.hybrid.blend: length``: on the reviews and their last sentences, the word branch floored at
    ``floor``; ``constant``: on the reviews alone (floors and length weights None)."""
    from textattn.layers.log_linear_blend import fit_log_linear_blend

    val, sen = data["val"], data["sentences"]
    if config.model.hybrid.blend != "length":
        members = list(val[0]) + ([char_probs.val] if with_char else [])
        return (*fit_log_linear_blend(members, val[1]), None, None)
    members = [np.concatenate([v, s]) for v, s in zip(val[0], sen[0])]
    if with_char:
        members.append(np.concatenate([char_probs.val, char_probs.sentences]))
    floors = [1e-7, floor] + [1e-7] * (len(members) - 2)
    labels, lengths = np.concatenate([val[1], sen[1]]), np.concatenate([val[2], sen[2]])
    weights, bias, length_weights = fit_log_linear_blend(
        members, labels, floors=floors, length_factors=lengths, steps=3000
    )
    return weights, bias, floors, length_weights


def suite_scores(run_dir: str, data: dict, char_probs, suite: str, floor: float) -> None:
    """The suite's pass rates of the blend fitted on all of validation (``recipe_blend``), with and without
    the character member (the run's models, so no final fit: not the shipped model's figures)."""
    from textattn import serving
    from textattn.evaluation.behaviour import load_suite, score_suite
    from textattn.training.hybrid import blend_probabilities

    parts, model = serving.load_serving_parts(run_dir)
    cases = load_suite(suite)
    texts = [case.text for case in cases]
    members, factors = short_text_blend.member_scorer(parts, model)(texts)
    char_members = char_probs(texts)
    for label, with_char in (("the run's", False), ("the run's + characters", True)):
        w, b, floors, v = recipe_blend(parts.config, data, char_probs, with_char, floor)
        blended = blend_probabilities(list(members) + ([char_members] if with_char else []), w, b, floors, v, factors)
        result = score_suite(lambda _, p=blended: p, cases)  # the suite's texts, in its order
        by = ", ".join(f"{k} {c['pass_rate']:.3f}" for k, c in result["by_category"].items())
        length = "" if v is None else f" + {np.round(v, 2)} x length"
        print(f"suite {suite}, {label}: {result['pass_rate']:.3f} ({by}); blend {np.round(w, 2)}{length}")


def test_once(final_dir: str, config, splits, data: dict, char_probs, args) -> None:
    """Test accuracy and ECE of the final run ``final_dir`` (the same config trained to the end), with and
    without the character member: the member refitted on all training reviews for its chosen epochs, the
    blends ``recipe_blend`` fitted on the choosing run's validation. Reads the test reviews: run it once."""
    from textattn import serving
    from textattn.evaluation.calibration import expected_calibration_error
    from textattn.training.hybrid import blend_probabilities

    fit_texts = list(splits.fit[0]) + list(splits.validation[0])
    fit_labels = np.concatenate([splits.fit[1], splits.validation[1]])
    final_member = character_member(
        config, fit_texts, fit_labels, None, None, args.vocab_size, tuple(args.ngrams), epochs=char_probs.best_epoch
    )
    parts, model = serving.load_serving_parts(final_dir)
    test_texts, test_labels = list(splits.test[0]), np.asarray(splits.test[1])
    members, factors = short_text_blend.member_scorer(parts, model)(test_texts)
    char_test = final_member(test_texts)
    print(f"character member alone on test: {(char_test.argmax(1) == test_labels).mean():.4f}")
    for label, with_char in (("without", False), ("with the character member", True)):
        w, b, floors, v = recipe_blend(config, data, char_probs, with_char, args.floor)
        probs = blend_probabilities(list(members) + ([char_test] if with_char else []), w, b, floors, v, factors)
        accuracy = (probs.argmax(1) == test_labels).mean()
        print(f"test {label}: accuracy {accuracy:.4f}, ECE {expected_calibration_error(test_labels, probs):.4f}")


if __name__ == "__main__":
    from textattn.errors import run_cli

    sys.exit(run_cli(main, None))  # a wrong run directory or data path: one "error:" line, exit status 2
