"""SavedModel export: serves raw text with TensorFlow alone, matches Keras, survives bad text, atomic."""

import math
import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import BAD_TEXTS, run_tf_only, write_review

from textattn import export, runs, serving
from textattn.__main__ import main
from textattn.config import config_from_dict, config_to_dict, save_config
from textattn.data.text import make_vectorizer, texts_to_ids
from textattn.errors import UserError
from textattn.models import build_model


def review_texts(n: int, seed: int = 123) -> list[str]:
    rng = random.Random(seed)
    return [write_review(rng, "pos" if i % 2 else "neg") for i in range(n)]


def keras_probabilities(run_dir: str, texts: list[str]) -> np.ndarray:
    """The run's Keras model on ``texts``, vectorized by the training pipeline's functions,
    with the run's validation-fitted temperature applied."""
    from textattn import runs
    from textattn.evaluation.calibration import apply_temperature

    config, model, vectorizer = serving.load_run(run_dir)
    ids = texts_to_ids(vectorizer, texts, config.data.sequence_length, config.data.keep)
    return apply_temperature(model.predict(ids, batch_size=256, verbose=0), runs.temperature(run_dir))[:, 1]


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> str:
    out_dir = str(tmp_path_factory.mktemp("export") / "model")
    assert export.export_run(tiny_run, out_dir) == out_dir
    return out_dir


@pytest.fixture(scope="module")
def served(exported, tmp_path_factory) -> dict:
    """Everything the export answers in one TensorFlow-only process."""
    texts = review_texts(1000)
    script = """
    model = tf.saved_model.load(data["export"])
    texts = data["texts"]
    bad = {name: bytes.fromhex(value) for name, value in data["bad"].items()}
    def plain(value):
        value = value.numpy()
        return [v.decode() for v in value.tolist()] if value.dtype == object else value.tolist()
    def call(batch):
        out = model.serve(tf.constant(batch, dtype=tf.string))
        return {key: plain(value) for key, value in out.items()}
    result = {
        "all": call(texts),
        "batches_of_7": [call(texts[i:i + 7]) for i in range(0, 70, 7)],
        "serving_default": {k: plain(v)
                            for k, v in model.signatures["serving_default"](texts=tf.constant(texts[:3])).items()},
        "bad_one_by_one": {name: call([text]) for name, text in bad.items()},
        "bad_mixed": call(list(bad.values()) + [texts[0].encode()]),
        "empty_batch": call([]),
    }
    """
    data = {"export": exported, "texts": texts, "bad": {k: v.hex() for k, v in BAD_TEXTS.items()}}
    return {"texts": texts, **run_tf_only(script, data, tmp_path_factory.mktemp("tf_only"))}


@pytest.mark.slow
def test_export_loads_without_keras_or_textattn(served):
    assert served["imported"] == []
    assert len(served["all"]["probability"]) == 1000


@pytest.mark.slow
def test_export_matches_keras_model_on_1000_reviews(served, tiny_run):
    expected = keras_probabilities(tiny_run, served["texts"])
    got = np.asarray(served["all"]["probability"])
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert np.array_equal(served["all"]["label_id"], (expected > 0.5).astype(int))
    assert served["all"]["label"] == [("neg", "pos")[int(p > 0.5)] for p in expected]
    np.testing.assert_allclose(np.asarray(served["all"]["probabilities"])[:, 1], got, atol=0, rtol=0)
    np.testing.assert_allclose(np.sum(served["all"]["probabilities"], axis=1), 1.0, atol=1e-6)
    # A batch size never used before gives the same answers.
    in_sevens = np.concatenate([b["probability"] for b in served["batches_of_7"]])
    np.testing.assert_allclose(in_sevens, got[:70], atol=1e-6, rtol=0)
    np.testing.assert_allclose(served["serving_default"]["probability"], got[:3], atol=1e-6, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BAD_TEXTS))
def test_serving_survives_bad_text(served, name):
    out = served["bad_one_by_one"][name]
    (p,), (label,), (label_id,), (known,) = out["probability"], out["label"], out["label_id"], out["known_tokens"]
    assert math.isfinite(p) and 0.0 <= p <= 1.0
    if known == 0:  # no evidence, no verdict
        assert (p, label_id, label, out["probabilities"]) == (0.5, -1, "unknown", [[0.5, 0.5]])
    else:
        assert label_id == int(p > 0.5) and label == ("neg", "pos")[label_id]


