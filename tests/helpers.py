"""Helpers shared by the test modules: tiny data, tiny configs, a TensorFlow-only interpreter.

Test modules import these (``from helpers import tiny_config``); fixtures built
on them are in conftest.py. Nothing here is a test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
import textwrap

import yaml

from textattn.config import Config, config_from_dict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_ARCHIVE = os.environ.get("TEXTATTN_DATA") or os.path.join(REPO, "..", "shared", "data", "aclImdb.tar.gz")


def load_script(name: str):
    """A top-level script of the repository (``train.py``, ``evaluate.py``) as a module."""
    spec = importlib.util.spec_from_file_location(name.replace(".py", "_script"), os.path.join(REPO, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- #
# A tiny, learnable aclImdb tree.

POSITIVE = "great wonderful superb brilliant moving loved excellent beautiful".split()
NEGATIVE = "awful boring terrible waste dull hated worst poor".split()
NEUTRAL = "the film movie plot actor scene story and a of it was this director music ending".split()


def write_review(rng: random.Random, label: str, length: int | None = None) -> str:
    """One review of ``length`` words (8-40 when None): neutral words with 30 % cues of ``label`` ("pos"/"neg")."""
    length = length or rng.randint(8, 40)
    cue = POSITIVE if label == "pos" else NEGATIVE
    words = [rng.choice(cue) if rng.random() < 0.3 else rng.choice(NEUTRAL) for _ in range(length)]
    words[rng.randrange(length)] = rng.choice(cue).upper() + "!"
    return " ".join(words[: length // 2]) + " <br /><br />" + " ".join(words[length // 2 :]) + "."


def make_aclimdb(root, n_train=120, n_test=60, n_unsup=10, seed=0) -> str:
    """Write a small aclImdb tree (balanced, learnable) under ``root``; return its path."""
    rng = random.Random(seed)
    base = os.path.join(str(root), "aclImdb")
    counts = {
        ("train", "pos"): n_train // 2,
        ("train", "neg"): n_train // 2,
        ("test", "pos"): n_test // 2,
        ("test", "neg"): n_test // 2,
        ("train", "unsup"): n_unsup,
    }
    for (split, label), n in counts.items():
        folder = os.path.join(base, split, label)
        os.makedirs(folder, exist_ok=True)
        for i in range(n):
            rating = 0 if label == "unsup" else (rng.randint(7, 10) if label == "pos" else rng.randint(1, 4))
            with open(os.path.join(folder, f"{i}_{rating}.txt"), "w", encoding="utf-8") as f:
                f.write(write_review(rng, "pos" if label == "unsup" else label))
        if split == "train" and label != "unsup":  # line i: review i's movie, one of 12 (as aclImdb's urls files)
            with open(os.path.join(base, split, f"urls_{label}.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"http://www.imdb.com/title/tt{i % 12:07d}/usercomments\n" for i in range(n))
    return base


# --------------------------------------------------------------------------- #
# Three learnable classes in a CSV.

THREE_CLASSES = ("cooking", "politics", "sports")  # sorted: the reader's class order
THREE_CLASS_CUES = {
    "cooking": "recipe oven flour garlic simmer bake".split(),
    "politics": "vote election senate policy minister party".split(),
    "sports": "goal match team score coach league".split(),
}


def three_class_texts(n: int, seed: int) -> tuple[list[str], list[int]]:
    """``n`` texts cycling through THREE_CLASSES (neutral words with 35 % cues of the class) and their label ids."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % len(THREE_CLASSES)
        cues = THREE_CLASS_CUES[THREE_CLASSES[label]]
        words = [rng.choice(cues) if rng.random() < 0.35 else rng.choice(NEUTRAL) for _ in range(rng.randint(6, 24))]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def write_three_class_csv(path, n_train: int = 150, n_test: int = 60, seed: int = 0) -> str:
    """A ``text,label,split`` CSV of three learnable classes (THREE_CLASSES) at ``path``; returns its path."""
    import csv

    rows = []
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        texts, labels = three_class_texts(n, seed + offset)
        rows += [(text, THREE_CLASSES[label], split) for text, label in zip(texts, labels)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "split"])
        writer.writerows(rows)
    return str(path)


# --------------------------------------------------------------------------- #
# Tiny configs.


def local_data(path: str | None) -> dict:
    """The data settings of a settled local source at ``path`` (none when ``path`` is None)."""
    return {"source": "local", "path": os.path.abspath(path)} if path else {}


def tiny_config(tmp_path, variant="baseline", data: str | None = None, **model) -> Config:
    """A config for fast tests on the tiny tree: vocab 64, length 32, 40 validation reviews, 2 epochs.

    With ``data`` (an aclImdb path) its data source is settled on that copy, ready to train.
    """
    return config_from_dict(
        {
            "name": f"tiny_{variant}",
            "seed": 7,
            "data": {
                "vocab_size": 64,
                "sequence_length": 32,
                "validation_size": 40,
                "cache_dir": os.path.join(str(tmp_path), "cache"),
                **local_data(data),
            },
            "model": {"variant": variant, "embedding_dim": 8, "mask_padding": True, **model},
            "train": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01},
        }
    )


