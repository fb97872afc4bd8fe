"""bench/: the interleaved run order, the per-round pairing of ratios, time to the reference's accuracy,
the hybrids' stage seconds and the search's throughput (all on synthetic records: nothing is timed)."""

import argparse
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

from compare import backend_rows, summarize  # noqa: E402
from hybrid import hybrid_stages  # noqa: E402
from measure import interleaved, spread  # noqa: E402
from report import hybrid_table, markdown, search_lines  # noqa: E402
from run import FULL_EPOCHS, epochs_arg, seed_epochs  # noqa: E402
from search import search_summary  # noqa: E402
from sides import record, reference_variant, seconds_to_accuracy  # noqa: E402
from word_branch_pretraining import cooccurrences, ppmi_vectors  # noqa: E402


def usage(wall):
    return {
        "wall_s": wall,
        "user_s": wall * 1.5,
        "sys_s": 1.0,
        "minor_faults": 1000,
        "major_faults": 0,
        "peak_rss_mib": 900.0,
        "load_before": [1.0, 1.0, 1.0],
    }


def side(epoch_seconds, val_accuracy, cpu=None):
    cpu = cpu or [2 * s for s in epoch_seconds]
    return record(
        {"epoch_seconds": epoch_seconds, "epoch_cpu_seconds": cpu}, val_accuracy, 0.8, usage(sum(epoch_seconds))
    )


def test_interleaved_alternates_the_sides_every_round():
    assert interleaved(["reference", "default", "jax"], 2) == [
        (0, "reference"),
        (0, "default"),
        (0, "jax"),
        (1, "reference"),
        (1, "default"),
        (1, "jax"),
    ]
    with pytest.raises(ValueError):
        interleaved(["reference"], 0)