@pytest.mark.slow
def test_mixed_bad_batch_gives_one_output_per_input(served):
    mixed = served["bad_mixed"]
    assert len(mixed["probability"]) == len(mixed["label"]) == len(BAD_TEXTS) + 1
    alone = [served["bad_one_by_one"][name]["probability"][0] for name in BAD_TEXTS] + [served["all"]["probability"][0]]
    np.testing.assert_allclose(mixed["probability"], alone, atol=1e-6, rtol=0)
    assert served["empty_batch"] == {
        "known_tokens": [],
        "label": [],
        "label_id": [],
        "probabilities": [],
        "probability": [],
    }


def test_valid_utf8_leaves_valid_text_byte_identical():
    valid = ["plain", "", "\ufeffbom first", "nul\x00inside", "日本語 😀 é\u0301", "\U0010ffff\ud7ff\ue000", "<br />"]
    encoded = [t.encode() for t in valid]
    assert serving.valid_utf8(tf.constant(encoded)).numpy().tolist() == encoded
    fixed = serving.valid_utf8(tf.constant([b"ok\xff\xc3(", b"\xed\xa0\x80"])).numpy().tolist()
    assert [f.decode("utf-8") for f in fixed] == ["ok\ufffd\ufffd(", "\ufffd\ufffd\ufffd"]


def test_valid_utf8_transcodes_only_non_ascii_texts_and_answers_as_transcoding_all():
    rng = np.random.default_rng(5)
    alphabet = [b"a", b" ", b"\x00", b"\x7f", b"\xc3\xa9", b"\xff", b"\xc3", b"\xe2\x80\x94", b"\xed\xa0\x80"]
    texts = [b"".join(rng.choice(alphabet, size=rng.integers(0, 12))) for _ in range(300)]

    def transcode_all(batch):
        return tf.strings.unicode_transcode(batch, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)

    for batch in (texts, [b"only ascii", b""], [b"\xff"], []):
        batch = tf.constant(batch, tf.string)
        assert serving.valid_utf8(batch).numpy().tolist() == transcode_all(batch).numpy().tolist()


def test_metadata_describes_export(exported, tiny_run):
    meta = runs.read_json(os.path.join(exported, serving.METADATA))
    metrics = runs.read_json(os.path.join(tiny_run, runs.METRICS))
    vocabulary = runs.load_vocabulary(os.path.join(tiny_run, runs.VOCAB))
    assert meta["variant"] == "baseline" and meta["head"] == "softmax"
    assert meta["vocab_size"] == len(vocabulary)
    assert (meta["sequence_length"], meta["keep"]) == (32, "start")
    assert meta["test_accuracy"] == metrics["test_accuracy"]
    assert meta["temperature"] == metrics["calibration"]["temperature"] == runs.temperature(tiny_run)
    assert meta["versions"]["tensorflow"] == tf.__version__ and meta["versions"]["keras"] == keras.__version__
    assert meta["signature"] == {
        "endpoint": "serve",
        "aliases": ["serving_default"],
        "inputs": {"texts": {"dtype": "string", "shape": [None]}},
        "outputs": {
            "known_tokens": {"dtype": "int32", "shape": [None]},
            "label": {"dtype": "string", "shape": [None]},
            "label_id": {"dtype": "int32", "shape": [None]},
            "probabilities": {"dtype": "float32", "shape": [None, 2]},
            "probability": {"dtype": "float32", "shape": [None]},
        },
    }
    assert meta["class_names"] == ["neg", "pos"] == runs.load_class_names(tiny_run)
    assert meta["labels"] == {"0": "neg", "1": "pos"}
    assert sorted(os.listdir(os.path.dirname(exported))) == ["model"]  # no staging directory left behind