def tiny_tune_dict(tmp_path, data: str | None = None, **tuner) -> dict:
    """A search over every variant on the tiny data: vocab 64, length 32, 1 epoch per trial.

    With ``data`` (an aclImdb path) the base config's data source is settled on that copy.
    """
    return {
        "base": {
            "name": "tiny_tune",
            "seed": 7,
            "data": {
                "vocab_size": 64,
                "sequence_length": 32,
                "validation_size": 40,
                "cache_dir": os.path.join(str(tmp_path), "cache"),
                **local_data(data),
            },
            "model": {
                "variant": "baseline",
                "embedding_dim": 8,
                "mask_padding": True,
                "additive": {"units": 4},
                "rnn": {"units": 8, "attention_units": 8},
                "transformer": {"ff_dim": 16},
                "ngram": {"vocab_size": 400},
                "hybrid": {"branch": "baseline", "ngram_learning_rate": 0.01, "ngram_epochs": 1},
            },
            "train": {"batch_size": 16, "learning_rate": 0.01},
        },
        "search": {
            "shared": {
                "data.sequence_length": [32, 24],
                "data.vocab_size": [64, 48],
                "model.embedding_dim": [8, 4],
                "model.positional": ["none", "learned", "sinusoidal"],
                "model.pooling": ["average", "max", "attention"],
                "model.mask_padding": [True, False],
                "model.dropout": {"min": 0.0, "max": 0.3, "step": 0.1},
                "train.learning_rate": {"min": 0.001, "max": 0.03, "sampling": "log"},
            },
            "variants": {
                "baseline": None,
                "attention": {"model.attention.num_layers": [2, 1], "model.attention.score_mode": ["dot", "concat"]},
                "additive": {"model.additive.units": [4, 2]},
                "mha": {"model.mha.num_heads": {"min": 1, "max": 2}, "model.mha.key_dim": [2, 4]},
                "transformer": {"model.transformer.ff_dim": [16, 8], "model.transformer.num_heads": [2, 1]},
                "rnn_attention": {"model.rnn.cell": ["gru", "lstm"], "model.rnn.units": [8, 4]},
                "ngram": {"model.ngram.max_ngram": [3, 2], "model.ngram.vocab_size": [400, 200]},
                "hybrid": {
                    "model.hybrid.branch": ["baseline", "attention"],
                    "model.hybrid.ngram_learning_rate": [0.01, 0.003],
                },
            },
        },
        "tuner": {
            "kind": "random",
            "max_trials": 2,
            "epochs": 1,
            "patience": 1,
            "directory": os.path.join(str(tmp_path), "tuner"),
            "project_name": "tiny",
            **tuner,
        },
    }


def write_tune_yaml(tmp_path, **tuner) -> str:
    """``tiny_tune_dict`` written as tmp_path/tune.yaml; returns its path."""
    path = os.path.join(str(tmp_path), "tune.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(tiny_tune_dict(tmp_path, **tuner), f, sort_keys=False)
    return path


# --------------------------------------------------------------------------- #
# Time that only moves when a test moves it.


class FakeClock:
    """Stands in for ``time.perf_counter``: returns the current fake time; ``advance(s)`` moves it."""

    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_time(monkeypatch, module) -> FakeClock:
    """Replace ``module.time`` (a module that did ``import time``) by a FakeClock's ``perf_counter``."""
    import types

    clock = FakeClock()
    monkeypatch.setattr(module, "time", types.SimpleNamespace(perf_counter=clock))
    return clock


# --------------------------------------------------------------------------- #
# Serving with TensorFlow alone.

# Texts a server may be sent; each must get a probability in [0, 1].
BAD_TEXTS = {
    "empty": b"",
    "whitespace": b"  \t \n \r\n  ",
    "punctuation_only": b"!!! ... ??? <br />",
    "one_megabyte": b"a great film, wonderful acting <br /><br />" * (2**20 // 43 + 1),
    "invalid_utf8": b"\xff\xfe great \xc3\x28 film \xed\xa0\x80 awful \xf0\x28\x8c\xbc \x80",
    "control_chars": b"\x00\x01\x07\x1b[31mawful\x7f\x0c boring\x00",
    "emoji_cjk": "😀👍🏽 素晴らしい映画 great 🎬 영화 最悪".encode(),
    "html": b"<html><head><script>alert('x')</script></head><body><p>great</p><br/><img src=x></body></html>",
}

# Runs in a fresh interpreter where keras and textattn cannot be imported at all,
# as on a serving host that has only TensorFlow.
TF_ONLY_PRELUDE = """
import importlib.abc, importlib.machinery, json, sys

class Unavailable(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "tf_keras", "textattn"):
            return importlib.machinery.ModuleSpec(name, None)  # no loader: the import fails
        return None

sys.meta_path.insert(0, Unavailable())
import tensorflow as tf
"""


def run_tf_only(script: str, data: dict, tmp_path) -> dict:
    """Run ``script`` (which reads ``data`` and sets ``result``) in a TensorFlow-only interpreter.

    Returns ``result`` plus ``result["imported"]``: which of keras, tf_keras and
    textattn ended up imported (should be none).
    """
    data_path, result_path = tmp_path / "input.json", tmp_path / "result.json"
    data_path.write_text(json.dumps(data))
    source = (
        TF_ONLY_PRELUDE
        + f"data = json.load(open({str(data_path)!r}))\n"
        + textwrap.dedent(script)
        + (
            "\nresult['imported'] = sorted(m for m in ('keras', 'tf_keras', 'textattn') if m in sys.modules)"
            f"\njson.dump(result, open({str(result_path)!r}, 'w'))\n"
        )
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", source], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(result_path.read_text())


SERVE_EXPORT = """
model = tf.saved_model.load(data["export"])
out = model.serve(tf.constant(data["texts"]))
result = {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy().tolist() for k, v in out.items()}
"""


def serve_tf_only(export_dir: str, texts: list[str], tmp_path) -> dict:
    """The export's ``serve`` outputs for ``texts`` as lists, computed by TensorFlow alone (``run_tf_only``)."""
    return run_tf_only(SERVE_EXPORT, {"export": export_dir, "texts": texts}, tmp_path)
