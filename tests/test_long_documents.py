"""Long documents (data.long_text: chunks): the window split, the pooling, the config checks, serving and export."""

import os
import random
import re
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import run_tf_only, tiny_config, write_review

from textattn import export, long_text, runs, serving
from textattn.__main__ import main
from textattn.atomic_write import write_json
from textattn.config import apply_overrides, config_from_dict, config_to_dict, save_config
from textattn.data import chunks
from textattn.data.text import make_vectorizer, texts_to_ids
from textattn.errors import UserError
from textattn.evaluation.calibration import apply_temperature, brier_score
from textattn.models import build_model

# Windows of 4 tokens every 3 (overlap 1), at most 3: they cover 4 + 2 * 3 = 10 tokens.
S, OVERLAP, K = 4, 1, 3


def windows_of(rows, width=10):
    """split_windows on int rows (tokens, then padding to ``width``) -> (windows as lists, owner as list)."""
    ids = np.zeros((len(rows), width), np.int32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
    windows, owner = chunks.split_windows(tf.constant(ids), S, OVERLAP, K)
    return windows.numpy().tolist(), owner.numpy().tolist()


def test_covered_length_and_stride():
    assert chunks.stride(S, OVERLAP) == 3
    assert chunks.covered_length(S, OVERLAP, K) == 10
    assert chunks.covered_length(256, 64, 8) == 256 + 7 * 192


def test_long_review_is_split_with_overlap_and_the_last_window_ends_on_its_last_token():
    windows, owner = windows_of([[11, 12, 13, 14, 15, 16, 17, 18, 19]])
    # Starts 0, 3 and 6 would leave the last window partial: it starts at 5 instead, full.
    assert windows == [[11, 12, 13, 14], [14, 15, 16, 17], [16, 17, 18, 19]]
    assert owner == [0, 0, 0]


def test_a_last_window_on_the_stride_is_not_moved():
    assert windows_of([list(range(11, 21))])[0] == [[11, 12, 13, 14], [14, 15, 16, 17], [17, 18, 19, 20]]


def test_a_window_is_kept_only_when_it_brings_new_tokens():
    # 5 tokens: the second window brings token 15; 4 tokens: one window holds them all.
    assert windows_of([[11, 12, 13, 14, 15]])[0] == [[11, 12, 13, 14], [12, 13, 14, 15]]
    assert windows_of([[11, 12, 13, 14]])[0] == [[11, 12, 13, 14]]


def test_short_and_empty_reviews_are_one_window():
    windows, owner = windows_of([[11, 12], []])
    assert windows == [[11, 12, 0, 0], [0, 0, 0, 0]]
    assert owner == [0, 1]


def test_tokens_past_the_covered_length_are_not_read():
    windows, _ = windows_of([list(range(11, 25))], width=14)
    assert windows == [[11, 12, 13, 14], [14, 15, 16, 17], [17, 18, 19, 20]]


def test_rows_of_a_batch_keep_their_own_windows():
    windows, owner = windows_of([[11, 12, 13, 14, 15], [21], [31, 32, 33, 34, 35, 36, 37, 38]])
    assert owner == [0, 0, 1, 2, 2, 2]
    assert windows[2] == [21, 0, 0, 0] and windows[5] == [35, 36, 37, 38]


def test_window_counts_match_a_brute_force_count():
    lengths = np.arange(0, 40)
    got = chunks.window_counts(tf.constant(lengths), S, OVERLAP, K).numpy()
    step = S - OVERLAP
    expected = [min(K, 1 + sum(1 for k in range(1, 100) if (k - 1) * step + S < n)) for n in lengths]
    assert got.tolist() == expected


def test_narrow_ids_are_padded_before_framing():
    # A batch padded only to its longest review (6 tokens) gives the windows the covered width gives.
    assert windows_of([[11, 12, 13, 14, 15, 16]], width=6) == windows_of([[11, 12, 13, 14, 15, 16]], width=10)


def test_mean_log_probabilities_is_the_sigmoid_of_the_mean_log_odds():
    p = np.array([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1], [0.3, 0.7]], np.float32)
    owner = tf.constant([0, 0, 1, 1 + 1], tf.int32)
    got = long_text.mean_log_probabilities(tf.constant(p), owner, 3).numpy()
    log_odds = np.log(p[:, 1]) - np.log(p[:, 0])
    expected = 1.0 / (1.0 + np.exp(-np.array([log_odds[:2].mean(), log_odds[2], log_odds[3]])))
    np.testing.assert_allclose(got[:, 1], expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got[2], p[3], atol=1e-6)  # one window: its own probabilities


