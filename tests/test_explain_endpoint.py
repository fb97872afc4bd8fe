"""The explain computation: vocabulary tokens, bad input, and the export's ``explain`` against the Python path."""

import dataclasses
import json
import os
import re
import string

import numpy as np
import pytest
import tensorflow as tf
from explain_support import explainable, reload_parts, save_run
from helpers import BAD_TEXTS, run_tf_only

from textattn import export, runs, serving
from textattn.data.text import OOV
from textattn.explain.endpoint import explain_function, make_explain
from textattn.predict import Predictor


def expected_tokens(text: str, vocabulary: list[str], length: int, keep: str) -> list[str]:
    """The standardization by hand: lowercase, <br /> to space, ASCII punctuation out, split; unknown -> [UNK]."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    words = text.translate(str.maketrans("", "", string.punctuation)).split()
    words = words[:length] if keep == "start" else words[-length:]
    known = set(vocabulary)
    return [w if w in known else OOV for w in words]


REVIEWS = [
    "A WONDERFUL film... with a <br />dull ending!",
    "zzqx great qqqz, the plot!!",
    "the film " * 30 + "and an awful, boring ending",
]


@pytest.mark.parametrize("keep", ["start", "end"])
def test_tokens_are_the_runs_vocabulary_tokens_of_the_standardized_text(keep, tmp_path):
    config, model, parts = explainable(tmp_path, "transformer")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, keep=keep))
    parts = dataclasses.replace(parts, config=config)
    out = make_explain(model, parts)(tf.constant(REVIEWS))
    vocabulary = [str(t) for t in parts.vectorizer.get_vocabulary()]
    for row, text in enumerate(REVIEWS):
        tokens = [t.decode() for t in out["tokens"][row].numpy()]
        n = len(expected_tokens(text, vocabulary, 10**6, keep))
        assert tokens == expected_tokens(text, vocabulary, config.data.sequence_length, keep) + [""] * max(0, 32 - n)
    assert OOV in [t.decode() for t in out["tokens"][1].numpy()]  # zzqx, qqqz


def test_ngram_tokens_cover_the_whole_review(tmp_path):
    _, model, parts = explainable(tmp_path, "ngram")
    out = make_explain(model, parts)(tf.constant(REVIEWS))
    vocabulary = [str(t) for t in parts.vectorizer.get_vocabulary()]
    assert out["tokens"].shape[1] == len(REVIEWS[2].split())  # no window: the n-gram model reads it all
    for row, text in enumerate(REVIEWS):
        tokens = [t.decode() for t in out["tokens"][row].numpy() if t]
        assert tokens == expected_tokens(text, vocabulary, 10**6, "start")


BAD = {
    "empty": b"",
    "invalid_utf8": BAD_TEXTS["invalid_utf8"],
    "one_megabyte": BAD_TEXTS["one_megabyte"],
    "punctuation_only": BAD_TEXTS["punctuation_only"],
}


def check_valid_answer(out, row: int, name: str):
    p = float(out["probability"][row])
    weights, tokens = np.asarray(out["weights"][row]), np.asarray(out["tokens"][row])
    assert np.isfinite(p) and 0 <= p <= 1, name
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0) and np.all(weights[tokens == b""] == 0), name
    if (tokens != b"").any():
        assert weights.sum() == pytest.approx(1.0, abs=1e-5), name
    else:
        assert p == 0.5 and weights.sum() == 0, name
        assert int(out["label_id"][row]) == -1, name


@pytest.mark.parametrize("variant", ["baseline", "rnn_attention", "ngram", "hybrid"])
def test_bad_input_gets_a_valid_answer(variant, tmp_path):
    _, model, parts = explainable(tmp_path, variant)
    explain = tf.function(make_explain(model, parts), input_signature=serving.input_signature(), autograph=False)
    serve = tf.function(serving.make_serve(model, parts), input_signature=serving.input_signature(), autograph=False)
    texts = tf.constant(list(BAD.values()))
    out = {k: v.numpy() for k, v in explain(texts).items()}
    for row, name in enumerate(BAD):
        check_valid_answer(out, row, name)
        alone = explain(tf.constant([BAD[name]]))
        assert float(alone["probability"][0]) == pytest.approx(float(out["probability"][row]), abs=1e-6)
    np.testing.assert_allclose(out["probability"], serve(texts)["probability"].numpy(), atol=1e-6)
    if variant not in ("ngram", "hybrid"):  # serve's n-gram vectorizer cannot take an empty batch
        assert explain(tf.constant([], tf.string))["weights"].shape[0] == 0
    assert out["tokens"][BAD_ORDER.index("one_megabyte")][0] == b"a"


BAD_ORDER = list(BAD)


# --------------------------------------------------------------------------- #
# The export: TensorFlow alone, agreeing with the Python path.

EXPORT_TEXTS = ["a great film with a dull ending", "awful boring terrible waste", "zzqx", *BAD_TEXTS.keys()]


@pytest.fixture(scope="module")
def explained_exports(tiny_run, tmp_path_factory):
    """{name: (run_dir, export_dir)}: the trained tiny run (gradient x input) and a hybrid with a transformer branch."""
    tmp = tmp_path_factory.mktemp("explain_export")
    config, model, parts = explainable(tmp, "hybrid", temperature=1.0, hybrid={"branch": "transformer"}, pooling="max")
    hybrid_run = save_run(str(tmp / "hybrid_run"), config, model, reload_parts(parts))
    out = {}
    for name, run_dir in (("baseline", tiny_run), ("hybrid", hybrid_run)):
        out[name] = (run_dir, export.export_run(run_dir, str(tmp / f"{name}_export")))
    return out


def texts_for_export() -> list[bytes]:
    return [t.encode() for t in EXPORT_TEXTS[:3]] + list(BAD_TEXTS.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "hybrid"])
def test_export_explain_runs_with_tensorflow_alone_and_agrees_with_the_python_path(name, explained_exports, tmp_path):
    run_dir, export_dir = explained_exports[name]
    script = """
    model = tf.saved_model.load(data["export"])
    texts = [bytes.fromhex(t) for t in data["texts"]]
    out = model.explain(tf.constant(texts))
    result = {key: (value.numpy().astype(str).tolist() if value.dtype == tf.string else value.numpy().tolist())
              for key, value in out.items()}
    result["serve"] = model.serve(tf.constant(texts))["probability"].numpy().tolist()
    """
    texts = texts_for_export()
    got = run_tf_only(script, {"export": export_dir, "texts": [t.hex() for t in texts]}, tmp_path)
    assert got.pop("imported") == []
    python = {k: v.numpy() for k, v in explain_function(run_dir)(tf.constant(texts)).items()}
    np.testing.assert_allclose(got["weights"], python["weights"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["probability"], python["probability"], atol=1e-5, rtol=0)
    assert got["tokens"] == python["tokens"].astype(str).tolist()
    np.testing.assert_allclose(got["serve"], got["probability"], atol=1e-6, rtol=0)  # explain answers as serve does
    np.testing.assert_allclose(got["probability"], Predictor(run_dir)(texts).probabilities[:, 1], atol=1e-5, rtol=0)
    if name == "hybrid":
        assert got["ngrams"] == python["ngrams"].astype(str).tolist()
        np.testing.assert_allclose(got["ngram_contributions"], python["ngram_contributions"], atol=1e-5, rtol=0)
    for row in range(len(texts)):
        check_valid_answer(
            {k: np.asarray(v) for k, v in got.items() if k != "serve"}
            | {"tokens": np.asarray(got["tokens"], dtype=object).astype(bytes)},
            row,
            str(row),
        )


def test_metadata_lists_the_explain_endpoint(explained_exports):
    for name, (_run_dir, export_dir) in explained_exports.items():
        meta = runs.read_json(os.path.join(export_dir, serving.METADATA))
        assert meta["endpoints"] == ["serve", "explain"]
        assert meta["signature"]["endpoint"] == "serve"  # serve's description is unchanged
        explain = meta["explain"]
        assert explain["endpoint"] == "explain" and explain["inputs"] == {"texts": {"dtype": "string", "shape": [None]}}
        outputs = {
            "tokens": {"dtype": "string", "shape": [None, 32]},
            "weights": {"dtype": "float32", "shape": [None, 32]},
            "probability": {"dtype": "float32", "shape": [None]},
            "probabilities": {"dtype": "float32", "shape": [None, 2]},
            "label": {"dtype": "string", "shape": [None]},
            "label_id": {"dtype": "int32", "shape": [None]},
            "known_tokens": {"dtype": "int32", "shape": [None]},
        }
        if name == "hybrid":
            outputs |= {
                "ngrams": {"dtype": "string", "shape": [None, None]},
                "ngram_contributions": {"dtype": "float32", "shape": [None, None]},
            }
            assert "transformer word branch" in explain["weights"] and "rollout" in explain["weights"]
        else:
            assert "gradient x input" in explain["weights"]
        assert explain["outputs"] == outputs
        json.dumps(meta)
