"""KERAS_BACKEND=jax: train and evaluate a word-sequence model, export it under TensorFlow, serve the same answers."""

import glob
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "--set",
    "data.vocab_size=64",
    "--set",
    "data.sequence_length=32",
    "--set",
    "data.validation_size=40",
    "--set",
    "model.embedding_dim=8",
    "--set",
    "train.batch_size=16",
    "--epochs",
    "2",
]

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[jax]')"
)

# Run under JAX: the run's own model predictions (its temperature applied) for the given reviews,
# and the test accuracy that evaluate_run computes under this backend.
JAX_SIDE = """
import json, sys
import keras, numpy as np, tensorflow as tf
from textattn import runs
from textattn.data.text import truncate_and_pad
from textattn.evaluation.run import evaluate_run
from textattn.serving import load_serving_parts
from textattn.inference import calibrate
run_dir, data, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
parts, model = load_serving_parts(run_dir)
ids = truncate_and_pad(parts.vectorizer(tf.constant(texts)), parts.config.data.sequence_length, parts.config.data.keep)
probabilities = calibrate(np.asarray(model.predict(np.asarray(ids), verbose=0)), runs.temperature(run_dir))
result, _ = evaluate_run(run_dir, "test", data, latency_calls=3, verbose=False)
print(json.dumps({"backend": keras.backend.backend(), "positive": probabilities[:, 1].tolist(),
                  "test_accuracy": result["metrics"]["accuracy"]}))
"""


def run(args, backend, tmp_path, timeout=400):
    env = {**os.environ, "KERAS_BACKEND": backend, "TEXTATTN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def test_truncate_and_pad_takes_zero_padded_ids():
    """A vectorizer's output under a non-TensorFlow backend: dense rows padded with 0 after the tokens."""
    import tensorflow as tf

    from textattn.data.text import truncate_and_pad

    padded = tf.constant([[5, 6, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]])
    assert truncate_and_pad(padded, 2, "end").numpy().tolist() == [[6, 7], [8, 0], [0, 0]]
    assert truncate_and_pad(padded, 3, "start").numpy().tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]


@pytest.mark.slow
@needs_jax
def test_ngram_under_jax_is_one_error_line_naming_the_backend(tiny_aclimdb, tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "TEXTATTN_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config",
            "configs/ngram.yaml",
            "--data",
            tiny_aclimdb,
            "--output-dir",
            str(tmp_path / "runs"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "KERAS_BACKEND=jax" in errors[0] and "'ngram'" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.slow
@needs_jax
def test_jax_trained_run_evaluates_and_its_export_serves_the_same_probabilities(tiny_aclimdb, tmp_path):
    out = tmp_path / "runs"
    run(
        [
            "train.py",
            "--config",
            "configs/seed_attention.yaml",
            "--data",
            tiny_aclimdb,
            "--output-dir",
            str(out),
            *TINY,
        ],
        "jax",
        tmp_path,
    )
    (run_dir,) = glob.glob(str(out / "*"))
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["versions"]["keras_backend"] == "jax"

    texts = []
    for path in sorted(glob.glob(os.path.join(tiny_aclimdb, "test", "*", "*.txt")))[::6]:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    jax_side = json.loads(
        run(["-c", JAX_SIDE, run_dir, tiny_aclimdb, json.dumps(texts)], "jax", tmp_path).strip().splitlines()[-1]
    )
    assert jax_side["backend"] == "jax"
    # evaluate_run under JAX scores the same test split that training did, with the same model.
    assert jax_side["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)

    export_dir = tmp_path / "export"
    run(["-m", "textattn", "export", run_dir, str(export_dir)], "tensorflow", tmp_path)
    import tensorflow as tf

    loaded = tf.saved_model.load(str(export_dir))  # held: the endpoint alone does not keep the variables alive
    served = loaded.serve(tf.constant(texts))
    assert (served["known_tokens"].numpy() > 0).all(), "every review has evidence, so none is answered 0.5"
    np.testing.assert_allclose(served["probability"].numpy(), jax_side["positive"], atol=1e-4, rtol=0)
    assert len(set(np.round(jax_side["positive"], 4))) > 1, "the model answers differently for different reviews"
