"""The character member (model.hybrid.character_ngrams): the keyed serving vectorizer gives training's bags,
a hybrid trains the member on the bag's character columns, saves, serves and explains with it, and bad
settings are user errors."""

import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_config

from textattn import runs
from textattn.config import apply_overrides
from textattn.data import character_ngrams as chars
from textattn.data import ngrams
from textattn.data.pipeline import prepare_ngrams, split_texts
from textattn.errors import UserError
from textattn.layers import BagColumns
from textattn.predict import Predictor
from textattn.training import train

WIDTHS = [3, 4, 5, 6]


def same_bags(a, b) -> bool:
    a, b = tf.sparse.reorder(a), tf.sparse.reorder(b)
    return (
        a.indices.shape == b.indices.shape
        and bool(tf.reduce_all(a.indices == b.indices))
        and a.dense_shape.numpy().tolist() == b.dense_shape.numpy().tolist()
    )


def random_texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = list("abcdé ☃!.") + ["<br />", "  ", "\n", "A"]
    return ["".join(rng.choice(letters, size=int(rng.integers(0, 40)))) for _ in range(n)]


def test_keyed_character_bags_are_the_text_vectorizers_bags():
    texts = random_texts(60) + ["", "a", "ab", "abc", "Hello WORLD", "zzz qqq"]  # z, q: outside the alphabet
    vectorizer = chars.adapt_character_vectorizer(texts[:40], 500, WIDTHS)
    grams = vectorizer.get_vocabulary()[1:]
    alphabet, keys = chars.character_keys(grams)
    assert " " in alphabet and "z" not in alphabet and "A" not in alphabet  # lowercased before counting
    assert len(set(keys.tolist())) == len(keys)
    keyed = chars.KeyedCharacterVectorizer(grams, WIDTHS)
    assert same_bags(keyed(tf.constant(texts)), vectorizer(tf.constant(texts)))
    assert chars.KeyedCharacterVectorizer.from_config(keyed.get_config()).get_config() == keyed.get_config()
    with pytest.raises(ValueError, match="not a character n-gram vocabulary"):
        chars.character_keys(["ab cd"])


def test_joined_bags_keep_each_rows_ids_and_move_the_second_up():
    first = (np.array([1, 2, 3, 4], np.int32), np.array([0, 2, 2, 4], np.int64))
    second = (np.array([5, 6, 7], np.int32), np.array([0, 1, 3, 3], np.int64))
    values, row_splits = ngrams.join_bags(first, second, 10)
    assert row_splits.tolist() == [0, 3, 5, 7]
    assert values.tolist() == [1, 2, 15, 16, 17, 3, 4]
    with pytest.raises(ValueError, match="3 and 2 rows"):
        ngrams.join_bags(first, (second[0][:1], second[1][:3]), 10)


def test_bag_columns_keep_their_columns_as_a_bag_with_an_empty_oov_column():
    bag = tf.SparseTensor([[0, 0], [0, 2], [0, 5], [1, 3], [1, 6], [2, 1]], [1.0] * 6, [3, 7])
    for start, stop in ((1, 4), (4, 7), (0, 7)):
        part = BagColumns(start, stop)
        dense = tf.sparse.to_dense(tf.sparse.reorder(part(bag))).numpy()
        expected = np.zeros((3, stop - start + 1), np.float32)
        expected[:, 1:] = tf.sparse.to_dense(bag).numpy()[:, start:stop]
        np.testing.assert_array_equal(dense, expected)
        np.testing.assert_array_equal(part(tf.sparse.to_dense(bag)).numpy(), expected)  # dense in, dense out
        assert BagColumns.from_config(part.get_config()).get_config() == part.get_config()
    with pytest.raises(ValueError, match="0 <= start < stop"):
        BagColumns(3, 3)


def test_vocabulary_splits_back_into_words_and_characters():
    vocabulary = chars.bag_vocabulary(["[UNK]", "bad", "not_bad"], ["[UNK]", "b a d", "a   b"])
    assert vocabulary == ["[UNK]", "bad", "not_bad", "chars:b a d", "chars:a   b"]
    assert chars.split_vocabulary(vocabulary) == (["[UNK]", "bad", "not_bad"], ["b a d", "a   b"])
    assert chars.split_vocabulary(["[UNK]", "bad"]) == (["[UNK]", "bad"], [])
    with pytest.raises(ValueError, match="after all the word n-grams"):
        chars.split_vocabulary(["[UNK]", "chars:a b c", "bad"])


@pytest.mark.parametrize("negation", ["none", "mark_near"])
def test_serving_bags_are_the_bags_training_read(negation, tiny_aclimdb, tmp_path):
    config = apply_overrides(
        tiny_config(tmp_path, "ngram", data=tiny_aclimdb), [f"data.negation={negation}", "model.ngram.vocab_size=300"]
    )
    bags = prepare_ngrams(
        config.data, 3, 300, config.seed, verbose=False, character_ngrams=[3, 5], character_vocab_size=200
    )
    words, grams = chars.split_vocabulary(bags.vocabulary)
    assert 1 < len(words) <= 300 and 0 < len(grams) <= 199 and {len(g) for g in grams} == {5, 9}  # 3 and 5 chars
    texts = list(split_texts(config.data, config.seed).validation[0]) + ["", "Not BAD at all!!", "é☃ <br /> x"]
    served = chars.serving_bag_vectorizer(bags.vocabulary, 3, negation)
    assert isinstance(served, chars.WordAndCharacterBags) and served.vocabulary_size() == len(bags.vocabulary)
    sparse = served(tf.constant(texts))
    assert sparse.dense_shape.numpy().tolist() == [len(texts), len(bags.vocabulary)]
    rows = sparse.indices.numpy()
    for i in range(len(bags.val)):
        expected = bags.val.values[bags.val.row_splits[i] : bags.val.row_splits[i + 1]]
        got = rows[(rows[:, 0] == i) & (rows[:, 1] > 0), 1]  # training's bags leave the OOV bucket out
        assert sorted(got.tolist()) == sorted(expected.tolist())
    assert any(v >= len(words) for v in bags.val.values)  # the character part is really there


