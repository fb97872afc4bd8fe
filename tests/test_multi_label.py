"""Multi-label data (JSONL lists, CSV with a separator, shared file names in class folders), its bad cases,
the sigmoid head, threshold fitting and figures, and the whole way from a JSONL to a served label set."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
from helpers import REPO, write_tune_yaml

from textattn.config import Config, apply_overrides
from textattn.data import multi_labels
from textattn.data.source import resolve_data
from textattn.errors import UserError

FRUIT = {"apple": ["apple", "pear"], "berry": ["berry", "currant"], "citrus": ["lemon", "lime"]}
FILLER = "the a of and it was this".split()


def label_sets(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [rng.sample(sorted(FRUIT), rng.randint(1, 3)) for _ in range(n)]


def text_of(labels, rng: random.Random) -> str:
    words = [rng.choice(FRUIT[label]) for label in labels for _ in range(2)] + rng.sample(FILLER, 3)
    rng.shuffle(words)
    return " ".join(words)


def write_jsonl(path, sets, seed: int = 0, key: str = "labels", splits=None) -> str:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i, labels in enumerate(sets):
            row = {"text": text_of([labels] if isinstance(labels, str) else labels, rng), key: labels}
            if splits is not None:
                row["split"] = splits[i]
            f.write(json.dumps(row) + "\n")
    return str(path)


def settled(tmp_path, path: str, *overrides: str) -> Config:
    config = apply_overrides(Config(), [f"data.cache_dir={tmp_path / 'cache'}", *overrides])
    return resolve_data(config, path)


def multi(tmp_path, path: str, *overrides: str) -> multi_labels.MultiLabelled:
    return multi_labels.read(settled(tmp_path, path, "data.multi_label=true", *overrides).data)


# --------------------------------------------------------------------------- #
# Each input format.


def test_a_jsonl_list_becomes_a_multi_hot_row(tmp_path):
    sets = [["berry", "apple"], ["citrus"], ["apple", "apple"], "berry"] * 3
    data = multi(tmp_path, write_jsonl(tmp_path / "x.jsonl", sets))
    assert data.class_names == ["apple", "berry", "citrus"]
    np.testing.assert_array_equal(data.labels[:4], [[1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert data.labels.dtype == np.float32 and len(data.texts) == 12


def test_a_csv_label_column_is_split_by_the_separator(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text,tags\nsweet apple,apple| berry\nsour lime,citrus\njam,berry|apple|\n", encoding="utf-8")
    data = multi(tmp_path, str(path), "data.label_field=tags", "data.label_separator=|")
    assert data.class_names == ["apple", "berry", "citrus"]
    np.testing.assert_array_equal(data.labels, [[1, 1, 0], [0, 0, 1], [1, 1, 0]])


def write_tree(root, files: dict) -> str:
    """``files``: {relative path: text}."""
    for rel, text in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
    return str(root)


def test_one_file_name_under_several_class_folders_is_one_example_with_those_labels(tmp_path):
    root = write_tree(
        tmp_path / "tree",
        {
            "apple/1.txt": "pear jam",
            "berry/1.txt": "pear jam",
            "berry/2.txt": "currant",
            "citrus/3.txt": "lime",
            "apple/4.txt": "pear",
        },
    )
    data = multi(tmp_path, root)
    assert data.class_names == ["apple", "berry", "citrus"]
    rows = dict(zip(data.texts, data.labels.tolist()))
    assert len(data.texts) == 4 and rows["pear jam"] == [1, 1, 0] and rows["lime"] == [0, 0, 1]


def test_carving_keeps_every_label_set_in_training_and_is_seeded(tmp_path):
    config = settled(tmp_path, write_jsonl(tmp_path / "x.jsonl", label_sets(120, 1)), "data.multi_label=true")
    fit, val, test, names = multi_labels.carve(config.data, 5)
    assert len(fit[0]) + len(val[0]) + len(test[0]) == 120 and names == ["apple", "berry", "citrus"]
    fit_sets = {tuple(row) for row in fit[1].tolist()}
    assert {tuple(row) for row in np.concatenate([val[1], test[1]]).tolist()} <= fit_sets
    again = multi_labels.carve(config.data, 5)
    assert again[2][0] == test[0]


# --------------------------------------------------------------------------- #
# Bad input: one line each, before anything is written.


@pytest.mark.parametrize(
    "case, expected",
    [
        ("empty_list", "line 2: the label set [] is empty; give every row at least one label"),
        ("only_in_test", "line 3: label 'citrus' is in the test rows only; every label needs training rows"),
        ("separator_never_occurs", "data.label_separator ';' occurs in no row's 'label' column"),
        ("csv_without_separator", "needs data.label_separator"),
        ("single_label_config_on_lists", "is a list (multi-label data); set data.multi_label=true"),
        (
            "single_label_config_on_labels_key",
            "a 'labels' key and no 'label' (multi-label data); set data.multi_label=true",
        ),
        (
            "single_label_config_on_shared_files",
            "is in class folders 'apple' and 'berry' (multi-label data); set data.multi_label=true",
        ),
        ("separator_without_multi_label", "set data.multi_label=true too"),
        ("ngram_variant", "model.variant 'ngram'"),
        ("aclimdb", "not local data"),
    ],
)
def test_bad_multi_label_input_is_one_line_exit_2_and_writes_nothing(case, expected, tmp_path, tiny_aclimdb, capsys):
    from textattn.__main__ import main

    data, extra = str(tmp_path / "data.jsonl"), ["--set", "data.multi_label=true"]
    if case == "empty_list":
        write_jsonl(data, [["apple"], []])
    elif case == "only_in_test":
        write_jsonl(data, [["apple"], ["apple", "berry"], ["citrus"]], splits=["train", "train", "test"])
    elif case in ("separator_never_occurs", "csv_without_separator", "separator_without_multi_label"):
        data = str(tmp_path / "data.csv")
        with open(data, "w", encoding="utf-8") as f:
            f.write("text,label\npear jam,apple|berry\nlime,citrus\n")
        extra += {
            "separator_never_occurs": ["--set", "data.label_separator=;"],
            "csv_without_separator": [],
            "separator_without_multi_label": ["--set", "data.multi_label=false", "--set", "data.label_separator=|"],
        }[case]
    elif case == "single_label_config_on_lists":
        write_jsonl(data, label_sets(20, 0), key="label")
        extra = []
    elif case == "single_label_config_on_labels_key":
        write_jsonl(data, label_sets(20, 0))
        extra = []
    elif case == "single_label_config_on_shared_files":
        data = write_tree(
            tmp_path / "tree",
            {"apple/1.txt": "pear jam", "berry/1.txt": "pear jam", "apple/2.txt": "pear", "berry/3.txt": "currant"},
        )
        extra = []
    elif case == "ngram_variant":
        write_jsonl(data, label_sets(20, 0))
        extra += ["--set", "model.variant=ngram"]
    else:
        data = tiny_aclimdb
    out = tmp_path / "out"
    code = main(
        [
            "train",
            "--config",
            os.path.join(REPO, "configs", "fast.yaml"),
            "--data",
            data,
            "--output-dir",
            str(out),
            "--export",
            str(tmp_path / "export"),
            "--set",
            f"data.cache_dir={tmp_path / 'cache'}",
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert not out.exists() and not (tmp_path / "export").exists()


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["data.label_separator=|"], "set data.multi_label=true too"),
        (["data.multi_label=true", "model.variant=hybrid"], "model.variant 'hybrid'"),
        (["data.multi_label=true", "train.final_fit=true"], "train.final_fit=false"),
        (["data.multi_label=true", "data.label_separator= "], "is blank"),
    ],
)
def test_settings_multi_label_does_not_go_with_are_refused(overrides, expected):
    with pytest.raises(UserError, match=expected.replace("|", r"\|")):
        apply_overrides(Config(), overrides)


def test_a_lone_bar_override_is_the_separator_itself():
    config = apply_overrides(Config(), ["data.multi_label=true", "data.label_separator=|"])
    assert config.data.label_separator == "|"


def test_tune_and_prepare_refuse_multi_label_before_writing(tmp_path):
    from textattn.commands.prepare import run_prepare
    from textattn.tuning.search import run_search

    path = write_jsonl(tmp_path / "x.jsonl", label_sets(20, 0))
    with pytest.raises(UserError, match="searches on validation accuracy"):
        run_search(write_tune_yaml(tmp_path), data=path, overrides=["data.multi_label=true"])
    with pytest.raises(UserError, match="prepare writes single-label shards"):
        run_prepare(path, str(tmp_path / "prepared"), overrides=["data.multi_label=true"])
    assert sorted(os.listdir(tmp_path)) == ["tune.yaml", "x.jsonl"]


def test_a_copy_with_another_text_is_refused(tmp_path):
    root = write_tree(tmp_path / "tree", {"apple/1.txt": "pear jam", "berry/1.txt": "currant"})
    with pytest.raises(UserError, match="same file name as .* but another text"):
        multi(tmp_path, root)


# --------------------------------------------------------------------------- #
# Thresholds and figures, on arrays whose answers are known.


def test_thresholds_maximise_each_labels_f1_on_validation():
    from textattn.multilabel.thresholds import DEFAULT, fit_thresholds

    y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 1, 0]], np.float32)
    p = np.array([[0.9, 0.2, 0.3], [0.6, 0.7, 0.1], [0.3, 0.4, 0.2], [0.1, 0.35, 0.4], [0.2, 0.3, 0.2]], np.float32)
    t = fit_thresholds(y, p)
    # Label 0: positives at 0.9 and 0.6, the best negative at 0.3: cut half way, 0.45.
    # Label 1: positives at 0.7, 0.4 and 0.3 against a negative at 0.35: taking all three (F1 6/7)
    # beats stopping above 0.35 (F1 4/5), so the cut is between 0.3 and the 0.2 below it.
    # Label 2 has no positive: the default.
    np.testing.assert_allclose(t, [0.45, 0.25, DEFAULT], atol=1e-6)


def test_figures_are_micro_and_macro_f1_subset_accuracy_and_a_table():
    from textattn.multilabel.metrics import format_table, multi_label_metrics

    y = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], np.float32)
    p = np.array([[0.9, 0.6], [0.8, 0.2], [0.1, 0.7], [0.2, 0.1]], np.float32)
    figures = multi_label_metrics(y, p, [0.5, 0.5], ["a", "b"])
    # a: 2 TP, 0 FP, 0 FN (F1 1). b: 1 TP, 1 FP, 1 FN (F1 0.5). Pooled: 3 TP, 1 FP, 1 FN (F1 0.75).
    assert figures["micro_f1"] == pytest.approx(0.75, abs=1e-6)
    assert figures["macro_f1"] == pytest.approx(0.75, abs=1e-6)
    assert figures["subset_accuracy"] == pytest.approx(0.5)
    b = figures["per_label"][1]
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == pytest.approx((0.5, 0.5, 0.5, 2), abs=1e-6)
    table = format_table(figures)
    assert table.splitlines()[0].split() == ["label", "threshold", "precision", "recall", "f1", "support"]
    assert "micro-F1 0.7500" in table and "subset accuracy 0.5000" in table


# --------------------------------------------------------------------------- #
# The model.


def test_the_head_is_one_sigmoid_per_label_and_trains_on_binary_cross_entropy(tmp_path):
    import keras

    from textattn.models import build_model
    from textattn.training.multi_label import compile_multi_label

    config = apply_overrides(
        Config(),
        [
            "data.multi_label=true",
            "data.vocab_size=40",
            "data.sequence_length=8",
            "model.embedding_dim=4",
            "model.pooling=attention",
            "model.mask_padding=true",
        ],
    )
    keras.utils.set_random_seed(3)
    model = compile_multi_label(build_model(config, num_classes=3), config)
    classifier = model.get_layer("classifier")
    assert classifier.units == 3 and classifier.activation is keras.activations.sigmoid
    assert isinstance(model.loss, keras.losses.BinaryCrossentropy)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 40, (64, 8)).astype(np.int32)
    y = np.stack([(x == 5).any(1), (x == 7).any(1), (x < 20).all(1)], axis=1).astype(np.float32)
    losses = model.fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    p = model.predict(x[:4], verbose=0)
    assert p.shape == (4, 3) and ((p > 0) & (p < 1)).all() and not np.allclose(p.sum(1), 1.0, atol=1e-3)
    assert losses[-1] < losses[0]


# --------------------------------------------------------------------------- #
# End to end.


@pytest.mark.slow
def test_a_multi_label_jsonl_trains_exports_predicts_and_explains(tmp_path, capsys):
    import tensorflow as tf

    from textattn.commands.evaluate import run_evaluate
    from textattn.commands.explain import run_explain
    from textattn.export import export_run
    from textattn.predict import run_predict
    from textattn.training import train

    path = write_jsonl(tmp_path / "fruit.jsonl", label_sets(300, 2), seed=2)
    config = settled(
        tmp_path,
        path,
        "data.multi_label=true",
        "data.vocab_size=40",
        "data.sequence_length=16",
        "model.embedding_dim=8",
        "model.pooling=attention",
        "model.mask_padding=true",
        "train.epochs=12",
        "train.batch_size=16",
        "train.learning_rate=0.02",
    )
    run_dir = train(config, output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    thresholds = json.load(open(os.path.join(run_dir, "thresholds.json")))
    assert sorted(thresholds) == ["apple", "berry", "citrus"] and metrics["multi_label"] is True
    assert metrics["test_micro_f1"] > 0.8, metrics["test"]  # every label is two of its own words: easy
    assert {row["label"] for row in metrics["test"]["per_label"]} == set(thresholds)

    assert run_evaluate([run_dir], split="test") == 0
    printed = capsys.readouterr().out
    assert f"micro-F1 {metrics['test_micro_f1']:.4f}" in printed and "subset accuracy" in printed

    out = export_run(run_dir, str(tmp_path / "export"))
    loaded = tf.saved_model.load(out)  # plain TensorFlow, no textattn code
    answer = loaded.serve(tf.constant(["pear lemon the", "currant", ""]))
    labels = [[n.decode() for n in row if n] for row in answer["labels"].numpy()]
    assert labels[0] == sorted(
        labels[0], key=lambda n: -answer["probabilities"].numpy()[0][["apple", "berry", "citrus"].index(n)]
    )
    assert set(labels[0]) == {"apple", "citrus"} and labels[1] == ["berry"] and labels[2] == []
    assert answer["predicted"].dtype == tf.bool and answer["probabilities"].shape == (3, 3)
    np.testing.assert_array_equal(answer["label_count"].numpy(), [2, 1, 0])
    metadata = json.load(open(os.path.join(out, "metadata.json")))
    assert metadata["multi_label"] is True and metadata["thresholds"] == pytest.approx(thresholds)

    for model in (run_dir, out):
        lines = []
        assert run_predict(model, ["pear lemon the"], jsonl=True, out=_Collect(lines)) == 0
        record = json.loads(lines[0])
        assert set(record["labels"]) == {"apple", "citrus"} and set(record["probabilities"]) == set(thresholds)
        lines = []
        assert run_explain(model, ["pear lemon the"], jsonl=True, out=_Collect(lines)) == 0
        explained = json.loads(lines[0])
        assert {entry["label"] for entry in explained["labels"]} == {"apple", "citrus"}
        assert sum(explained["weights"]) == pytest.approx(1.0, abs=1e-5)


class _Collect:
    """A text stream that keeps each written line."""

    def __init__(self, lines: list):
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_the_example_script_labels_reviews_by_folder_rating_and_length(tmp_path, capsys):
    from helpers import load_script, make_aclimdb

    from textattn.data import aclimdb

    script = load_script(os.path.join("bench", "multilabel_example.py"))
    assert script.labels_of(10, "word " * 301) == ["positive", "strong", "long"]
    assert script.labels_of(3, "word " * 300) == ["negative"] and script.labels_of(2, "w") == ["negative", "strong"]
    tree = make_aclimdb(tmp_path / "imdb", n_train=20, n_test=10, n_unsup=2, seed=4)
    out = tmp_path / "ml.jsonl"
    assert script.main(["--data", tree, "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    stars = {text: n for _, _, n, text in aclimdb.read_rated(tree)}
    assert len(rows) == 30 and all(row["labels"] == script.labels_of(stars[row["text"]], row["text"]) for row in rows)
    assert "Wrote 30 reviews" in capsys.readouterr().out
    data = multi(tmp_path, str(out))  # a valid multi-label source (no review is long: 3 labels)
    assert data.class_names == ["negative", "positive", "strong"]