def test_mean_log_probabilities_of_three_classes():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], np.float32)
    got = long_text.mean_log_probabilities(tf.constant(p), tf.constant([0, 0]), 1).numpy()
    geometric = np.exp(np.log(p).mean(axis=0))
    np.testing.assert_allclose(got[0], geometric / geometric.sum(), atol=1e-6)


def test_a_sigmoid_output_is_pooled_in_its_own_form():
    p = np.array([[0.8], [0.4]], np.float32)
    got = long_text.pooled(tf.constant(p), tf.constant([0, 0]), 1).numpy()
    assert got.shape == (1, 1)
    log_odds = np.log(p[:, 0] / (1 - p[:, 0])).mean()
    np.testing.assert_allclose(got[0, 0], 1 / (1 + np.exp(-log_odds)), atol=1e-6)


# --------------------------------------------------------------------------- #
# Config.


def chunked_dict(tmp_path, **data):
    base = config_to_dict(tiny_config(tmp_path))
    base["data"].update({"long_text": "chunks", "chunk_overlap": 8, **data})
    return base


def test_cut_is_the_default():
    config = config_from_dict({})
    assert (config.data.long_text, config.data.chunk_overlap, config.data.max_chunks) == ("cut", 64, 8)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"chunk_overlap": 32}, "data.chunk_overlap must be at least 0 and below data.sequence_length (32)"),
        ({"chunk_overlap": -1}, "data.chunk_overlap must be at least 0"),
        ({"max_chunks": 0}, "data.max_chunks must be at least 1"),
        ({"long_text": "windows"}, "data.long_text: expected one of 'cut' | 'chunks'"),
    ],
)
def test_bad_chunk_settings_are_user_errors(tmp_path, data, message):
    with pytest.raises(UserError, match=re.escape(message)):
        config_from_dict(chunked_dict(tmp_path, **data))


def test_chunk_settings_are_not_checked_when_cutting(tmp_path):
    config = config_from_dict(chunked_dict(tmp_path, long_text="cut", chunk_overlap=100))
    assert config.data.chunk_overlap == 100


def test_the_ngram_model_cannot_be_chunked(tmp_path):
    base = chunked_dict(tmp_path)
    base["model"]["variant"] = "ngram"
    with pytest.raises(UserError, match="model.variant 'ngram' does not read"):
        config_from_dict(base)


