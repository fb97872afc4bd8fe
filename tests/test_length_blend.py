"""model.hybrid.blend: length and model.hybrid.word_floor: short validation sentences, a run, serving, explain."""

import os

import numpy as np
import pytest
import tensorflow as tf
from helpers import serve_tf_only, tiny_config

from textattn import export, runs, serving
from textattn.config import apply_overrides
from textattn.data import pipeline
from textattn.data.text import truncate_and_pad
from textattn.errors import UserError
from textattn.explain.endpoint import explain_function
from textattn.layers.log_linear_blend import length_factor
from textattn.models import bag_models
from textattn.predict import Predictor
from textattn.training import train
from textattn.training.short_text import last_sentence, validation_sentences

LENGTH_BLEND = [
    "model.ngram.vocab_size=400",
    "model.hybrid.branch=baseline",
    "model.pooling=attention",
    "model.hybrid.ngram_epochs=2",
    "model.hybrid.ngram_learning_rate=0.01",
    "model.hybrid.blend=length",
    "model.hybrid.word_floor=0.01",
    "train.final_fit=true",
]


@pytest.mark.parametrize(
    "text,sentence",
    [
        ("A fine cast. The plot drags on and on. I would not watch it again!", "I would not watch it again!"),
        ("Great fun.<br /><br />Loved every minute of it. Ten.", "Loved every minute of it."),  # "Ten." too short
        ("One two three", "One two three"),
        ("Too short. Ok.", None),
        ("", None),
    ],
)
def test_last_sentence_is_the_last_one_of_three_to_forty_words(text, sentence):
    assert last_sentence(text) == sentence


def test_a_sentence_of_more_than_forty_words_is_skipped():
    long = " ".join(["word"] * 41) + "."
    assert last_sentence(f"It was a good film indeed. {long}") == "It was a good film indeed."


def test_validation_sentences_come_from_validation_reviews_only(tiny_aclimdb, tmp_path):
    config = tiny_config(tmp_path, "hybrid", data=tiny_aclimdb)
    texts, labels = validation_sentences(config)
    splits = pipeline.split_texts(config.data, config.seed)
    val_texts, val_labels = splits.validation
    expected = [(last_sentence(t), y) for t, y in zip(val_texts, val_labels) if last_sentence(t)]
    assert len(texts) > 0 and [(t, int(y)) for t, y in zip(texts, labels)] == [(t, int(y)) for t, y in expected]
    fit_texts = set(splits.fit[0])
    assert not any(any(t in review for t in texts) for review in fit_texts if review not in val_texts)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model.hybrid.word_floor=0"], "word_floor must be in"),
        (["model.hybrid.word_floor=0.5"], "word_floor must be in"),
        (
            ["model.hybrid.blend=length", "data.long_text=chunks", "data.chunk_overlap=8"],
            "blend=length weighs a text by its token count",
        ),
        (["model.hybrid.blend=often"], "blend"),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        apply_overrides(tiny_config(tmp_path, "hybrid"), overrides)


