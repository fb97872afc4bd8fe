"""Concession marking (data.negation: mark_near_concession, textattn/data/concession.py)."""

import random
import re

import keras
import pytest
import tensorflow as tf
from helpers import tiny_config

from textattn.config import apply_overrides
from textattn.data import concession, negation, ngrams
from textattn.data import text as text_module
from textattn.data.text import (
    make_vectorizer,
    standardize_review_marking_near_negation,
    standardize_review_marking_near_negation_and_concession,
    standardizer,
)


def conceded(text: str) -> str:
    return standardize_review_marking_near_negation_and_concession(tf.constant([text])).numpy()[0].decode()


def test_but_and_however_concede_what_comes_before_them_in_their_sentence():
    assert conceded("The acting is lovely, but the plot is a mess.") == (
        "con_the con_acting con_is con_lovely but the plot is a mess"
    )
    assert conceded("Fine. Nice cast however it drags!") == "fine con_nice con_cast however it drags"
    assert conceded("Great. But the end is weak.") == "great but the end is weak"  # opening its sentence: nothing


def test_although_though_and_despite_concede_their_clause():
    assert conceded("Although it looks elegant, this kettle leaks.") == (
        "although con_it con_looks con_elegant this kettle leaks"
    )
    assert (
        conceded("Lovely, though the story is a muddle.") == "lovely though con_the con_story con_is con_a con_muddle"
    )
    assert conceded("Despite the hype, the film is fun.") == "despite con_the con_hype the film is fun"


def test_negated_and_conceded_words_carry_both_prefixes():
    assert conceded("It is not bad, but it drags.") == "con_it con_is con_not con_not_bad but it drags"
    assert conceded("Nice cast, but it is not good.") == "con_nice con_cast but it is not not_good"


def test_only_the_concession_prefix_differs_from_near_negation_marking():
    texts = tf.constant([["Not GOOD, but fun!", "although x, y"], ["a <br/>b but c", ""]])
    out = standardize_review_marking_near_negation_and_concession(texts)
    assert out.shape == (2, 2)
    for got, near in zip(out.numpy().ravel(), standardize_review_marking_near_negation(texts).numpy().ravel()):
        assert [w.removeprefix(concession.PREFIX) for w in got.decode().split()] == near.decode().split()


def concession_by_the_rules(text: str) -> list[bool]:
    """For each non-empty word of the standardized text, whether it is conceded, found token by token from the
    rules in data/concession.py: the reference the vectorized TensorFlow version must agree with."""
    tokens = re.sub(r"<br\s*/?>", " ", text.lower()).split()
    flags = [False] * len(tokens)
    # "although", "though", "despite": the rest of the clause (a clause starts after a clause end and at a
    # contrast word).
    opened = False
    for i, token in enumerate(tokens):
        if i == 0 or re.fullmatch(negation.CLAUSE_END, tokens[i - 1]) or re.fullmatch(negation.CONTRAST, token):
            opened = False
        flags[i] = opened
        opened = opened or re.fullmatch(concession.CONCEDES_AFTER, token) is not None
    # "but", "however": everything before a later one in the same sentence.
    sentence_start = 0
    for i, token in enumerate(tokens):
        if re.fullmatch(concession.CONCEDES_BEFORE, token):
            for j in range(sentence_start, i):
                flags[j] = flags[j] or not re.fullmatch(concession.CONCEDES_BEFORE, tokens[j])
        if re.fullmatch(concession.SENTENCE_END, token):
            sentence_start = i + 1
    words = [re.sub(text_module._PUNCTUATION, "", token) for token in tokens]
    return [flag for flag, word in zip(flags, words) if word]


def test_marking_agrees_with_the_rules_written_token_by_token():
    rng = random.Random(12)
    tokens = [
        "but", "But,", "however", "however.", "although", "Though", "despite", "yet", "not", "never",
        "good", "bad.", "fun!", "ok?", "drags,", "(great)", "...", "-", "plot", "film", "<br />", "é", "butter",
    ]  # fmt: skip
    texts = [" ".join(rng.choice(tokens) for _ in range(rng.randint(0, 25))) for _ in range(400)]
    out = standardize_review_marking_near_negation_and_concession(tf.constant(texts)).numpy()
    for text, got in zip(texts, out):
        assert [w.startswith(concession.PREFIX) for w in got.decode().split()] == concession_by_the_rules(text)


def test_config_and_registry_take_the_concession_standardizer(tmp_path):
    config = apply_overrides(tiny_config(tmp_path), ["data.negation=mark_near_concession"])
    assert standardizer(config.data.negation) is standardize_review_marking_near_negation_and_concession
    function = standardize_review_marking_near_negation_and_concession
    assert keras.saving.get_registered_object(keras.saving.get_registered_name(function)) is function


def test_vectorizers_give_conceded_words_their_own_ids():
    texts = ["nice cast, but dull", "nice and fun", "although nice, dull", "not dull but long"]
    vectorizer = make_vectorizer(50, negation="mark_near_concession")
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(2))
    assert {"con_nice", "nice", "con_not_dull", "dull"} <= set(vectorizer.get_vocabulary())
    bags = ngrams.adapt_ngram_vectorizer(texts, 100, 2, negation="mark_near_concession").get_vocabulary()
    assert {"con_nice con_cast", "con_cast but", "con_not con_not_dull"} <= set(bags)


@pytest.mark.parametrize(
    "text, expected", [("", ""), ("   ", ""), ("but", "but"), ("but.", "but"), ("although", "although")]
)
def test_empty_and_bare_contrast_texts(text, expected):
    assert conceded(text) == expected


def test_a_long_review_is_marked_whole():
    assert conceded("x, " * 5000 + "but y") == " ".join(["con_x"] * 5000) + " but y"