def test_overlap_at_least_the_sequence_length_exits_2_writing_nothing(tmp_path, capsys):
    out = tmp_path / "runs"
    argv = [
        "train",
        "--config",
        "configs/fast.yaml",
        "--output-dir",
        str(out),
        "--set",
        "data.long_text=chunks",
        "--set",
        "data.chunk_overlap=256",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "data.chunk_overlap must be at least 0 and below data.sequence_length (256)" in err
    assert not out.exists()


# --------------------------------------------------------------------------- #
# Serving: the chunked computation against Keras, window by window.


def long_texts(n: int, seed: int = 11) -> list[str]:
    """Reviews of 10 to 150 words: many longer than the tiny run's 32 tokens."""
    rng = random.Random(seed)
    return [write_review(rng, "pos" if i % 2 else "neg", length=rng.randint(10, 150)) for i in range(n)]


def chunked_run(run_dir: str, tmp_path, **data) -> str:
    """A copy of ``run_dir`` whose config reads long reviews in chunks (the same trained model)."""
    os.makedirs(tmp_path, exist_ok=True)
    copy = str(tmp_path / "chunked_run")
    shutil.copytree(run_dir, copy)
    settings = [
        f"data.{key}={value}"
        for key, value in {"long_text": "chunks", "chunk_overlap": 8, "max_chunks": 4, **data}.items()
    ]
    save_config(apply_overrides(runs.load_config(run_dir), settings), os.path.join(copy, runs.CONFIG))
    return copy


def keras_chunked_probabilities(run_dir: str, texts: list[str]) -> np.ndarray:
    """What chunked serving should answer, computed with NumPy around ``model.predict``: (N, 2)."""
    config, model, vectorizer = serving.load_run(run_dir)
    data = config.data
    step = data.sequence_length - data.chunk_overlap
    ids = texts_to_ids(vectorizer, texts, data.sequence_length + (data.max_chunks - 1) * step, data.keep)
    out = []
    for row in ids:
        n = int((row != 0).sum())
        starts = [
            min(k * step, max(n - data.sequence_length, 0))
            for k in range(data.max_chunks)
            if k == 0 or (k - 1) * step + data.sequence_length < n
        ]
        windows = [row[start : start + data.sequence_length] for start in starts]
        log_p = np.log(np.clip(model.predict(np.stack(windows), verbose=0), 1e-7, 1.0))
        mean = log_p.mean(axis=0)
        out.append(np.exp(mean - mean.max()) / np.exp(mean - mean.max()).sum())
    return apply_temperature(np.array(out), runs.temperature(run_dir))


@pytest.fixture(scope="module")
def chunked(tiny_run, tmp_path_factory) -> str:
    return chunked_run(tiny_run, tmp_path_factory.mktemp("chunked"))


def test_chunked_serving_matches_the_window_by_window_computation(chunked):
    texts = long_texts(24)
    got = serving.serving_function(chunked)(tf.constant(texts))["probabilities"].numpy()
    np.testing.assert_allclose(got, keras_chunked_probabilities(chunked, texts), atol=1e-5, rtol=0)


def test_chunks_change_long_reviews_only(tiny_run, chunked):
    config = runs.load_config(tiny_run)
    texts = long_texts(40)
    vectorizer = make_vectorizer(config.data.vocab_size, runs.load_vocabulary(os.path.join(tiny_run, runs.VOCAB)))
    lengths = np.array([len(row) for row in vectorizer(tf.constant(texts)).to_list()])
    cut = serving.serving_function(tiny_run)(tf.constant(texts))["probabilities"].numpy()
    pooled = serving.serving_function(chunked)(tf.constant(texts))["probabilities"].numpy()
    short = lengths <= config.data.sequence_length
    assert short.any() and (~short).any()
    np.testing.assert_allclose(pooled[short], cut[short], atol=1e-5, rtol=0)
    assert np.abs(pooled[~short] - cut[~short]).max() > 1e-4


def test_a_review_scores_the_same_alone_or_in_any_batch(chunked):
    serve = serving.serving_function(chunked)
    texts = long_texts(9) + ["", "!!!"]
    together = serve(tf.constant(texts))["probabilities"].numpy()
    alone = np.concatenate([serve(tf.constant([t]))["probabilities"].numpy() for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6, rtol=0)
    assert serve(tf.constant(["", "!!!"]))["label_id"].numpy().tolist() == [-1, -1]


def test_ids_padded_to_any_width_score_the_same(chunked):
    config, model, _ = serving.load_run(chunked)
    call = long_text.chunked_call(model, config, lambda ids: model(ids, training=False))
    width = long_text.input_length(config)
    rng = np.random.default_rng(0)
    ids = np.zeros((3, width + 17), np.int32)
    for i, n in enumerate((5, 40, 45)):
        ids[i, :n] = rng.integers(2, config.data.vocab_size, n)
    expected = call(tf.constant(ids[:, :width])).numpy()
    for cut_at in (45, width + 17):  # padded to the batch's longest review, or past what the windows cover
        np.testing.assert_allclose(call(tf.constant(ids[:, :cut_at])).numpy(), expected, atol=1e-6)


def test_the_hybrid_chunks_its_word_branch_only(tmp_path):
    keras.utils.set_random_seed(5)
    config = config_from_dict(
        {
            **chunked_dict(tmp_path, max_chunks=4),
            "model": {"variant": "hybrid", "embedding_dim": 8, "mask_padding": True, "hybrid": {"branch": "baseline"}},
        }
    )
    model = build_model(config, ngram_vocab_size=50)
    model.get_layer("blend").set_blend([0.7, 1.3], [0.1, -0.1])
    width = long_text.input_length(config)
    ids = np.zeros((2, width), np.int32)
    ids[0, :70] = np.arange(2, 72) % 60 + 2
    ids[1, :9] = np.arange(3, 12)
    bags = tf.sparse.SparseTensor([[0, 3], [0, 7], [1, 9]], [1.0, 1.0, 1.0], [2, 50])
    got = long_text.chunked_call(model, config, None)({"token_ids": tf.constant(ids), "ngrams": bags}).numpy()

    word, ngram, blend = (model.get_layer(n) for n in ("word_branch", "ngram_branch", "blend"))
    windows, owner = chunks.split_windows(tf.constant(ids), 32, 8, 4)
    word_p = long_text.mean_log_probabilities(word(windows), owner, 2)
    expected = blend([ngram(bags), word_p]).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert owner.numpy().tolist() == [0, 0, 0, 1]  # 70 tokens: windows at 0, 24 and 38 (ending on the last)


# --------------------------------------------------------------------------- #
# The export.


@pytest.mark.slow
def test_chunked_export_serves_with_tensorflow_alone(chunked, tmp_path):
    out_dir = export.export_run(chunked, str(tmp_path / "export"))
    texts = long_texts(30, seed=3)
    script = """
    model = tf.saved_model.load(data["export"])
    out = model.serve(tf.constant(data["texts"]))
    result = {"probabilities": out["probabilities"].numpy().tolist()}
    """
    served = run_tf_only(script, {"export": out_dir, "texts": texts}, tmp_path)
    assert served["imported"] == []
    expected = keras_chunked_probabilities(chunked, texts)
    np.testing.assert_allclose(np.array(served["probabilities"]), expected, atol=1e-5, rtol=0)
    meta = runs.read_json(os.path.join(out_dir, serving.METADATA))
    assert meta["long_text"]["mode"] == "chunks" and meta["long_text"]["max_chunks"] == 4


def softened_copy(run_dir: str, tmp_path, name: str, temperature: float = 30.0, **data) -> str:
    """A copy of ``run_dir`` (chunked with ``data`` settings, else as it is) whose temperature keeps the tiny
    model's probabilities off 0 and 1, so that scores show every change of them."""
    copy = chunked_run(run_dir, tmp_path / name, **data) if data else shutil.copytree(run_dir, str(tmp_path / name))
    metrics = runs.read_json(os.path.join(copy, runs.METRICS))
    metrics["calibration"]["temperature"] = temperature
    write_json(os.path.join(copy, runs.METRICS), metrics)
    return copy


@pytest.mark.slow
def test_evaluate_scores_a_chunked_run_as_it_is_served(tiny_run, tiny_aclimdb, tmp_path):
    from textattn.data import pipeline
    from textattn.evaluation.run import evaluate_run

    def brier_of(run_dir):
        return evaluate_run(run_dir, "test", data_path=tiny_aclimdb, latency_calls=3, verbose=False)[0]["metrics"][
            "brier"
        ]

    chunked_copy = softened_copy(tiny_run, tmp_path, "chunked", long_text="chunks")
    config = runs.load_config(chunked_copy)
    texts, labels = pipeline.split_texts(apply_overrides(config, [f"data.path={tiny_aclimdb}"]).data, config.seed).test
    served = long_text.served_probabilities(serving.serving_function(chunked_copy), texts)
    assert brier_of(chunked_copy) == pytest.approx(brier_score(labels, served), abs=1e-6)
    assert abs(brier_of(softened_copy(tiny_run, tmp_path, "cut")) - brier_score(labels, served)) > 1e-5
