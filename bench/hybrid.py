"""Training time of the hybrids (configs/default.yaml and configs/best.yaml), once each, from the archive.

A hybrid trains in stages: the n-gram branch (a teacher, then with
self-training a student on the confidently labelled unlabelled reviews), the
word branch with early stopping on validation, the blend, and with
``train.final_fit`` both branches again on all 25,000 training reviews. Each
run starts with an empty data cache, so its wall seconds are what a user
waits for ``python train.py --config ...`` on a fresh machine.
"""

from __future__ import annotations

import json
import os
import re
import sys

from measure import run_process
from sides import AS_SHIPPED, REPO

HYBRID_CONFIGS = ["configs/default.yaml", "configs/best.yaml"]


def run_hybrid(config: str, data: str, runs_dir: str, cache: str) -> dict:
    """``train.py --config config`` as shipped, its own data cache empty; its stages and process costs."""
    cmd = [sys.executable, "train.py", "--config", config, "--data", data, "--output-dir", runs_dir]
    proc = run_process(cmd, REPO, {**AS_SHIPPED, "TEXTATTN_CACHE": cache, "PYTHONUNBUFFERED": "1"}, f"hybrid {config}")
    match = re.search(r"Run directory: (.+)", proc.output)
    if not match:
        raise SystemExit(f"[bench] hybrid {config}: no run directory in its output:\n{proc.output[-2000:]}")
    run_dir = os.path.join(REPO, match.group(1).strip())
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    return {"config": config, "run_dir": run_dir, **hybrid_stages(metrics), "usage": proc.usage()}


def hybrid_stages(metrics: dict) -> dict:
    """Seconds by stage from a hybrid run's metrics.json (None where the run has no such stage).

    ``ngram_s`` is the n-gram branch's fit (teacher and, with self-training, student);
    ``word_s`` the word branch's epochs; ``final_fit_s`` the refit of both on all training
    reviews; ``fit_s`` their sum as train.py reports it. Labelling the unlabelled reviews,
    the blend, calibration and the test pass are in the wall seconds only.
    """
    ngram = (metrics.get("branches") or {}).get("ngram") or {}
    teacher = (ngram.get("self_training") or {}).get("teacher") or {}
    final = metrics.get("final_fit") or {}
    ngram_s = ngram.get("fit_seconds")
    final_s = final.get("fit_seconds")
    fit_s = metrics["fit_seconds"]
    return {
        "data_prep_s": metrics.get("data_prep_seconds"),
        "ngram_s": ngram_s,
        "ngram_teacher_s": teacher.get("fit_seconds"),
        "word_s": round(fit_s - (ngram_s or 0.0) - (final_s or 0.0), 3),
        "word_epochs": metrics.get("epochs_run"),
        "final_fit_s": final_s,
        "fit_s": fit_s,
        "best_val_accuracy": metrics.get("best_val_accuracy"),
        "test_accuracy": metrics["test_accuracy"],
    }


def bench_hybrids(data: str, runs_dir: str, work: str, configs=HYBRID_CONFIGS) -> list[dict]:
    """Each hybrid config once, each with a fresh cache (so both pay for their own data preparation)."""
    return [run_hybrid(c, data, runs_dir, os.path.join(work, f"hybrid-cache-{i}")) for i, c in enumerate(configs)]
