"""Search throughput: a short ``textattn tune`` on configs/tune.yaml, in trials per hour.

The search runs as a user would start it (its own process, an empty data
cache, tune.yaml's space, tuner and epochs per trial), only with fewer trials
(``--max-trials``). Trials per hour divide the finished trials by the whole
process's wall seconds (start-up, data preparation of each trial's data
settings, and the report included); seconds per trial are each trial's own fit
seconds (results.csv), whose median and range show how much the variants differ.
"""

from __future__ import annotations

import csv
import os
import sys

from measure import run_process, spread
from sides import AS_SHIPPED, REPO

TUNE_CONFIG = "configs/tune.yaml"


def run_search(data: str, max_trials: int, work: str, config: str = TUNE_CONFIG) -> dict:
    """The search in a fresh directory and cache under ``work``; its trials and process costs."""
    directory = os.path.join(work, "tuner")
    cmd = [
        sys.executable,
        "-m",
        "textattn",
        "tune",
        "--config",
        config,
        "--data",
        data,
        "--max-trials",
        str(max_trials),
        "--directory",
        directory,
    ]
    env = {**AS_SHIPPED, "TEXTATTN_CACHE": os.path.join(work, "search-cache"), "PYTHONUNBUFFERED": "1"}
    proc = run_process(cmd, REPO, env, f"search {config}")
    (project,) = [d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))]
    with open(os.path.join(directory, project, "results.csv"), newline="") as f:
        trials = list(csv.DictReader(f))
    usage = proc.usage()
    return {"config": config, "max_trials": max_trials, **search_summary(trials, usage["wall_s"]), "usage": usage}


def search_summary(trials: list[dict], wall_s: float) -> dict:
    """Throughput from results.csv rows (strings, as csv reads them) and the search's wall seconds."""
    done = [t for t in trials if t.get("seconds") not in (None, "")]
    seconds = [float(t["seconds"]) for t in done]
    return {
        "trials": len(trials),
        "finished": len(done),
        "trials_per_hour": len(done) * 3600.0 / wall_s if wall_s > 0 and done else None,
        "wall_per_trial_s": wall_s / len(done) if done else None,
        "trial_fit_s": spread(seconds),
        "outside_fits_s": wall_s - sum(seconds),
        "per_trial": [
            {
                "trial": t["trial"],
                "variant": t["variant"],
                "seconds": float(t["seconds"]),
                "epochs": int(t["epochs"]) if t.get("epochs") else None,
                "val_accuracy": float(t["val_accuracy"]) if t.get("val_accuracy") else None,
            }
            for t in done
        ],
    }