@pytest.fixture(scope="module")
def character_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("character_run")
    overrides = [
        "model.ngram.vocab_size=400",
        "model.hybrid.character_ngrams=[3,4,5]",
        "model.hybrid.character_vocab_size=2000",
        "model.hybrid.branch=baseline",
        "model.pooling=attention",
        "model.hybrid.ngram_epochs=2",
        "model.hybrid.ngram_learning_rate=0.01",
        "model.hybrid.naive_bayes_expert=true",
        "train.final_fit=true",
    ]
    config = apply_overrides(tiny_config(tmp, "hybrid", data=tiny_aclimdb), overrides)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_a_hybrid_trains_saves_and_predicts_with_character_ngrams(character_run):
    metrics = runs.read_json(os.path.join(character_run, runs.METRICS))
    assert metrics["test_accuracy"] > 0.7
    vocabulary = runs.load_vocabulary(os.path.join(character_run, runs.NGRAM_VOCAB))
    words, grams = chars.split_vocabulary(vocabulary)
    assert len(words) <= 400 and 0 < len(grams) <= 1999
    members = metrics["branches"]
    assert members["characters"]["vocab_size"] == len(grams) + 1 and members["characters"]["best_epoch"] >= 1
    assert 0.5 < members["characters"]["test_accuracy"] <= 1.0
    assert len(members["blend"]["branch_weights"]) == 4  # n-gram, word, Naive Bayes, characters
    assert metrics["final_fit"]["character_epochs"] == members["characters"]["best_epoch"]
    model = runs.load_model(character_run)  # safe_mode=True
    # Each member reads its own columns of the one bag: the words', then the characters'.
    assert model.get_layer("ngram_branch").get_layer("bag_columns").get_config()["stop"] == len(words)
    assert model.get_layer("character_ngrams").get_layer("naive_bayes_ngrams").vocab_size == len(grams) + 1
    # Serving's bag holds the words' entries, then the characters': not in row-major order, which no
    # member needs (the same probabilities as from the sorted bag).
    texts = tf.constant(["great wonderful superb film", "awful boring waste <br /> the plot"])
    bags = chars.serving_bag_vectorizer(vocabulary, 3)(texts)
    token_ids = tf.ones((2, 32), tf.int32)
    np.testing.assert_allclose(
        model({"ngrams": bags, "token_ids": token_ids}),
        model({"ngrams": tf.sparse.reorder(bags), "token_ids": token_ids}),
        atol=1e-6,
    )
    answers = Predictor(character_run)(["great wonderful superb film", "awful boring waste", "", "zzqx"])
    assert answers.probabilities.shape == (4, 2)
    assert answers.probabilities[0, 1] > 0.5 > answers.probabilities[1, 1]


def test_characters_are_evidence_for_words_never_seen(character_run):
    # "wonderfulness" is no word of the tiny tree; its pieces are (its reviews say "wonderful").
    predict = Predictor(character_run)
    assert predict(["wonderfulness"]).probabilities[0, 1] > 0.5 > predict(["awfulness"]).probabilities[0, 1]


@pytest.mark.slow
def test_the_export_serves_and_explains_what_the_run_serves(character_run, tmp_path):
    from helpers import run_tf_only

    from textattn import export

    out = export.export_run(character_run, str(tmp_path / "export"))
    texts = ["great wonderful superb film", "awful boring waste", "", "wonderfulness", "x" * 20000]
    in_process = Predictor(character_run)(texts).probabilities[:, 1]
    script = """
    model = tf.saved_model.load(data["export"])
    out = model.serve(tf.constant(data["texts"]))
    explained = model.explain(tf.constant(data["texts"][:2]))
    result = {"probability": out["probability"].numpy().tolist(), "explained": sorted(explained)}
    """
    served = run_tf_only(script, {"export": out, "texts": texts}, tmp_path)
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"], in_process, atol=1e-5)
    assert served["probability"][2] == 0.5  # an empty review: no evidence
    assert "ngrams" in served["explained"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.hybrid.character_ngrams=[0,3]", "widths from 1 to 8"),
        ("model.hybrid.character_ngrams=[3,9]", "widths from 1 to 8"),
        ("model.hybrid.character_ngrams=[3,3]", "lists a width twice"),
        ("model.hybrid.character_vocab_size=1", "at least 2"),
    ],
)
def test_bad_character_settings_are_user_errors(override, message, tmp_path):
    config = tiny_config(tmp_path, "hybrid")
    overrides = [override] if "character_ngrams" in override else ["model.hybrid.character_ngrams=[3]", override]
    with pytest.raises(UserError, match=message):
        apply_overrides(config, overrides)


def test_an_untrained_hybrid_from_the_config_alone_has_the_character_member(tmp_path):
    from textattn.models import build_model

    config = apply_overrides(
        tiny_config(tmp_path, "hybrid"),
        ["model.ngram.vocab_size=300", "model.hybrid.character_ngrams=[3]", "model.hybrid.character_vocab_size=50"],
    )
    model = build_model(config)  # what `textattn train --print-model` and the params table count
    assert model.get_layer("ngram_branch").get_layer("naive_bayes_ngrams").vocab_size == 300
    assert model.get_layer("character_ngrams").get_layer("naive_bayes_ngrams").vocab_size == 50