def test_spread_drops_missing_values():
    assert spread([3.0, None, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert spread([None])["median"] is None


def test_record_separates_the_first_epoch_from_the_steady_ones():
    r = side([30.0, 10.0, 12.0], [0.5, 0.6, 0.7])
    assert r["per_epoch"] == pytest.approx(52 / 3)
    assert r["steady_per_epoch"] == 11.0
    assert r["cpu_per_epoch"] == pytest.approx(104 / 3)
    assert r["best_val_accuracy"] == 0.7


def test_seconds_to_accuracy_counts_whole_epochs_up_to_the_first_that_reaches_it():
    r = side([5.0, 4.0, 3.0], [0.80, 0.86, 0.88])
    assert seconds_to_accuracy(r, 0.85) == 9.0
    assert seconds_to_accuracy(r, 0.88) == 12.0
    assert seconds_to_accuracy(r, 0.90) is None


def test_speedups_pair_each_round_with_its_own_reference_run():
    # Round 2 ran on a slower machine for both sides: paired ratios stay 2x; unpaired medians would not.
    comparison = {
        "config": "configs/seed_attention.yaml",
        "epochs": 2,
        "rounds": [
            {"reference": side([10.0, 10.0], [0.8, 0.85]), "default": side([5.0, 5.0], [0.84, 0.86])},
            {"reference": side([30.0, 30.0], [0.8, 0.85]), "default": side([15.0, 15.0], [0.84, 0.86])},
            {"reference": side([12.0, 12.0], [0.8, 0.85]), "default": side([6.0, 6.0], [0.84, 0.86])},
        ],
    }
    summary = summarize(comparison)
    ours = summary["sides"]["default"]
    assert ours["speedup"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 3}
    assert ours["cpu_speedup"]["median"] == 2.0
    reach = ours["to_reference_accuracy"]
    # The reference's best (0.85) is reached in textattn's 2nd epoch; the reference needs its 2nd too.
    assert reach["reached"] == 3 and reach["speedup"]["median"] == 2.0
    table = markdown(
        {
            "machine": "test",
            "load_start": [1, 1, 1],
            "load_end": [1, 1, 1],
            "data_used": "x",
            "training": {"summaries": [summary], "backend": []},
        }
    )
    assert "**2.00x (2.00–2.00)**" in table


def test_backend_rows_compare_tf_and_jax_in_the_same_round():
    comparison = {
        "config": "c",
        "epochs": 1,
        "rounds": [
            {"reference": side([10.0], [0.8]), "default": side([4.0], [0.8]), "jax": side([8.0], [0.8])},
            {"reference": side([10.0], [0.8]), "default": side([5.0], [0.8]), "jax": side([15.0], [0.8])},
            {"reference": side([10.0], [0.8]), "default": side([4.0], [0.8]), "jax": side([10.0], [0.8])},
        ],
    }
    (row,) = backend_rows([summarize(comparison)], [comparison])
    assert row["jax_over_tf"] == {"median": 2.5, "min": 2.0, "max": 3.0, "n": 3}
    table = markdown(
        {
            "machine": "test",
            "load_start": [1, 1, 1],
            "load_end": [1, 1, 1],
            "data_used": "x",
            "training": {"summaries": [], "backend": [row]},
        }
    )
    line = next(x for x in table.splitlines() if x.startswith("| c |"))
    header = next(x for x in table.splitlines() if x.startswith("| config | TF"))
    assert line.count("|") == header.count("|") and "2.50x (2.00–3.00)" in line


def test_reference_variant_names_only_seed_configs():
    assert reference_variant("configs/seed_mha.yaml") == "mha"
    with pytest.raises(SystemExit):
        reference_variant("configs/fast.yaml")


def three_rounds(reference, project):
    return {
        "config": "configs/seed_mha.yaml",
        "epochs": 2,
        "rounds": [{"reference": reference(), "default": project()} for _ in range(3)],
    }


def row_of(table, prefix, suffix="|"):
    return next(x for x in table.splitlines() if x.startswith(prefix) and x.endswith(suffix))


def test_reference_accuracy_not_reached_says_in_how_many_epochs():
    comparison = three_rounds(lambda: side([10.0, 10.0], [0.80, 0.86]), lambda: side([5.0, 5.0], [0.82, 0.84]))
    reach = summarize(comparison)["sides"]["default"]["to_reference_accuracy"]
    assert reach["reached"] == 0 and reach["project_s"]["median"] is None and reach["epochs"] == 2
    assert reach["target"]["median"] == 0.86 and reach["reference_s"]["median"] == 20.0
    table = markdown(
        {
            "machine": "test",
            "load_start": [1, 1, 1],
            "data_used": "x",
            "training": {"summaries": [summarize(comparison)]},
        }
    )
    line = row_of(table, "| configs/seed_mha.yaml | default | 2 |", "rounds |")
    assert "not reached in 2 epochs (best 0.8400)" in line and "0/3 rounds" in line


def test_reference_accuracy_reached_in_some_rounds_counts_only_those():
    rounds = [
        {"reference": side([10.0, 10.0], [0.80, 0.86]), "default": side([5.0, 5.0], [0.86, 0.87])},
        {"reference": side([10.0, 10.0], [0.80, 0.86]), "default": side([5.0, 5.0], [0.82, 0.84])},
        {"reference": side([10.0, 10.0], [0.80, 0.86]), "default": side([6.0, 6.0], [0.83, 0.86])},
    ]
    reach = summarize({"config": "c", "epochs": 2, "rounds": rounds})["sides"]["default"]["to_reference_accuracy"]
    # Round 1 reaches 0.86 after 5 s, round 3 after 12 s; the reference needs 20 s every round.
    assert reach["reached"] == 2
    assert reach["project_s"] == {"median": 8.5, "min": 5.0, "max": 12.0, "n": 2}
    assert reach["speedup"]["max"] == 4.0
    table = markdown(
        {
            "machine": "test",
            "load_start": [1, 1, 1],
            "data_used": "x",
            "training": {"summaries": [summarize({"config": "c", "epochs": 2, "rounds": rounds})]},
        }
    )
    assert "not reached in 2 epochs in 1 of 3 rounds" in row_of(table, "| c | default |", "rounds |")


def test_a_comparison_without_the_reference_has_no_speed_ups():
    comparison = {
        "config": "c",
        "epochs": 2,
        "rounds": [{"default": side([4.0, 4.0], [0.8, 0.8]), "jax": side([12.0, 12.0], [0.8, 0.8])} for _ in range(3)],
    }
    summary = summarize(comparison)
    assert "speedup" not in summary["sides"]["default"]
    (row,) = backend_rows([summary], [comparison])
    assert row["jax_over_tf"]["median"] == 3.0


def hybrid_metrics(final=True, teacher=True):
    ngram = {"fit_seconds": 30.0, "test_accuracy": 0.9}
    if teacher:
        ngram["self_training"] = {"teacher": {"fit_seconds": 12.0}}
    metrics = {
        "fit_seconds": 130.0 if final else 70.0,
        "data_prep_seconds": 40.0,
        "epochs_run": 4,
        "best_val_accuracy": 0.91,
        "test_accuracy": 0.92,
        "branches": {"ngram": ngram},
    }
    if final:
        metrics["final_fit"] = {"fit_seconds": 60.0}
    return metrics


def test_hybrid_stages_split_the_fit_seconds():
    stages = hybrid_stages(hybrid_metrics())
    assert stages["word_s"] == 40.0  # 130 - 30 (n-gram) - 60 (final fit)
    assert (stages["ngram_s"], stages["ngram_teacher_s"], stages["final_fit_s"]) == (30.0, 12.0, 60.0)
    plain = hybrid_stages(hybrid_metrics(final=False, teacher=False))
    assert plain["word_s"] == 40.0 and plain["final_fit_s"] is None and plain["ngram_teacher_s"] is None
    run = {"config": "configs/best.yaml", **stages, "usage": usage(300.0)}
    table = "\n".join(hybrid_table([run]))
    line, header = row_of(table, "| configs/best.yaml"), row_of(table, "| hybrid config")
    assert line.count("|") == header.count("|")
    assert "| 300 | 40.0 | 30.0 (12.0) | 40.0 (4) | 60.0 | 130.0 |" in line


def test_search_summary_counts_finished_trials_per_hour():
    rows = [
        {"trial": "0", "variant": "mha", "val_accuracy": "0.85", "seconds": "100.0", "epochs": "3"},
        {"trial": "1", "variant": "ngram", "val_accuracy": "0.89", "seconds": "20.0", "epochs": "2"},
        {"trial": "2", "variant": "attention", "val_accuracy": "", "seconds": "", "epochs": ""},
    ]
    s = search_summary(rows, wall_s=240.0)
    assert (s["trials"], s["finished"]) == (3, 2)
    assert s["trials_per_hour"] == 30.0 and s["wall_per_trial_s"] == 120.0
    assert s["trial_fit_s"] == {"median": 60.0, "min": 20.0, "max": 100.0, "n": 2}
    assert s["outside_fits_s"] == 120.0
    lines = search_lines({"config": "configs/tune.yaml", "max_trials": 3, **s, "usage": usage(240.0)})
    assert lines[2].count("|") == lines[0].count("|") and "| 2/3 | 240 | 30.0 | 120 |" in lines[2]
    assert "mha 100 s (3 epochs, val acc 0.8500)" in lines[-1]
    assert search_summary(rows[2:], wall_s=50.0)["trials_per_hour"] is None


def test_full_run_epochs_per_config_and_own():
    assert epochs_arg("own") == "own" and epochs_arg("3") == 3
    with pytest.raises(argparse.ArgumentTypeError):
        epochs_arg("0")
    assert seed_epochs("configs/seed_attention.yaml", None) == FULL_EPOCHS["configs/seed_attention.yaml"]
    assert seed_epochs("configs/seed_mha.yaml", 5) == 5
    assert seed_epochs("configs/seed_mha.yaml", "own") is None  # the config's own epochs


def test_a_failed_section_is_reported_and_the_others_kept():
    s = search_summary(
        [{"trial": "0", "variant": "mha", "val_accuracy": "0.85", "seconds": "100.0", "epochs": "3"}], wall_s=120.0
    )
    table = markdown(
        {
            "machine": "test",
            "load_start": [1, 1, 1],
            "data_used": "x",
            "hybrid": {"failed": "[bench] hybrid configs/best.yaml failed (exit 1):\nTraceback ..."},
            "search": {"config": "configs/tune.yaml", "max_trials": 1, **s, "usage": usage(120.0)},
        }
    )
    assert "Section hybrid failed: [bench] hybrid configs/best.yaml failed (exit 1):" in table
    assert "| configs/tune.yaml, 1 trials | 1/1 | 120 | 30.0 |" in table


def test_the_attention_kernels_agree_and_are_tabled(capsys):
    """bench/attention_kernels.py on tiny shapes: the kernels' outputs agree (it asserts so before
    timing), masked or not, and each gets a row; the timings themselves are not checked."""
    from attention_kernels import main

    tiny = ["--batch", "8", "--tokens", "40", "--width", "4", "--chunk", "4", "--repeats", "1", "--steps", "1"]
    main(tiny)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "ms" not in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| layers.Attention",
        "| FoldedAttention",
        "| ops.dot_product_attention",
        "| micro-batches of 4",
    ]
    main([*tiny, "--masked"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "ms" not in line]
    assert "padding masked" in out
    assert [row.split(" | ")[0] for row in rows] == ["| layers.Attention", "| FoldedAttention"]


def test_cooccurrences_weigh_by_distance_and_skip_padding_and_oov():
    import numpy as np

    ids = np.array([[2, 3, 2, 0, 1]])  # 0 padding, 1 OOV
    counts = cooccurrences(ids, vocab_size=4, window=2)
    # pairs: (2,3) at distance 1 twice (2-3 and 3-2), (2,2) at distance 2 once; symmetric.
    assert counts[2, 3] == counts[3, 2] == 2.0
    assert counts[2, 2] == 2 * 0.5  # the pair and its mirror on the diagonal
    assert counts[:2].sum() == counts[:, :2].sum() == 0.0


def test_ppmi_vectors_place_words_of_shared_contexts_together():
    import numpy as np

    rng = np.random.default_rng(0)
    # words 2-4 share contexts 8-10, words 5-7 share contexts 11-13
    rows = [[a, rng.integers(8, 11)] for a in rng.integers(2, 5, 400)] + [
        [a, rng.integers(11, 14)] for a in rng.integers(5, 8, 400)
    ]
    vectors = ppmi_vectors(cooccurrences(np.array(rows), 14, window=1), dim=4, seed=0)
    assert vectors.shape == (14, 4) and vectors.dtype == np.float32
    assert abs(float(vectors.std()) - 0.05) < 1e-6
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    assert unit[2] @ unit[3] > 0.9 and unit[5] @ unit[6] > 0.9
    assert abs(unit[2] @ unit[5]) < 0.1 and abs(unit[3] @ unit[7]) < 0.1


def test_character_member_reads_words_it_never_saw_through_their_pieces():
    import dataclasses

    import numpy as np
    from char_ngram_member import character_member

    from textattn.config import load_config

    config = load_config(os.path.join(os.path.dirname(BENCH), "configs", "default.yaml"))
    hybrid = dataclasses.replace(config.model.hybrid, ngram_epochs=30, ngram_learning_rate=0.05, ngram_batch_size=8)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, hybrid=hybrid))
    rng = np.random.default_rng(0)
    fillers = ["the film was", "our dinner felt", "this hotel seemed", "that plot is"]
    positive, negative = ["wonderful", "wonderfully made"], ["awful", "awfully made"]
    texts, labels = [], []
    for _ in range(40):
        label = int(rng.integers(2))
        word = (positive if label else negative)[int(rng.integers(2))]
        texts.append(f"{fillers[int(rng.integers(4))]} {word}")
        labels.append(label)
    labels = np.array(labels, np.int32)
    probabilities = character_member(config, texts, labels, texts, labels, vocab_size=5000, ngrams=(3, 4))
    # Neither word was in training as a whole; their character n-grams were.
    unseen = probabilities(["a wonderfulness", "an awfulness"])
    assert unseen.shape == (2, 2)
    assert unseen[0, 1] > 0.7 and unseen[1, 0] > 0.7
    assert probabilities.best_epoch >= 1

    # A final fit: no validation, every epoch run.
    final = character_member(config, texts, labels, None, None, vocab_size=5000, ngrams=(3, 4), epochs=5)
    assert final.best_epoch == 5
    assert final(["a wonderfulness"])[0, 1] > 0.5


