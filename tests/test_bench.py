"""bench/: the interleaved run order, the per-round pairing of ratios, and time to the reference's accuracy."""

import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

from compare import backend_rows, summarize  # noqa: E402
from measure import interleaved, spread  # noqa: E402
from report import markdown  # noqa: E402
from sides import record, reference_variant, seconds_to_accuracy  # noqa: E402


def usage(wall):
    return {"wall_s": wall, "user_s": wall * 1.5, "sys_s": 1.0, "minor_faults": 1000, "major_faults": 0,
            "peak_rss_mib": 900.0, "load_before": [1.0, 1.0, 1.0]}


def side(epoch_seconds, val_accuracy, cpu=None):
    cpu = cpu or [2 * s for s in epoch_seconds]
    return record({"epoch_seconds": epoch_seconds, "epoch_cpu_seconds": cpu}, val_accuracy, 0.8,
                  usage(sum(epoch_seconds)))


def test_interleaved_alternates_the_sides_every_round():
    assert interleaved(["reference", "default", "jax"], 2) == [
        (0, "reference"), (0, "default"), (0, "jax"), (1, "reference"), (1, "default"), (1, "jax")]
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
    comparison = {"config": "configs/seed_attention.yaml", "epochs": 2, "rounds": [
        {"reference": side([10.0, 10.0], [0.8, 0.85]), "default": side([5.0, 5.0], [0.84, 0.86])},
        {"reference": side([30.0, 30.0], [0.8, 0.85]), "default": side([15.0, 15.0], [0.84, 0.86])},
        {"reference": side([12.0, 12.0], [0.8, 0.85]), "default": side([6.0, 6.0], [0.84, 0.86])},
    ]}
    summary = summarize(comparison)
    ours = summary["sides"]["default"]
    assert ours["speedup"] == {"median": 2.0, "min": 2.0, "max": 2.0, "n": 3}
    assert ours["cpu_speedup"]["median"] == 2.0
    reach = ours["to_reference_accuracy"]
    # The reference's best (0.85) is reached in textattn's 2nd epoch; the reference needs its 2nd too.
    assert reach["reached"] == 3 and reach["speedup"]["median"] == 2.0
    table = markdown({"machine": "test", "load_start": [1, 1, 1], "load_end": [1, 1, 1], "data_used": "x",
                      "training": [summary], "backend": []})
    assert "**2.00x (2.00–2.00)**" in table


def test_backend_rows_compare_tf_and_jax_in_the_same_round():
    comparison = {"config": "c", "epochs": 1, "rounds": [
        {"reference": side([10.0], [0.8]), "default": side([4.0], [0.8]), "jax": side([8.0], [0.8])},
        {"reference": side([10.0], [0.8]), "default": side([5.0], [0.8]), "jax": side([15.0], [0.8])},
        {"reference": side([10.0], [0.8]), "default": side([4.0], [0.8]), "jax": side([10.0], [0.8])},
    ]}
    (row,) = backend_rows([summarize(comparison)], [comparison])
    assert row["jax_over_tf"] == {"median": 2.5, "min": 2.0, "max": 3.0, "n": 3}


def test_reference_variant_names_only_seed_configs():
    assert reference_variant("configs/seed_mha.yaml") == "mha"
    with pytest.raises(SystemExit):
        reference_variant("configs/fast.yaml")
