"""Streamed data: shards prepared as TFRecords, read a shard at a time; the same vocabularies, labels
and inputs as the in-memory pipeline; bad shards are one line and leave nothing behind."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from helpers import REPO, tiny_config, write_review

from textattn import runs
from textattn.config import Config, DataConfig, apply_overrides
from textattn.data import corpus, pipeline, source_splits, streamed
from textattn.data.source import resolve_data
from textattn.errors import UserError


def write_shards(directory, n_shards=3, per_shard=60, seed=0, split=None, labels=("neg", "pos"), kind="jsonl"):
    """``n_shards`` files part-K.jsonl (or .csv) of ``per_shard`` reviews each; returns the glob."""
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    for k in range(n_shards):
        path = os.path.join(directory, f"part-{k}.{kind}")
        with open(path, "w", encoding="utf-8", newline="") as f:
            if kind == "csv":
                f.write("text,label\n")
            for i in range(per_shard):
                label = labels[(i + k) % len(labels)]
                text = write_review(rng, "pos" if label == labels[-1] else "neg")
                if kind == "csv":
                    f.write(f'"{text}",{label}\n')
                else:
                    record = {"id": f"{k}-{i}", "text": text, "label": label}
                    if split:
                        record["split"] = split(k, i)
                    f.write(json.dumps(record) + "\n")
    return os.path.join(directory, f"part-*.{kind}")


def settled(pattern, tmp_path, **data):
    return resolve_data(Config(data=DataConfig(cache_dir=str(tmp_path / "cache"), **data)), pattern)


def prepare(pattern, tmp_path, out="prepared", shard_examples=50, **data):
    config = settled(pattern, tmp_path, **data)
    return streamed.prepare_source(config.data, config.seed, str(tmp_path / out), shard_examples)


def all_texts(manifest, split):
    return [t.decode() for t, _ in corpus.examples(manifest, split).as_numpy_iterator()]


def test_a_glob_of_jsonl_shards_is_recognised_and_prepared_into_three_splits(tmp_path):
    pattern = write_shards(tmp_path / "in")
    assert settled(pattern, tmp_path).data.source == "shards"
    manifest = prepare(pattern, tmp_path)
    assert manifest.class_names == ["neg", "pos"]
    assert sum(manifest.counts.values()) == 180
    assert all(manifest.counts[s] > 0 for s in corpus.SPLITS)
    assert len(manifest.files["train"]) >= 2  # shard_examples=50 rotates files
    texts = [t for s in corpus.SPLITS for t in all_texts(manifest, s)]
    assert len(texts) == 180 and len(set(texts)) == len(set(texts))
    for split in corpus.SPLITS:  # the hash decides: the same text always lands in the same split
        for text in all_texts(manifest, split)[:5]:
            assert corpus.hashed_part(text, 1337, 0.2, 0.1) == split
    assert resolve_data(Config(), str(tmp_path / "prepared")).data.source == "prepared"


def test_given_splits_are_kept_and_carved_parts_join_train_when_the_source_gives_them(tmp_path):
    pattern = write_shards(tmp_path / "in", split=lambda k, i: "test" if k == 2 else "train")
    manifest = prepare(pattern, tmp_path)
    assert manifest.counts["test"] == 60  # the given test rows only: no hashed test part
    assert manifest.counts["train"] + manifest.counts["validation"] == 120 and manifest.counts["validation"] > 0
    given = {json.loads(line)["text"] for line in open(tmp_path / "in" / "part-2.jsonl")}
    assert set(all_texts(manifest, "test")) == given


def test_streamed_vocabularies_and_counts_equal_the_in_memory_ones(tmp_path):
    from textattn.data.ngrams import adapt_ngram_vectorizer, texts_to_bags
    from textattn.data.text import adapt_vectorizer
    from textattn.layers.naive_bayes_ngrams import class_document_counts

    manifest = prepare(write_shards(tmp_path / "in"), tmp_path)
    texts = all_texts(manifest, "train")
    labels = corpus.labels(manifest, "train")
    assert streamed.fit_word_vocabulary(manifest, 50) == [str(t) for t in adapt_vectorizer(texts, 50).get_vocabulary()]
    vocabulary, counts = streamed.fit_ngram_vocabulary(manifest, 2, 120)
    in_memory = adapt_ngram_vectorizer(texts, 120, 2)
    assert vocabulary == [str(t) for t in in_memory.get_vocabulary()]
    expected = class_document_counts(texts_to_bags(in_memory, texts), labels, len(vocabulary), 2)
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() > 0


@pytest.mark.parametrize("variant", ["baseline", "hybrid"])
def test_unshuffled_batches_are_the_in_memory_inputs_in_label_order(variant, tmp_path):
    from textattn.data.ngrams import make_ngram_vectorizer, texts_to_bags
    from textattn.data.text import make_vectorizer, texts_to_ids

    pattern = write_shards(tmp_path / "in")
    config = apply_overrides(
        tiny_config(tmp_path, variant), ["data.validation_size=null", "model.ngram.vocab_size=150"]
    )
    config = resolve_data(config, pattern)
    data = streamed.load(config, verbose=False)
    texts = data.texts("val")
    ids = texts_to_ids(make_vectorizer(64, data.vocabulary), texts, 32, "start")
    x, y = zip(*data.dataset(config, "val", batch_size=7).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate(y), data.labels("val"))
    if variant == "baseline":
        np.testing.assert_array_equal(np.concatenate(x), ids)
        return
    np.testing.assert_array_equal(np.concatenate([b["token_ids"] for b in x]), ids)
    bags = texts_to_bags(make_ngram_vectorizer(data.ngram_vocab_size, 2, data.ngram_vocabulary), texts)
    dense = np.concatenate([b["ngrams"] for b in x])  # as_numpy_iterator makes the SparseTensor dense
    expected = np.zeros_like(dense)
    for row in range(len(texts)):
        expected[row, bags[0][bags[1][row] : bags[1][row + 1]]] = 1.0
    np.testing.assert_array_equal(dense, expected)


def test_training_batches_hold_every_example_once_and_reshuffle_each_epoch(tmp_path):
    pattern = write_shards(tmp_path / "in")
    config = resolve_data(apply_overrides(tiny_config(tmp_path), ["data.validation_size=null"]), pattern)
    data = streamed.load(config, verbose=False)
    ds = data.dataset(config, "train", batch_size=16)
    assert int(ds.cardinality()) == -(-data.count("train") // 16)
    epochs = [np.concatenate([x for x, _ in ds.as_numpy_iterator()]) for _ in range(2)]
    assert epochs[0].shape[0] == data.count("train")
    rows = [sorted(map(tuple, e.tolist())) for e in epochs]
    assert rows[0] == rows[1] and not np.array_equal(epochs[0], epochs[1])
    again = np.concatenate([x for x, _ in data.dataset(config, "train", batch_size=16).as_numpy_iterator()])
    np.testing.assert_array_equal(again, epochs[0])  # the seed fixes the order of each epoch


def test_a_streamed_run_trains_reads_its_vocabulary_from_the_prepared_directory_and_exports(tmp_path):
    from textattn.export import export_run
    from textattn.predict import Predictor
    from textattn.training import train

    pattern = write_shards(tmp_path / "in", per_shard=80)
    config = apply_overrides(tiny_config(tmp_path), ["data.validation_size=null"])
    out = str(tmp_path / "prepared")
    data = resolve_data(config, pattern).data

    def vocabularies(tmp, manifest):
        streamed.write_vocabularies(os.path.join(tmp, corpus.VOCABULARIES), manifest, config)

    manifest = streamed.prepare_source(data, config.seed, out, finalize=vocabularies)
    assert os.listdir(manifest.vocabulary_dir()) == [streamed.words_file(64)]
    run_dir = train(resolve_data(config, out), output_dir=str(tmp_path / "runs"), verbose=0).run_dir
    assert not os.path.exists(tmp_path / "cache" / "streamed-vocabularies")  # read from the prepared directory
    metrics = runs.read_json(os.path.join(run_dir, runs.METRICS))
    assert (metrics["train_examples"], metrics["validation_examples"], metrics["test_examples"]) == (
        manifest.counts["train"],
        manifest.counts["validation"],
        manifest.counts["test"],
    )
    assert metrics["test_accuracy"] > 0.5
    assert runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB)) == runs.load_vocabulary(
        os.path.join(manifest.vocabulary_dir(), streamed.words_file(64))
    )
    exported = export_run(run_dir, str(tmp_path / "export"))
    answers = Predictor(exported)([b"a wonderful film", b""])
    assert answers.labels[1] == "unknown" and answers.probabilities.shape == (2, 2)


def test_imdb_prepared_keeps_the_reference_split(tiny_aclimdb, tmp_path):
    config = resolve_data(tiny_config(tmp_path), tiny_aclimdb)
    manifest = streamed.prepare_source(config.data, config.seed, str(tmp_path / "imdb"))
    splits = pipeline.split_texts(config.data, config.seed)
    assert all_texts(manifest, "train") == splits.fit[0]
    assert all_texts(manifest, "validation") == splits.validation[0]
    np.testing.assert_array_equal(corpus.labels(manifest, "test"), splits.test[1])


def test_final_fit_on_streamed_data_is_one_line_before_anything_is_written(tmp_path):
    from textattn.training import train

    config = apply_overrides(tiny_config(tmp_path), ["data.validation_size=null", "train.final_fit=true"])
    with pytest.raises(UserError, match="final_fit"):
        train(resolve_data(config, write_shards(tmp_path / "in")), output_dir=str(tmp_path / "runs"), verbose=0)
    assert os.listdir(tmp_path / "runs") == []


def leftovers(tmp_path):
    return [name for name in os.listdir(tmp_path) if name.startswith(".")]


@pytest.mark.parametrize("case", ["columns", "empty", "split_field", "no_match", "kinds", "label_kinds"])
def test_bad_shards_are_one_line_and_leave_nothing(case, tmp_path):
    pattern = write_shards(tmp_path / "in", kind="csv" if case == "columns" else "jsonl")
    if case == "columns":
        with open(tmp_path / "in" / "part-9.csv", "w") as f:
            f.write('text,label,stars\n"a fine film",pos,4\n')
        message = (
            r"part-9.csv' has columns \['text', 'label', 'stars'\] but .*part-0.csv' has columns \['text', 'label'\]"
        )
    elif case == "empty":
        open(tmp_path / "in" / "part-5.jsonl", "w").close()
        message = "part-5.jsonl' has no rows with text; remove it"
    elif case == "split_field":
        with open(tmp_path / "in" / "part-7.jsonl", "w") as f:
            f.write(json.dumps({"text": "a fine film", "label": "pos", "split": "test"}) + "\n")
        message = "part-7.jsonl' has a split field but .*part-0.jsonl' has no split field"
    elif case == "no_match":
        pattern = str(tmp_path / "in" / "nothing-*.jsonl")
        message = "matches no files"
    elif case == "kinds":
        with open(tmp_path / "in" / "part-8.csv", "w") as f:
            f.write("text,label\nfine,pos\n")
        pattern = str(tmp_path / "in" / "part-*")
        message = "every shard of --data must be of one kind"
    else:
        with open(tmp_path / "in" / "part-6.jsonl", "w") as f:
            f.write(json.dumps({"text": "a fine film", "label": 3}) + "\n")
        message = "labels must be all integers or all words"
    with pytest.raises(UserError, match=message):
        prepare(pattern, tmp_path)
    assert not os.path.exists(tmp_path / "prepared") and leftovers(tmp_path) == []


def test_a_damaged_manifest_or_a_missing_shard_is_one_line(tmp_path):
    manifest = prepare(write_shards(tmp_path / "in"), tmp_path)
    os.unlink(manifest.paths("test")[0])
    with pytest.raises(UserError, match="named in .*manifest.json is missing"):
        resolve_data(Config(), manifest.path)
    with open(os.path.join(manifest.path, corpus.MANIFEST), "w") as f:
        f.write("{not json")
    with pytest.raises(UserError, match="manifest.json is damaged"):
        resolve_data(Config(), manifest.path)


def run_cli(args, tmp_path):
    env = {**os.environ, "TEXTATTN_CACHE": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "textattn", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_prepare_command_writes_vocabularies_and_refuses_bad_input(tmp_path):
    pattern = write_shards(tmp_path / "in")
    out = tmp_path / "prepared"
    done = run_cli(
        ["prepare", "--data", pattern, "--out", str(out), "--config", "configs/fast.yaml", "--shard-examples", "40"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Prepared" in done.stdout and os.listdir(out / corpus.VOCABULARIES) == [streamed.words_file(10000)]
    again = run_cli(["prepare", "--data", pattern, "--out", str(out)], tmp_path)
    assert again.returncode == 2 and again.stderr.strip().splitlines() == [
        f"error: {str(out)!r} exists; pass --overwrite to replace it"
    ]
    open(tmp_path / "in" / "part-4.jsonl", "w").close()
    bad = run_cli(["prepare", "--data", pattern, "--out", str(tmp_path / "other")], tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "no rows with text" in bad.stderr
    assert not os.path.exists(tmp_path / "other")


def test_reports_read_the_prepared_splits_and_count_validation_without_training(tmp_path):
    pattern = write_shards(tmp_path / "in")
    data = settled(pattern, tmp_path).data
    assert source_splits.validation_count(data, 1337) > 0  # prepares the shards into the cache
    manifest = corpus.read_manifest(streamed.prepared_dir(data, 1337)[0])
    assert source_splits.validation_count(data, 1337) == manifest.counts["validation"]
    splits = source_splits.split_texts(data, 1337)
    assert splits.test[0] == all_texts(manifest, "test") and splits.class_names == ["neg", "pos"]
    np.testing.assert_array_equal(splits.fit[1], corpus.labels(manifest, "train"))


def test_several_workers_need_the_vocabularies_of_the_prepared_directory(tmp_path):
    manifest = prepare(write_shards(tmp_path / "in"), tmp_path)
    config = apply_overrides(tiny_config(tmp_path), ["data.validation_size=null", "train.distribution=multi_worker"])
    with pytest.raises(UserError, match="holds no vocabularies for this config .*textattn prepare"):
        streamed.load(resolve_data(config, manifest.path), verbose=False)
    assert not os.path.exists(tmp_path / "cache" / "streamed-vocabularies")