@pytest.fixture(scope="module")
def length_run(tiny_aclimdb, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("length_run")
    config = apply_overrides(tiny_config(tmp, "hybrid", data=tiny_aclimdb), LENGTH_BLEND)
    return train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir


def test_run_records_and_saves_the_length_scaled_blend(length_run):
    blend_summary = runs.read_json(os.path.join(length_run, runs.METRICS))["branches"]["blend"]
    assert blend_summary["floors"] == [pytest.approx(1e-7), pytest.approx(0.01)]
    assert len(blend_summary["length_weights"]) == 2 and len(blend_summary["branch_weights"]) == 2
    sentences = blend_summary["sentences"]
    assert sentences["count"] > 0 and 0 <= sentences["blend_accuracy"] <= 1 and len(sentences["member_accuracy"]) == 2
    model = runs.load_model(length_run)  # safe_mode=True
    blend = model.get_layer(bag_models.BLEND)
    assert blend.length_scaled and blend.floors == [pytest.approx(1e-7), pytest.approx(0.01)]
    np.testing.assert_allclose(np.asarray(blend.length_weights), blend_summary["length_weights"], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(blend.branch_weights), blend_summary["branch_weights"], rtol=1e-6)


def test_served_probability_is_the_length_scaled_blend_of_the_branches(length_run):
    parts, model = serving.load_serving_parts(length_run)
    texts = ["great", "great fun but a dull ending", " ".join(["great film"] * 40), "awful awful boring"]
    served = serving.make_serve(model, parts)(tf.constant(texts))[serving.PROBABILITIES].numpy()
    blend = model.get_layer(bag_models.BLEND)
    ids = truncate_and_pad(
        parts.vectorizer(tf.constant(texts)), parts.config.data.sequence_length, parts.config.data.keep
    )
    bags = parts.ngram_vectorizer(tf.constant(texts))
    p_ngram = model.get_layer(bag_models.NGRAM_BRANCH)(bags).numpy()
    p_word = model.get_layer(bag_models.WORD_BRANCH)(ids).numpy()
    length = parts.config.data.sequence_length
    factor = np.asarray(length_factor(np.count_nonzero(ids.numpy(), axis=1), length))[:, None]
    w, v, b = (np.asarray(x) for x in (blend.branch_weights, blend.length_weights, blend.bias))
    z = (w[0] + v[0] * factor) * np.log(np.clip(p_ngram, 1e-7, 1)) + (w[1] + v[1] * factor) * np.log(
        np.clip(p_word, 0.01, 1)
    )
    z = z + b
    expected = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(served, expected / expected.sum(1, keepdims=True), atol=1e-5)


def test_explained_ngram_contributions_use_the_weight_for_the_texts_length(length_run):
    parts, model = serving.load_serving_parts(length_run)
    blend = model.get_layer(bag_models.BLEND)
    nb = model.get_layer(bag_models.NGRAM_BRANCH).get_layer(bag_models.NB_LAYER)
    fw = np.asarray(nb.feature_weights())
    vocabulary = [str(g) for g in parts.ngram_vectorizer.get_vocabulary()]
    texts = ["great", " ".join(["great fun film"] * 10)]
    out = explain_function(length_run)(tf.constant(texts))
    ids = truncate_and_pad(
        parts.vectorizer(tf.constant(texts)), parts.config.data.sequence_length, parts.config.data.keep
    ).numpy()
    weights = np.asarray(blend.member_weights(ids))[:, 0]
    assert abs(weights[0] - weights[1]) > 1e-3, "two lengths, two n-gram weights"
    for row in range(2):
        for gram, value in zip(out["ngrams"].numpy()[row], out["ngram_contributions"].numpy()[row]):
            if gram:
                g = vocabulary.index(gram.decode())
                expected = (fw[g, 1] - fw[g, 0]) * weights[row] / parts.temperature
                assert value == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_export_serves_the_length_scaled_blend_with_tensorflow_only(length_run, tmp_path):
    out = export.export_run(length_run, str(tmp_path / "export"))
    texts = ["great", "awful boring waste", "not bad at all", "", " ".join(["great film"] * 30)]
    in_process = Predictor(length_run)(texts).probabilities[:, 1]
    served = serve_tf_only(out, texts, tmp_path)
    assert served["imported"] == []
    np.testing.assert_allclose(served["probability"], in_process, atol=1e-5)
    assert served["probability"][3] == 0.5


def test_a_large_batch_is_served_in_two_halves_with_the_answers_of_small_batches(length_run):
    # serve splits a batch of HALVED_BATCH or more texts in two halves that run side by side: the answers,
    # the label and the evidence count of every row are those of the same texts served a few at a time.
    parts, model = serving.load_serving_parts(length_run)
    serve = tf.function(serving.make_serve(model, parts), input_signature=serving.input_signature(), autograph=False)
    words = ["great", "awful", "not", "bad", "fun", "dull", "film", "plot", "!", "but", "boring", "xyzzy"]
    rng = np.random.default_rng(7)
    texts = [" ".join(rng.choice(words, size=rng.integers(0, 40))) for _ in range(serving.HALVED_BATCH + 45)]
    whole = serve(tf.constant(texts))
    in_small_batches = [serve(tf.constant(texts[i : i + 50])) for i in range(0, len(texts), 50)]
    for key, value in whole.items():
        expected = np.concatenate([batch[key].numpy() for batch in in_small_batches])
        assert value.shape[0] == len(texts), key
        if value.dtype == tf.float32:
            np.testing.assert_allclose(value.numpy(), expected, atol=1e-6, rtol=0, err_msg=key)
        else:
            assert np.array_equal(value.numpy(), expected), key
    assert whole[serving.LABEL_ID].numpy()[[i for i, t in enumerate(texts) if not t]].tolist() == [
        serving.NO_LABEL_ID
    ] * texts.count("")
