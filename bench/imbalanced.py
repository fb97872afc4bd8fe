"""Class weights and decision rules on a 1:9 imbalanced IMDB set (docs/class_weights_thresholds.md).

    python bench/imbalanced.py                       # fast.yaml: none vs balanced, thresholds, abstain
    python bench/imbalanced.py --settings hybrid-none hybrid-balanced

Builds a JSONL file from the aclImdb archive: every negative review of each
split and one positive for every ``--ratio`` negatives (a seeded draw), so
positive is the minority class; validation is carved from the training rows
(10 % of each class). Each setting trains once with ``textattn train`` and
the table is read from its metrics.json: ``test_decision`` scores the run's
decision rule (arg-max unless the setting fits one) on the test split.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from textattn.data.aclimdb import read_reviews  # noqa: E402

ARCHIVE = os.path.join(REPO, "..", "shared", "data", "aclImdb.tar.gz")
FAST = os.path.join(REPO, "configs", "fast.yaml")
DEFAULT = os.path.join(REPO, "configs", "default.yaml")
NGRAM = os.path.join(REPO, "configs", "ngram.yaml")
SETTINGS = {
    "none": (FAST, []),
    "balanced": (FAST, ["train.class_weight=balanced"]),
    "macro_f1": (FAST, ["train.threshold=macro_f1"]),
    "precision=0.95": (FAST, ["train.threshold=precision=0.95"]),
    "balanced+macro_f1": (FAST, ["train.class_weight=balanced", "train.threshold=macro_f1"]),
    "abstain=0.9": (FAST, ["train.abstain=0.9"]),
    "ngram-none": (NGRAM, ["train.final_fit=false"]),
    "ngram-balanced": (NGRAM, ["train.final_fit=false", "train.class_weight=balanced"]),
    "ngram-macro_f1": (NGRAM, ["train.final_fit=false", "train.threshold=macro_f1"]),
    "ngram-balanced+macro_f1": (
        NGRAM,
        ["train.final_fit=false", "train.class_weight=balanced", "train.threshold=macro_f1"],
    ),
    "hybrid-none": (DEFAULT, ["train.final_fit=false"]),
    "hybrid-balanced": (DEFAULT, ["train.final_fit=false", "train.class_weight=balanced"]),
    "hybrid-macro_f1": (DEFAULT, ["train.final_fit=false", "train.threshold=macro_f1"]),
}
QUICK = [
    "none",
    "balanced",
    "macro_f1",
    "balanced+macro_f1",
    "precision=0.95",
    "abstain=0.9",
    "ngram-none",
    "ngram-balanced",
    "ngram-macro_f1",
    "ngram-balanced+macro_f1",
]


def build(archive: str, path: str, ratio: int, seed: int) -> dict:
    """Write the imbalanced JSONL to ``path``; return {split: {class: count}}."""
    rng = np.random.default_rng(seed)
    counts = {}
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for split, (texts, labels) in read_reviews(archive, ("train", "test")).items():
            labels = np.asarray(labels)
            negatives = np.flatnonzero(labels == 0)
            positives = rng.choice(np.flatnonzero(labels == 1), size=len(negatives) // ratio, replace=False)
            for i in np.sort(np.concatenate([negatives, positives])):
                f.write(json.dumps({"text": texts[i], "label": "pos" if labels[i] else "neg", "split": split}) + "\n")
            counts[split] = {"neg": int(len(negatives)), "pos": int(len(positives))}
    os.replace(path + ".tmp", path)
    return counts


def train(setting: str, data: str, out_dir: str) -> dict:
    """Train one setting (a finished run of it in ``out_dir`` is reused); return its metrics.json."""
    config, overrides = SETTINGS[setting]
    run_dir = os.path.join(out_dir, setting.replace("=", "_").replace("+", "_"))
    metrics_path = os.path.join(run_dir, "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path, encoding="utf-8") as f:
            return json.load(f)
    cmd = [sys.executable, "-m", "textattn", "train", "--config", config, "--data", data, "--run-dir", run_dir]
    for item in overrides:
        cmd += ["--set", item]
    subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, stdout=subprocess.DEVNULL)
    with open(metrics_path, encoding="utf-8") as f:
        return json.load(f)


def row(setting: str, metrics: dict) -> str:
    d = metrics["test_decision"]
    pos = next(c for c in d["per_class"] if c["class"] == "pos")
    answered = d["answered_accuracy"]
    rule = metrics["decision"]
    cut = f"{rule['threshold']:.3f}" if rule.get("threshold") is not None else "-"
    return (
        f"| {setting} | {cut} | {d['accuracy']:.4f} | {pos['recall']:.4f} | {pos['precision']:.4f} | "
        f"{d['macro_f1']:.4f} | {d['coverage']:.3f} | {answered:.4f} | {metrics['fit_seconds']:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--ratio", type=int, default=9, help="negatives per positive (default 9)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="+", default=QUICK, choices=sorted(SETTINGS))
    parser.add_argument("--work-dir", help="where the JSONL and the runs go (default: a new temporary directory)")
    args = parser.parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="imbalanced-")
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, f"imdb_1to{args.ratio}.jsonl")
    counts = build(args.archive, data, args.ratio, args.seed) if not os.path.exists(data) else None
    print(f"Data: {data} {counts or '(reused)'}", flush=True)
    print(
        "| setting | cut on p(pos) | test accuracy | pos recall | pos precision | macro-F1 | coverage | "
        "answered accuracy | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for setting in args.settings:
        print(row(setting, train(setting, data, os.path.join(work, "runs"))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
