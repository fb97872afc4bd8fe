"""Negation scope marking (data.negation) and counterfactual training text (data.counterfactual)."""

import os
import random
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_config

from textattn import export, runs, serving
from textattn.config import DataConfig, apply_overrides
from textattn.data import counterfactual, negation, ngrams, pipeline
from textattn.data import text as text_module
from textattn.data.text import (
    make_vectorizer,
    standardize_review,
    standardize_review_marking_near_negation,
    standardize_review_marking_negation,
    standardizer,
    texts_to_ids,
)
from textattn.errors import UserError


def marked(text: str) -> str:
    return standardize_review_marking_negation(tf.constant([text])).numpy()[0].decode()


# --------------------------------------------------------------------------- #
# Scopes.


def test_scope_runs_from_the_negator_to_the_punctuation():
    assert marked("This is not bad at all, the ending drags.") == "this is not not_bad not_at not_all the ending drags"
    assert marked("Two hours of my life I will never get back.") == "two hours of my life i will never not_get not_back"


def test_but_and_other_contrast_words_end_a_scope_unmarked():
    assert marked("not great but fun") == "not not_great but fun"
    assert marked("It was not good however the cast shines") == "it was not not_good however the cast shines"


def test_nt_contractions_with_or_without_apostrophe():
    assert marked("I didn't like it") == "i didnt not_like not_it"
    assert marked("Don’t go") == "don’t not_go"  # a curly apostrophe is not ASCII punctuation: the token keeps it
    assert marked("it isnt good; cannot recommend it") == "it isnt not_good cannot not_recommend not_it"


def test_each_negator_opens_a_scope_and_words_merely_like_them_do_not():
    for negator in ("no", "never", "nothing", "nobody", "without", "hardly", "neither", "nor"):
        assert marked(f"{negator} fun here. great") == f"{negator} not_fun not_here great"
    assert marked("I want a notebook, knot and note") == "i want a notebook knot and note"


def test_the_break_tag_and_the_row_start_end_scopes():
    texts = tf.constant(["not good<br />fun", "fun", "", "   ", "never."])
    out = [t.decode() for t in standardize_review_marking_negation(texts).numpy()]
    assert out == ["not not_good not_fun", "fun", "", "", "never"]  # <br /> is not a clause end (it is a space)


def test_shape_is_kept_and_only_prefixes_differ_from_the_plain_standardizer():
    texts = tf.constant([["Not GOOD!", "loved it, really"], ["a <br/>b", "x"]])
    out = standardize_review_marking_negation(texts)
    assert out.shape == (2, 2)
    for got, plain in zip(out.numpy().ravel(), standardize_review(texts).numpy().ravel()):
        assert [w.removeprefix("not_") for w in got.decode().split()] == plain.decode().split()
    assert standardize_review_marking_negation(tf.constant("not it")).numpy() == b"not not_it"


def test_none_is_the_plain_standardizer_itself():
    assert standardizer("none") is standardize_review
    assert standardizer() is standardize_review
    assert standardizer("mark") is standardize_review_marking_negation


def test_marking_standardizers_are_registered_for_safe_loading():
    for function in (standardize_review_marking_negation, standardize_review_marking_near_negation):
        name = keras.saving.get_registered_name(function)
        assert name == f"textattn>{function.__name__}"
        assert keras.saving.get_registered_object(name) is function


def near(text: str) -> str:
    return standardize_review_marking_near_negation(tf.constant([text])).numpy()[0].decode()


def test_near_scopes_hold_at_most_three_words_after_their_negator():
    assert standardizer("mark_near") is standardize_review_marking_near_negation
    assert near("It is not what I expected from such a bad director.") == (
        "it is not not_what not_i not_expected from such a bad director"
    )
    assert marked("It is not what I expected from such a bad director.").endswith("not_bad not_director")
    assert near("not at all bad, but the ending drags") == "not not_at not_all not_bad but the ending drags"
    assert near("I wasn't bored for a second. Never again!") == "i wasnt not_bored not_for not_a second never not_again"
    # A later negator restarts the count; clause ends and contrast words still end a scope.
    assert near("no one here, not even one good dish") == "no not_one not_here not not_even not_one not_good dish"
    assert near("hardly a dull moment but a long one") == "hardly not_a not_dull not_moment but a long one"