def test_validation_movies_reads_each_training_reviews_movie(tmp_path):
    import io
    import tarfile

    from textattn.data.aclimdb import read_training_movies as training_movies  # what the bench reads them with

    files = {
        "aclImdb/train/pos/0_9.txt": "a fine film",
        "aclImdb/train/pos/1_8.txt": "loved it",
        "aclImdb/train/neg/0_2.txt": "dull <br />dull",
        "aclImdb/train/urls_pos.txt": "http://www.imdb.com/title/tt0000001/usercomments\n"
        "http://www.imdb.com/title/tt0000002/usercomments\n",
        "aclImdb/train/urls_neg.txt": "http://www.imdb.com/title/tt0000002/usercomments\n",
        "aclImdb/test/pos/0_10.txt": "not read",
    }
    archive = tmp_path / "aclImdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert training_movies(str(archive)) == {
        "a fine film": "tt0000001",
        "loved it": "tt0000002",
        "dull <br />dull": "tt0000002",
    }


def test_exports_bench_parses_its_arguments(tmp_path):
    from exports import parse_exports

    assert parse_exports([f"a={tmp_path}", f"b={tmp_path}"]) == {"a": str(tmp_path), "b": str(tmp_path)}
    for bad in (
        [f"a={tmp_path}"],
        [f"a={tmp_path}", f"a={tmp_path}"],
        [str(tmp_path), f"b={tmp_path}"],
        [f"a={tmp_path}", f"b={tmp_path / 'missing'}"],
    ):
        with pytest.raises(SystemExit):
            parse_exports(bad)


@pytest.mark.slow
def test_exports_bench_times_two_exports_side_by_side(tiny_run, tiny_aclimdb, tmp_path, capsys):
    from exports import main

    from textattn import export

    out = export.export_run(tiny_run, str(tmp_path / "export"))
    assert (
        main(
            [f"first={out}", f"again={out}", "--data", tiny_aclimdb, "--rounds", "2", "--batch", "8", "--singles", "3"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "again: " in printed and "largest probability difference from first: 0" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| first |") or line.startswith("| again |")]
    assert len(rows) == 2 and rows[0].split("|")[3].strip() == "1.00"  # the first export's own ratio