def save_untrained_run(run_dir, config, vocabulary) -> keras.Model:
    """A run directory holding an untrained model (enough for export)."""
    os.makedirs(run_dir)
    save_config(config, os.path.join(run_dir, runs.CONFIG))
    runs.save_vocabulary(os.path.join(run_dir, runs.VOCAB), vocabulary)
    model = build_model(config)
    model.save(os.path.join(run_dir, runs.MODEL))
    return model


def test_sigmoid_head_and_keep_end(tiny_run, tmp_path):
    keras.utils.set_random_seed(3)
    base = config_to_dict(runs.load_config(tiny_run))
    base["model"]["head"] = "sigmoid"
    base["data"]["keep"] = "end"
    config = config_from_dict(base)
    vocabulary = runs.load_vocabulary(os.path.join(tiny_run, runs.VOCAB))
    run_dir = str(tmp_path / "sigmoid_run")
    model = save_untrained_run(run_dir, config, vocabulary)
    export.export_run(run_dir, str(tmp_path / "out"))

    texts = review_texts(50, seed=5) + ["", "!!!"]
    vectorizer = make_vectorizer(config.data.vocab_size, vocabulary)
    ids = texts_to_ids(vectorizer, texts[:50], config.data.sequence_length, config.data.keep)
    assert ids[:, -1].any()  # some reviews are longer than sequence_length, so "end" matters
    expected = model.predict(ids, verbose=0)[:, 0]
    loaded = tf.saved_model.load(str(tmp_path / "out"))
    out = loaded.serve(tf.constant(texts))
    p = out["probability"].numpy()
    np.testing.assert_allclose(p[:50], expected, atol=1e-5, rtol=0)
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.array_equal(out["label_id"].numpy()[:50], (p[:50] > 0.5).astype(np.int32))
    assert out["label"].numpy()[50:].tolist() == [b"unknown", b"unknown"] and p[50:].tolist() == [0.5, 0.5]
    meta = runs.read_json(str(tmp_path / "out" / serving.METADATA))
    assert (meta["head"], meta["keep"], meta["test_accuracy"]) == ("sigmoid", "end", None)  # no metrics.json


def test_existing_out_dir_is_refused_without_overwrite(exported, tiny_run, capsys):
    before = sorted(os.listdir(exported))
    with pytest.raises(UserError, match="--overwrite"):
        export.check_export_target(exported)
    assert main(["export", tiny_run, exported]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err and err.count("\n") == 1
    assert sorted(os.listdir(exported)) == before


def test_overwrite_replaces_an_earlier_export(tiny_run, tmp_path, capsys):
    out_dir = str(tmp_path / "model")
    export.export_run(tiny_run, out_dir)
    open(os.path.join(out_dir, "stale"), "w").close()
    export.check_export_target(out_dir, overwrite=True)  # allowed: it is an export
    assert main(["export", tiny_run, out_dir, "--overwrite"]) == 0
    assert "Exported" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(out_dir, "stale"))
    assert serving.is_export_dir(out_dir) and os.path.isfile(os.path.join(out_dir, serving.METADATA))
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_overwrite_never_replaces_a_non_export(tiny_run, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not an exported model"):
        export.export_run(tiny_run, str(tmp_path / "notes"), overwrite=True)
    with pytest.raises(UserError, match="not a directory"):
        export.check_export_target(str(tmp_path / "file"), overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_failed_export_leaves_nothing_half_written(tiny_run, tmp_path, monkeypatch):
    out_dir = str(tmp_path / "model")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "build_metadata", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export_run(tiny_run, out_dir)
    assert os.listdir(tmp_path) == []

    monkeypatch.undo()
    export.export_run(tiny_run, out_dir)
    before = open(os.path.join(out_dir, serving.METADATA)).read()
    monkeypatch.setattr(export, "build_metadata", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export_run(tiny_run, out_dir, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["model"]
    assert open(os.path.join(out_dir, serving.METADATA)).read() == before  # the previous export survives


def test_export_of_a_missing_run_is_a_user_error(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out")


def test_measure_serving_loads_an_export_directory(exported):
    from textattn.evaluation.speed import measure_serving

    stats = measure_serving(exported, ["a great film", "dull"], batch1_calls=3, batch_size=4, batches=1)
    assert stats["batch1_calls"] == 3 and 0 < stats["batch1_p50_ms"] <= stats["batch1_p95_ms"]