def test_config_takes_near_marking_with_the_negation_transfer(tmp_path):
    config = apply_overrides(tiny_config(tmp_path), ["data.negation=mark_near", "model.ngram.negation_transfer=true"])
    assert config.data.negation == "mark_near" and config.model.ngram.negation_transfer


def test_near_scopes_are_the_clause_scopes_cut_short():
    rng = random.Random(4)
    words = ["not", "never", "good", "bad", "film", "at", "all", "didn't", "but", "fun,", "plot."]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 14))) for _ in range(200)]
    clause = standardize_review_marking_negation(tf.constant(texts)).numpy()
    short = standardize_review_marking_near_negation(tf.constant(texts)).numpy()
    for long_scope, short_scope in zip(clause, short):
        long_words, short_words = long_scope.decode().split(), short_scope.decode().split()
        assert [w.removeprefix("not_") for w in long_words] == [w.removeprefix("not_") for w in short_words]
        since_negator = None
        for long_word, short_word in zip(long_words, short_words):
            if short_word.startswith("not_"):
                assert long_word == short_word  # inside a near scope only if inside the clause scope
            if long_word.startswith("not_") and not short_word.startswith("not_"):
                assert since_negator is not None and since_negator >= 3  # cut only past the third word
            bare = long_word.removeprefix("not_")
            is_negator = bare in {"not", "never", "didnt"}
            since_negator = 0 if is_negator else (None if since_negator is None else since_negator + 1)


def scopes_by_the_rules(text: str, max_distance: int | None = None) -> list[str]:
    """The marking standardizer's words, found token by token in plain Python from the rules in data/negation.py:
    the reference the vectorized TensorFlow version (distinct tokens, cumulative counts) must agree with."""
    plain_words = []
    last_negator = None  # position of the last negator in the current clause
    clause_ended = True
    for position, token in enumerate(re.sub(r"<br\s*/?>", " ", text.lower()).split()):
        if clause_ended or re.fullmatch(negation.CONTRAST, token):
            last_negator = None
        in_scope = last_negator is not None and (max_distance is None or position - last_negator <= max_distance)
        word = re.sub(text_module._PUNCTUATION, "", token)
        plain_words.append(negation.PREFIX + word if in_scope and word else word)
        if re.fullmatch(negation.NEGATOR, token):
            last_negator = position
        clause_ended = re.fullmatch(negation.CLAUSE_END, token) is not None
    return [word for word in plain_words if word]


def test_marking_agrees_with_the_rules_written_token_by_token():
    rng = random.Random(11)
    tokens = [
        "not", "Not", "NEVER", "didn't", "dont", "don’t", "cannot", "no,", "nothing;", "hardly", "without", "nor",
        "bad", "good.", "fun!", "(great)", "\"ok\"", "...", "-", "at", "all", "wasn't", "isnt", "notable", "knot",
        "but", "But,", "however", "yet", "though.", "<br />", "a<br/>b", "film", "film", "plot", "😀", "é",
    ]  # fmt: skip
    separators = [" ", " ", " ", "  ", "\t", "\n"]
    texts = [
        "".join(rng.choice(tokens) + rng.choice(separators) for _ in range(rng.randint(0, 30))) for _ in range(400)
    ]
    for max_distance, function in (
        (None, standardize_review_marking_negation),
        (3, standardize_review_marking_near_negation),
    ):
        # Words, not strings: the vectorizers split on whitespace (reduce_join drops leading empty words).
        got = [t.decode().split() for t in function(tf.constant(texts)).numpy()]
        assert got == [scopes_by_the_rules(t, max_distance) for t in texts]


