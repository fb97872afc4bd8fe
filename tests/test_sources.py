"""Any labelled text: CSV, TSV, JSONL, class folders, TFDS by name; splits, class names, bad data, ratings CSV."""

import csv
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from helpers import REPO, load_script, make_aclimdb

from textattn.config import Config, DataConfig
from textattn.data import aclimdb, carving, labelled, pipeline, tfds_source
from textattn.data.source import resolve_data, source_of
from textattn.data.split_codes import TEST, TRAIN, VALIDATION
from textattn.errors import UserError

SOURCES = os.path.join(REPO, "tests", "data", "sources")
BAD = os.path.join(REPO, "tests", "data", "bad")
THREE = os.path.join(SOURCES, "three_class.csv")


def settle(path, tmp_path, **data) -> DataConfig:
    return resolve_data(Config(data=DataConfig(cache_dir=str(tmp_path / "cache"), **data)), path).data


def read(path, tmp_path, **data) -> labelled.Labelled:
    return labelled.read(source_of(settle(path, tmp_path, **data)))


def test_csv_keeps_quoted_fields_and_sorts_word_labels(tmp_path):
    data = read(THREE, tmp_path)
    assert data.class_names == ["cooking", "politics", "sports"]
    assert len(data.texts) == 48 and np.bincount(data.labels).tolist() == [16, 16, 16]
    assert set(data.splits.tolist()) == {TRAIN}  # no split column: everything is carved later
    assert any(t.startswith('"Quoted", with a comma: ') for t in data.texts)
    multi = [t for t in data.texts if "\n" in t]
    assert len(multi) == 1 and "A second line, " in multi[0]
    with open(THREE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [data.class_names[i] for i in data.labels] == [r["label"] for r in rows]


def test_jsonl_integer_labels_are_sorted_numerically(tmp_path):
    data = read(os.path.join(SOURCES, "stars.jsonl"), tmp_path)
    assert data.class_names == ["1", "2", "10"]  # not the string order 1, 10, 2
    assert data.labels[:3].tolist() == [0, 1, 2] and len(data.texts) == 42


def test_tsv_with_renamed_fields_honours_the_split_column(tmp_path):
    path = os.path.join(SOURCES, "split_column.tsv")
    config = settle(path, tmp_path, text_field="body", label_field="topic")
    data = labelled.read(source_of(config))
    assert np.bincount(data.splits).tolist() == [30, 9, 9]  # train, validation (val and dev), test
    splits = pipeline.split_texts(config, 5)
    assert (len(splits.fit[0]), len(splits.validation[0]), len(splits.test[0])) == (30, 9, 9)
    given_test = {t for t, s in zip(data.texts, data.splits) if s == TEST}
    assert set(splits.test[0]) == given_test
    # Without validation (the final fit) the given validation rows are trained on; test is unchanged.
    final = pipeline.split_texts(DataConfig(**{**config.__dict__, "validation_size": 0}), 5)
    assert len(final.fit[0]) == 39 and len(final.validation[0]) == 0 and set(final.test[0]) == given_test
    # Not naming the renamed columns is a one-line error naming the file and its header line.
    with pytest.raises(
        UserError,
        match=r"split_column.tsv, line 1 \(the header\): no text column 'text'.*"
        r"data.text_field",
    ):
        read(path, tmp_path)


def test_class_folders_with_and_without_train_and_test(tmp_path):
    tree = os.path.join(SOURCES, "tree")
    data = read(tree, tmp_path)
    assert data.class_names == ["cooking", "politics", "sports"]
    assert np.bincount(data.splits).tolist() == [36, 0, 12]
    flat = tmp_path / "flat"
    shutil.copytree(os.path.join(tree, "train"), flat)
    config = settle(str(flat), tmp_path)
    assert config.source == "folders"
    flat_data = labelled.read(source_of(config))
    assert len(flat_data.texts) == 36 and set(flat_data.splits.tolist()) == {TRAIN}
    (flat / "cooking" / "notes.md").write_text("not a .txt file: ignored")
    assert len(labelled.read(source_of(config)).texts) == 36


def test_sources_are_recognised_by_extension_layout_and_content(tmp_path, tiny_aclimdb, monkeypatch):
    def kind(path, **data):
        return settle(str(path), tmp_path, **data).source

    assert kind(THREE) == "csv"
    assert kind(os.path.join(SOURCES, "stars.jsonl")) == "jsonl"
    assert kind(os.path.join(SOURCES, "split_column.tsv"), text_field="body", label_field="topic") == "tsv"
    assert kind(os.path.join(SOURCES, "tree")) == "folders"
    assert kind(tiny_aclimdb) == "local"  # the aclImdb layout wins over its class-like folders
    archive = tmp_path / "imdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_aclimdb, arcname="aclImdb")
    assert kind(archive) == "local"
    # Without a telling extension the first line decides; data.source forces a reading.
    shutil.copy(os.path.join(SOURCES, "stars.jsonl"), tmp_path / "stars.data")
    assert kind(tmp_path / "stars.data") == "jsonl"
    shutil.copy(THREE, tmp_path / "three.txt")
    assert kind(tmp_path / "three.txt") == "csv"
    assert kind(tmp_path / "three.txt", source="csv") == "csv"
    (tmp_path / "plain.txt").write_text("just words\n")
    with pytest.raises(UserError, match="cannot tell what kind of data"):
        kind(tmp_path / "plain.txt")
    with pytest.raises(UserError, match="data.source is 'jsonl' but .* is not a file"):
        kind(os.path.join(SOURCES, "tree"), source="jsonl")
    # tfds:NAME names a dataset (looked up at once); IMDB stays the TFDS default.
    looked_up = []
    monkeypatch.setattr(tfds_source, "check_available", looked_up.append)
    settled = settle("tfds:ag_news_subset", tmp_path)
    assert looked_up == ["ag_news_subset"]
    assert (settled.source, settled.path, settled.tfds_name) == ("tfds", None, "ag_news_subset")
    assert source_of(settled).describe() == "tfds:ag_news_subset" and not source_of(settled).is_imdb
    assert source_of(DataConfig(source="tfds")).is_imdb


def test_saved_config_reads_the_same_data_again(tmp_path):
    """A run's config.yaml holds the settled source: evaluate and --resume re-read the same examples."""
    from textattn.config import config_from_dict, config_to_dict

    first = resolve_data(Config(data=DataConfig(cache_dir=str(tmp_path / "c"))), THREE)
    again = resolve_data(config_from_dict(config_to_dict(first)))
    assert again.data == first.data and again.data.source == "csv" and again.data.path == os.path.abspath(THREE)
    a, b = pipeline.split_texts(first.data, 3), pipeline.split_texts(again.data, 3)
    assert a.test[0] == b.test[0] and a.fit[0] == b.fit[0]


def test_carving_is_stratified_and_deterministic():
    labels = np.repeat(np.arange(3), [200, 100, 20]).astype(np.int32)
    splits = np.zeros(len(labels), np.int8)
    fit, val, test = carving.carve(labels, splits, 7, 0.2, 0.1)
    assert np.bincount(labels[test]).tolist() == [40, 20, 4]
    assert np.bincount(labels[val]).tolist() == [16, 8, 2]  # 10 % of what test left, rounded half up
    assert sorted(np.concatenate([fit, val, test]).tolist()) == list(range(len(labels)))
    again = carving.carve(labels, splits, 7, 0.2, 0.1)
    assert all(np.array_equal(x, y) for x, y in zip((fit, val, test), again))
    other = carving.carve(labels, splits, 8, 0.2, 0.1)
    assert set(other[2].tolist()) != set(test.tolist())
    # The test part depends on the seed and the data only: the final fit (no validation) keeps it.
    no_val = carving.carve(labels, splits, 7, 0.2, 0.1, validation_size=0)
    assert set(no_val[2].tolist()) == set(test.tolist()) and len(no_val[1]) == 0
    assert set(no_val[0].tolist()) == set(fit.tolist()) | set(val.tolist())
    # A validation size in examples is spread over the classes by size.
    sized = carving.carve(labels, splits, 7, 0.2, 0.1, validation_size=32)
    assert np.bincount(labels[sized[1]]).tolist() == [20, 10, 2]
    with pytest.raises(UserError, match="validation_size=300 leaves nothing"):
        carving.carve(labels, splits, 7, 0.2, 0.1, validation_size=300)
    # A tiny class keeps 2 examples for training after test and 1 after validation.
    small = np.array([0] * 50 + [1] * 3, np.int32)
    fit, val, test = carving.carve(small, np.zeros(53, np.int8), 1, 0.5, 0.5)
    assert np.bincount(small[fit], minlength=2)[1] >= 1 and np.bincount(small[test], minlength=2)[1] == 1
    # Given splits are honoured.
    given = np.array([TRAIN] * 6 + [VALIDATION] * 2 + [TEST] * 2, np.int8)
    two = np.array([0, 1] * 5, np.int32)
    fit, val, test = carving.carve(two, given, 1, 0.2, 0.1)
    assert sorted(val.tolist()) == [6, 7] and sorted(test.tolist()) == [8, 9] and sorted(fit.tolist()) == list(range(6))


BAD_CASES = {
    "missing_column.csv": r"missing_column.csv, line 1 \(the header\): no text column 'text' \(found: review, label\)",
    "empty.csv": r"empty.csv' is empty",
    "label_only_in_test.csv": r"label_only_in_test.csv, line 14: label 'baking' is in the test rows only",
    "one_example_class.csv": r"one_example_class.csv, line 14: class 'chess' has only 1 training example",
    "ragged_row.csv": r"ragged_row.csv, line 7: 3 fields where the header has 2",
    "mixed_labels.jsonl": r"mixed_labels.jsonl, line 8: label 'sports' is a word, but .*line 1 has an integer",
    "bad_split.csv": r"bad_split.csv, line 8: split is 'holdout'",
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_data_is_one_line_naming_the_file_and_row(name, tmp_path):
    with pytest.raises(UserError, match=BAD_CASES[name]) as info:
        settle(os.path.join(BAD, name), tmp_path)
    assert "\n" not in str(info.value)


def test_more_bad_rows_in_jsonl_and_folders(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a b", "label": "x"}\n{"text": "c d", "label": "x"}\nnot json\n')
    with pytest.raises(UserError, match=r"bad.jsonl, line 3: not valid JSON"):
        settle(str(path), tmp_path)
    path.write_text('{"text": "a b", "label": 1.5}\n')
    with pytest.raises(UserError, match=r"bad.jsonl, line 1: label 1.5 is a float"):
        settle(str(path), tmp_path)
    path.write_text('{"text": "a b", "label": "x"}\n{"text": "c", "label": "x", "split": "test"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl, line 2: a 'split' field, unlike the first row"):
        settle(str(path), tmp_path)
    tree = tmp_path / "tree"
    for split, label in (("train", "a"), ("train", "a2"), ("test", "b")):
        (tree / split / label).mkdir(parents=True)
        for i in range(2):
            (tree / split / label / f"{i}.txt").write_text(f"words {i}")
    with pytest.raises(UserError, match=r"tree/test/b/0.txt: label 'b' is in the test rows only"):
        settle(str(tree), tmp_path)
    (tmp_path / "loose").mkdir()
    with pytest.raises(UserError, match="neither class subfolders nor the aclImdb layout"):
        settle(str(tmp_path / "loose"), tmp_path)


def test_empty_texts_are_skipped_and_bad_bytes_replaced_with_a_count(tmp_path, capsys):
    data = read(os.path.join(BAD, "empty_text.csv"), tmp_path)
    assert len(data.texts) == 10  # 12 rows, 2 with no text
    assert "skipped 2 example(s) whose text is empty (first: " in data.notes[0] and "line 4" in data.notes[0]
    assert "warning: " in capsys.readouterr().err
    settle(os.path.join(BAD, "not_utf8.csv"), tmp_path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 line(s) or file(s) had bytes that are not UTF-8" in err and "line 3" in err
    data = read(os.path.join(BAD, "not_utf8.csv"), tmp_path)
    assert sum("caf\ufffd cr\ufffdme" in t for t in data.texts) == 2
    settle(os.path.join(BAD, "not_utf8.csv"), tmp_path)  # from the cache: counted again
    assert "not UTF-8" in capsys.readouterr().err


def test_prepared_data_carries_class_names_and_the_cache_follows_the_file(tmp_path):
    path = tmp_path / "three.csv"
    shutil.copy(THREE, path)
    config = dataclass_replace(settle(str(path), tmp_path), vocab_size=60, sequence_length=12)
    first = pipeline.prepare(config, 2, verbose=False)
    assert first.class_names == ["cooking", "politics", "sports"]
    assert (first.x_train.shape, first.x_val.shape, first.x_test.shape) == ((36, 12), (3, 12), (9, 12))
    assert first.y_train.dtype == np.int32 and set(first.y_test.tolist()) == {0, 1, 2}
    assert "garlic" in first.vocabulary and "senate" in first.vocabulary
    assert pipeline.prepare(config, 2, verbose=False).cache_hit
    # A changed file (size, modification time) or split setting is another cache entry ...
    with open(path, "a", encoding="utf-8") as f:
        f.write("Butter and flour in the oven again,cooking\nOven basil butter,cooking\n")
    changed = pipeline.prepare(config, 2, verbose=False)
    assert not changed.cache_hit and len(changed.x_train) + len(changed.x_val) + len(changed.x_test) == 50
    assert not pipeline.prepare(dataclass_replace(config, test_fraction=0.3), 2, verbose=False).cache_hit
    # Other field settings are another labelled entry.
    fields = labelled.load(source_of(dataclass_replace(config, split_field="nothing")), config.cache_dir)
    assert len(fields.texts) == 50


def test_ngram_bags_without_unlabelled_texts(tmp_path):
    config = settle(THREE, tmp_path)
    bags = pipeline.prepare_ngrams(config, 2, 200, 1, verbose=False, unlabeled=True)
    assert bags.unsup is None and bags.class_names == ["cooking", "politics", "sports"]
    assert len(bags.train) == 36


def test_imdb_keeps_its_reference_split(tiny_aclimdb, tmp_path):
    """validation_size None is 10,000 for IMDB; the fractions do not touch it."""
    config = DataConfig(source="local", path=tiny_aclimdb, cache_dir=str(tmp_path / "c"))
    with pytest.raises(UserError, match="validation_size=10000 leaves nothing"):
        pipeline.split_texts(config, 1)
    sized = dataclass_replace(config, validation_size=30)
    a = pipeline.split_texts(sized, 1)
    b = pipeline.split_texts(dataclass_replace(sized, test_fraction=0.5, validation_fraction=0.3), 1)
    assert a.fit[0] == b.fit[0] and a.test[0] == b.test[0] and len(a.validation[0]) == 30
    assert a.class_names == ["neg", "pos"] and len(a.test[0]) == 60


def test_tfds_feature_names_come_from_the_builder_info():
    class Info:
        name = "fake"
        supervised_keys = ("description", "label")
        features = {"title": object(), "description": object(), "label": type("ClassLabel", (), {"names": ["a"]})()}

    assert tfds_source.feature_names(Info, None, None) == ("description", "label")
    assert tfds_source.feature_names(Info, "title", None) == ("title", "label")
    with pytest.raises(UserError, match="tfds:fake has no text feature 'body'"):
        tfds_source.feature_names(Info, "body", None)
    with pytest.raises(UserError, match="'title' is not a ClassLabel"):
        tfds_source.feature_names(Info, None, "title")


def tfds_data_dir(monkeypatch, path) -> None:
    """Point TFDS at an empty data directory (it reads $TFDS_DATA_DIR once, on import)."""
    from tensorflow_datasets.core import constants

    monkeypatch.setenv("TFDS_DATA_DIR", str(path))
    monkeypatch.setattr(constants, "DATA_DIR", str(path))


def test_an_unprepared_tfds_dataset_without_a_network_fails_at_once(tmp_path, monkeypatch):
    tfds_data_dir(monkeypatch, tmp_path / "tfds")
    monkeypatch.setattr(tfds_source, "GENERIC_HOST", "download.invalid")
    message = r"tfds:ag_news_subset is not in the TFDS cache and download.invalid cannot be reached"
    with pytest.raises(UserError, match=message):
        tfds_source.read_rows("ag_news_subset")
    with pytest.raises(UserError, match=message):  # when the command starts, before it writes anything
        settle("tfds:ag_news_subset", tmp_path)
    with pytest.raises(UserError, match="no TFDS dataset 'no_such_dataset_xyz'"):
        settle("tfds:no_such_dataset_xyz", tmp_path)


@pytest.mark.slow  # TFDS writes the dataset's files (about 10 s)
def test_a_prepared_tfds_dataset_gives_its_features_splits_and_class_order(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    tfds_data_dir(monkeypatch, tmp_path / "tfds")
    monkeypatch.setattr(tfds_source, "GENERIC_HOST", "download.invalid")  # prepared: no network needed

    class TextattnTinyTopics(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {
                    "title": tfds.features.Text(),
                    "body": tfds.features.Text(),
                    "topic": tfds.features.ClassLabel(names=["zeta", "alpha"]),
                }
            )
            return tfds.core.DatasetInfo(builder=self, features=features, supervised_keys=("body", "topic"))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(0, 20), "test": self._generate_examples(20, 26)}

        def _generate_examples(self, start, stop):
            for i in range(start, stop):
                yield i, {"title": f"title {i}", "body": f"body {i} " + ("zed" if i % 2 else "ant"), "topic": i % 2}

    tfds.builder("textattn_tiny_topics").download_and_prepare()
    config = settle("tfds:textattn_tiny_topics", tmp_path)
    data = labelled.read(source_of(config))
    assert data.class_names == ["zeta", "alpha"]  # ClassLabel order, not sorted
    assert np.bincount(data.splits).tolist() == [20, 0, 6]
    assert all(("zed" in t) == (y == 1) for t, y in zip(data.texts, data.labels))
    splits = pipeline.split_texts(config, 1)
    assert (len(splits.fit[0]), len(splits.validation[0]), len(splits.test[0])) == (18, 2, 6)
    titles = labelled.read(source_of(dataclass_replace(config, text_field="title")))
    assert titles.texts[0].startswith("title ")


def test_ratings_script_writes_four_classes_from_the_file_names(tmp_path, capsys):
    tree = make_aclimdb(tmp_path / "imdb", n_train=40, n_test=20, n_unsup=3, seed=3)
    script = load_script(os.path.join("examples", "imdb_ratings.py"))
    out = tmp_path / "ratings.csv"
    assert script.main(["--data", tree, "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 60 and list(rows[0]) == ["text", "label", "split"]
    expected = {text: script.CLASSES[stars] for _, _, stars, text in aclimdb.read_rated(tree)}
    assert all(expected[r["text"]] == r["label"] for r in rows)
    assert {r["split"] for r in rows} == {"train", "test"} and sum(r["split"] == "test" for r in rows) == 20
    printed = capsys.readouterr().out
    assert "Wrote 60 reviews" in printed and all(name in printed for name in ("awful", "poor", "good", "great"))
    # The limit keeps at most N of each class in each split; the CSV is a valid source.
    assert script.main(["--data", tree, "--out", str(out), "--per-class", "2"]) == 0
    data = read(str(out), tmp_path)
    assert set(data.class_names) <= {"awful", "poor", "good", "great"}
    counts = np.bincount(data.labels * 3 + data.splits, minlength=3 * len(data.class_names))
    assert counts.max() <= 2 and set(data.splits.tolist()) == {TRAIN, TEST}
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]  # written atomically
    with pytest.raises(UserError, match="does not exist"):
        script.main(["--data", str(tmp_path / "nope"), "--out", str(out)])


def test_a_two_class_csv_trains_and_the_hybrid_skips_self_training(tmp_path, capsys):
    """Self-training needs unlabelled texts, which only IMDB has: one line says it is skipped."""
    from helpers import tiny_config

    from textattn import runs
    from textattn.config import apply_overrides
    from textattn.training import train

    path = tmp_path / "two.csv"
    with open(THREE, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] != "sports"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["text", "label"])
        writer.writeheader()
        writer.writerows(rows)
    config = apply_overrides(
        tiny_config(tmp_path, "hybrid"),
        [
            "data.validation_size=null",
            "model.ngram.vocab_size=200",
            "model.hybrid.branch=baseline",
            "model.hybrid.ngram_epochs=1",
            "model.hybrid.self_training=true",
            "train.epochs=1",
            "train.final_fit=false",
        ],
    )
    run_dir = train(resolve_data(config, str(path)), output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    out = capsys.readouterr().out
    assert f"Self-training skipped: {path} has no unlabelled texts" in out
    metrics = runs.read_json(os.path.join(run_dir, runs.METRICS))
    assert "self_training" not in metrics["branches"]["ngram"]
    assert (metrics["train_examples"], metrics["validation_examples"], metrics["test_examples"]) == (24, 2, 6)


@pytest.mark.slow
def test_cli_exits_2_on_bad_data_and_writes_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO, "TEXTATTN_CACHE": str(tmp_path / "cache")}
    runs_dir = tmp_path / "runs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "textattn",
            "train",
            "--config",
            os.path.join(REPO, "configs", "fast.yaml"),
            "--data",
            os.path.join(BAD, "ragged_row.csv"),
            "--output-dir",
            str(runs_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("error: ") and "ragged_row.csv, line 7: 3 fields" in lines[-1]
    assert not runs_dir.exists() and not (tmp_path / "runs").exists()


def dataclass_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def test_a_run_without_validation_rows_stops_before_anything_is_written(tmp_path, capsys):
    """A run picks its epoch and temperature on validation: none left (3 classes of 16 rows, no
    validation wanted) is one line and exit 2, and no run directory."""
    from textattn.__main__ import main

    code = main(
        [
            "train",
            "--config",
            os.path.join(REPO, "configs", "fast.yaml"),
            "--data",
            os.path.join(SOURCES, "three_class.csv"),
            "--output-dir",
            str(tmp_path / "runs"),
            "--set",
            "data.validation_size=0",
            "--set",
            f"data.cache_dir={tmp_path / 'cache'}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: the validation part of ") and "is empty" in err
    assert not os.listdir(tmp_path / "runs")
