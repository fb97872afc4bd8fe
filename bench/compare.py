"""Interleaved comparisons: the reference and textattn settings, round after round, on the same data.

One comparison is one seed config. Each round runs the reference once and
every named textattn setting once, in that order, with the same data and
epochs; each textattn run is paired with its round's reference run. Ratios
are reference seconds / textattn seconds (above 1: textattn is faster),
reported as the median and range over the rounds.
"""

from __future__ import annotations

from measure import interleaved, median, spread
from sides import REFERENCE_SIDE, run_project, run_reference, seconds_to_accuracy


def run_comparison(
    config: str,
    data: str,
    epochs: int | None,
    settings: list[str],
    rounds: int,
    runs_dir: str,
    cache: str,
    on_record=None,
    reference: bool = True,
) -> dict:
    """Every round's records for ``config``: {"config", "epochs", "rounds": [{side: record}]}.

    ``on_record(partial)`` is called with the comparison so far after every run (to save progress).
    ``reference=False`` leaves the reference out (the backend comparison pairs textattn settings only).
    """
    by_round = [{} for _ in range(rounds)]
    sides = [REFERENCE_SIDE, *settings] if reference else list(settings)
    for r, side in interleaved(sides, rounds):
        label = f"{config} round {r + 1}/{rounds} {side}"
        if side == REFERENCE_SIDE:
            by_round[r][side] = run_reference(config, data, epochs, label)
        else:
            by_round[r][side] = run_project(config, data, epochs, side, runs_dir, cache, label)
        if on_record:
            on_record({"config": config, "epochs": epochs, "rounds": by_round})
    return {"config": config, "epochs": epochs, "rounds": by_round}


def summarize(comparison: dict) -> dict:
    """Medians and ranges per setting: speed-ups against the same round's reference, accuracy,
    time to the reference's accuracy, and each side's process costs."""
    rounds = comparison["rounds"]
    sides = list(rounds[0])
    out = {"config": comparison["config"], "rounds": len(rounds), "sides": {}}
    for side in sides:
        records = [r[side] for r in rounds]
        summary = {
            "epochs": len(records[0]["epoch_seconds"]),
            "per_epoch": spread([x["per_epoch"] for x in records]),
            "steady_per_epoch": spread([x["steady_per_epoch"] for x in records]),
            "cpu_per_epoch": spread([x["cpu_per_epoch"] for x in records]),
            "best_val_accuracy": spread([x["best_val_accuracy"] for x in records]),
            "test_accuracy": spread([x["test_accuracy"] for x in records]),
            "usage": {
                key: median([x["usage"][key] for x in records])
                for key in ("wall_s", "user_s", "sys_s", "minor_faults", "major_faults", "peak_rss_mib")
            },
            "load_before": spread([x["usage"]["load_before"][0] for x in records]),
        }
        if side != REFERENCE_SIDE and REFERENCE_SIDE in sides:
            refs = [r[REFERENCE_SIDE] for r in rounds]
            summary["speedup"] = spread([ref["per_epoch"] / x["per_epoch"] for ref, x in zip(refs, records)])
            summary["steady_speedup"] = spread(
                [ref["steady_per_epoch"] / x["steady_per_epoch"] for ref, x in zip(refs, records)]
            )
            summary["cpu_speedup"] = spread(
                [ref["cpu_per_epoch"] / x["cpu_per_epoch"] for ref, x in zip(refs, records)]
            )
            summary["to_reference_accuracy"] = time_to_reference_accuracy(refs, records)
        out["sides"][side] = summary
    return out


def time_to_reference_accuracy(refs: list[dict], records: list[dict]) -> dict:
    """Per round: textattn's fit seconds until its validation accuracy reaches the reference's best,
    against the reference's seconds to its own best epoch. A round where textattn never reaches it
    counts in ``reached`` only; ``epochs`` (textattn's) lets the report say "not reached in N epochs"."""
    project, reference, ratios, targets = [], [], [], []
    for ref, x in zip(refs, records):
        target = ref["best_val_accuracy"]
        ref_s = seconds_to_accuracy(ref, target)
        ours = seconds_to_accuracy(x, target)
        targets.append(target)
        reference.append(ref_s)
        project.append(ours)
        ratios.append(ref_s / ours if ours else None)
    return {
        "target": spread(targets),
        "project_s": spread(project),
        "reference_s": spread(reference),
        "speedup": spread(ratios),
        "reached": sum(p is not None for p in project),
        "rounds": len(records),
        "epochs": len(records[0]["epoch_seconds"]),
        "project_best": spread([x["best_val_accuracy"] for x in records]),
    }


def backend_rows(
    summaries: list[dict], comparisons: list[dict], tf_side: str = "default", jax_side: str = "jax"
) -> list[dict]:
    """TF against JAX per config, paired by round: s/epoch and the ratio JAX/TF (above 1: JAX is slower)."""
    rows = []
    for summary, comparison in zip(summaries, comparisons):
        if tf_side not in summary["sides"] or jax_side not in summary["sides"]:
            continue
        pairs = [(r[tf_side], r[jax_side]) for r in comparison["rounds"]]
        rows.append(
            {
                "config": summary["config"],
                "tf": summary["sides"][tf_side]["per_epoch"],
                "jax": summary["sides"][jax_side]["per_epoch"],
                "tf_steady": summary["sides"][tf_side]["steady_per_epoch"],
                "jax_steady": summary["sides"][jax_side]["steady_per_epoch"],
                "jax_over_tf": spread([j["per_epoch"] / t["per_epoch"] for t, j in pairs]),
                "jax_over_tf_steady": spread([j["steady_per_epoch"] / t["steady_per_epoch"] for t, j in pairs]),
                "jax_over_tf_cpu": spread([j["cpu_per_epoch"] / t["cpu_per_epoch"] for t, j in pairs]),
                "val_accuracy": {
                    "tf": summary["sides"][tf_side]["best_val_accuracy"]["median"],
                    "jax": summary["sides"][jax_side]["best_val_accuracy"]["median"],
                },
            }
        )
    return rows