def test_vectorizer_with_marking_gives_negated_words_their_own_ids():
    texts = ["not bad at all", "bad, really bad", "good film", "not good. good"]
    vectorizer = make_vectorizer(50, negation="mark")
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(2))
    vocabulary = vectorizer.get_vocabulary()
    assert {"not_bad", "bad", "not_good", "good"} <= set(vocabulary)
    ids = texts_to_ids(vectorizer, ["bad", "not bad"], 4, "start")
    assert ids[0, 0] == vocabulary.index("bad") and ids[1, 1] == vocabulary.index("not_bad")
    bags = ngrams.adapt_ngram_vectorizer(texts, 100, 2, negation="mark").get_vocabulary()
    assert {"not not_bad", "not_bad not_at", "not_good"} <= set(bags)


# --------------------------------------------------------------------------- #
# Config and caching.


def test_config_takes_negation_and_counterfactual_and_rejects_other_values(tmp_path):
    config = apply_overrides(tiny_config(tmp_path), ["data.negation=mark", "data.counterfactual=true"])
    assert config.data.negation == "mark" and config.data.counterfactual is True
    assert tiny_config(tmp_path).data.negation == "none" and tiny_config(tmp_path).data.counterfactual is False
    with pytest.raises(UserError, match="data.negation: expected one of 'none' | 'mark'"):
        apply_overrides(tiny_config(tmp_path), ["data.negation=scope"])
    with pytest.raises(UserError, match="data.counterfactual: expected bool"):
        apply_overrides(tiny_config(tmp_path), ["data.counterfactual=maybe"])


def test_streamed_sources_refuse_marking_in_one_line(tmp_path):
    from textattn.data import streamed

    config = apply_overrides(tiny_config(tmp_path), ["data.negation=mark"])
    with pytest.raises(UserError, match="data.negation=mark is not available for streamed sources"):
        streamed._cached_vocabularies(None, config, "fingerprint")


def test_default_text_settings_leave_cache_keys_as_they_were():
    assert pipeline.text_settings(DataConfig()) == {}
    assert pipeline.text_settings(DataConfig(negation="mark")) == {"negation": "mark"}
    assert "counterfactual" in pipeline.text_settings(DataConfig(counterfactual=True))


# --------------------------------------------------------------------------- #
# Counterfactual examples.


def polar_reviews():
    """Reviews in which "terrific" is clearly positive and "awful" clearly negative."""
    positive = ["The acting was terrific. I smiled.", "terrific fun", "a terrific cast"] * 4
    negative = ["The jokes are awful! Sad.", "awful work", "an awful mess"] * 4
    return positive + negative + ["The plot was terrific."], [1] * 12 + [0] * 12 + [0]


def test_polar_sentences_are_added_with_negated_flipped_copies():
    texts, labels = counterfactual.counterfactual_examples(*polar_reviews())
    pairs = list(zip(texts, labels.tolist()))
    assert pairs[:4] == [
        ("The acting was terrific.", 1),
        ("The acting was not terrific.", 0),
        ("The acting was terrific.", 1),
        ("The acting wasn't terrific.", 0),
    ]
    assert ("The jokes are awful!", 0) in pairs and ("The jokes aren't awful!", 1) in pairs
    # A sentence whose adjective points against its review's label is left out.
    assert "The plot was terrific." not in texts
    assert sum(labels) * 2 == len(labels)


def test_hedged_sentences_are_kept_but_not_negated():
    texts, labels = counterfactual.counterfactual_examples(
        ["This movie is so awful.", "awful", "awful", "fine", "fine", "fine"], [0, 0, 0, 1, 1, 1]
    )
    assert texts == ["This movie is so awful."] and labels.tolist() == [0]


def test_counterfactuals_need_two_classes():
    with pytest.raises(UserError, match="two-class data"):
        counterfactual.counterfactual_examples(["The food was great."], [2])


def test_augmented_splits_change_only_the_fit_part():
    texts, labels = polar_reviews()
    splits = pipeline.TextSplits(
        fit=(texts, np.asarray(labels, np.int32)),
        validation=(["v"], np.array([1])),
        test=(["t"], np.array([0])),
        class_names=["neg", "pos"],
    )
    assert counterfactual.augmented(splits, False) is splits
    more = counterfactual.augmented(splits, True)
    assert more.fit[0][: len(texts)] == texts and len(more.fit[0]) == len(more.fit[1]) > len(texts)
    assert more.validation == splits.validation and more.test == splits.test


# --------------------------------------------------------------------------- #
# Training and export (slow).

NEGATION_REVIEWS = {
    "pos": ["it was not bad at all", "never boring", "great fun", "i loved it", "not a dull moment"],
    "neg": ["it was not good", "not great, sadly", "boring and dull", "i hated it", "never again"],
}


def make_negation_aclimdb(root, n_train=120, n_test=40, seed=3) -> str:
    """A tiny aclImdb tree whose reviews lean on negation."""
    rng = random.Random(seed)
    base = os.path.join(str(root), "aclImdb")
    for split, n in (("train", n_train), ("test", n_test)):
        for label in ("pos", "neg"):
            folder = os.path.join(base, split, label)
            os.makedirs(folder, exist_ok=True)
            for i in range(n // 2):
                sentences = rng.sample(NEGATION_REVIEWS[label], 3) + ["the film had a plot"]
                with open(os.path.join(folder, f"{i}_{8 if label == 'pos' else 2}.txt"), "w") as f:
                    f.write(". ".join(sentences) + ".")
    return base


@pytest.fixture(scope="module", params=["mark", "mark_near_concession"])
def marked_hybrid_run(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("negation_run")
    data = make_negation_aclimdb(tmp / "data")
    config = apply_overrides(
        tiny_config(tmp, "hybrid", data=data),
        [
            f"data.negation={request.param}",
            "model.ngram.vocab_size=400",
            "model.hybrid.branch=baseline",
            "model.hybrid.ngram_epochs=2",
            "model.hybrid.ngram_learning_rate=0.01",
        ],
    )
    from textattn.training import train

    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


@pytest.mark.slow
def test_export_answers_what_the_training_pipeline_gives_the_model(marked_hybrid_run, tmp_path):
    from textattn.data.pipeline import NgramBags, make_dataset
    from textattn.evaluation.calibration import apply_temperature

    run_dir = marked_hybrid_run
    config = runs.load_config(run_dir)
    words = runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB))
    grams = runs.load_vocabulary(os.path.join(run_dir, runs.NGRAM_VOCAB))
    assert "not_bad" in words and "not_good" in words and "not not_good" in grams

    texts = ["It was not bad at all.", "It was not good.", "great fun, never boring", "not great, but fun"]
    # The Keras path: the training pipeline's own functions, then the model.
    ids = texts_to_ids(
        make_vectorizer(config.data.vocab_size, words, config.data.negation),
        texts,
        config.data.sequence_length,
        config.data.keep,
    )
    bags = NgramBags(
        *ngrams.texts_to_bags(
            ngrams.make_ngram_vectorizer(len(grams), config.model.ngram.max_ngram, grams, config.data.negation), texts
        )
    )
    dataset = make_dataset(
        {"token_ids": ids, "ngrams": bags}, np.zeros(len(texts), np.int32), 8, ngram_vocab_size=len(grams)
    )
    model = runs.load_model(run_dir)
    expected = apply_temperature(model.predict(dataset, verbose=0), runs.temperature(run_dir))[:, 1]

    loaded = tf.saved_model.load(export.export_run(run_dir, str(tmp_path / "export")))
    served = loaded.serve(tf.constant(texts))[serving.PROBABILITY].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert served[0] > 0.5 > served[1]  # "not bad" and "not good" are told apart
