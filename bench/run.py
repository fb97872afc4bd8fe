"""Benchmark textattn against the plain-Keras reference, interleaved, on this machine.

    python bench/run.py --data aclImdb_v1.tar.gz --quick     # everyday check
    python bench/run.py --data aclImdb_v1.tar.gz             # the full run, for bench/README.md
    python bench/run.py --data ... --quick --settings default plain      # A/B of textattn settings

Sections (--skip leaves any out):
  data      data preparation from the archive (empty cache), then from the cache.
  training  seed_attention and seed_mha against the reference script (seed_reference.py, found
            where bench/sides.py's REFERENCE says; bench/README.md): each round
            runs the reference, then every textattn setting (--settings), on the same data and
            epochs; --rounds rounds (at least 3). Per setting: seconds per epoch, the speed-up
            over the same round's reference as median (range), best validation accuracy, the fit
            seconds until textattn reaches the reference's best validation accuracy against the
            reference's seconds to its best ("not reached in N epochs" where it does not), and
            each process's wall/user/sys seconds, minor page faults, peak RSS and the load
            average before it. Settings: default (as shipped), bfc+xla, bfc, xla, plain
            (TF_CPU_ALLOCATOR_USE_BFC and train.jit_compile set each way), jax (KERAS_BACKEND=jax),
            unmasked (the reference's model exactly: no padding mask, no length bucketing).
  backend   the backend row: seed_attention under TF (default) and JAX, interleaved, 2 epochs on
            the quick subset, without the reference.
  hybrid    configs/default.yaml and configs/best.yaml trained once each as shipped, from the
            archive with an empty cache: wall seconds, fit seconds by stage, test accuracy, peak RSS.
  search    search throughput: `textattn tune` on configs/tune.yaml with --search-trials trials:
            trials per hour and each trial's seconds.
  tta       time to val acc 0.88 with configs/fast.yaml (not in the full run by default).
  serving   the tta run's export against Keras model.predict (needs tta; not by default).

The full run: data, training at FULL_EPOCHS (seed_attention 3 epochs, seed_mha 2, instead of
their own 20 and 10; --epochs own trains those), the backend row, the hybrids and a 3-trial
search. How long each part took on the machines measured so far: bench/README.md.
--quick: training only, 2 epochs on a subset (8,000 training reviews per class, so 6,000
trained on and the usual 10,000 for validation; 1,000 test per class), default setting, 3 rounds.
Prints Markdown tables and writes JSON (--json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
import traceback

from compare import backend_rows, run_comparison, summarize
from hybrid import bench_hybrids
from measure import run_process
from report import markdown
from search import run_search
from sides import REPO, SETTINGS, json_lines, run_project
from subset import make_subset

CONFIGS = ["configs/seed_attention.yaml", "configs/seed_mha.yaml"]
# The full run's epochs per seed config (their own are 20 and 10): short enough for the whole run
# to fit in 50 minutes, too short for either side to reach its plateau (--epochs own for that).
FULL_EPOCHS = {"configs/seed_attention.yaml": 3, "configs/seed_mha.yaml": 2}
QUICK_SUBSET = (8000, 1000)
BACKEND_EPOCHS = 2
SEARCH_TRIALS = 3
TARGET_ACCURACY = 0.88
MIN_ROUNDS = 3
SECTIONS = ("data", "training", "backend", "hybrid", "search", "tta", "serving")
FULL_SKIP = ("tta", "serving")

PREPARE = """
import json
from textattn.startup import configure_process; configure_process()
from textattn.config import load_config
from textattn.data import pipeline
from textattn.data.source import resolve_data
c = resolve_data(load_config({config!r}), {data!r})
d = pipeline.prepare(c.data, c.seed, verbose=False)
print(json.dumps({{"seconds": d.prep_seconds, "cache_hit": d.cache_hit}}))
"""


def bench_data(data: str, env: dict, config: str = CONFIGS[0]) -> dict:
    """Data preparation from the archive (empty cache), then from the cache."""
    out = {}
    for phase in ("first", "cached"):
        proc = run_process(
            [sys.executable, "-c", PREPARE.format(config=config, data=data)], REPO, env, f"data ({phase})"
        )
        result = json_lines(proc.output)[-1]
        out[phase] = {**result, **proc.usage()}
    return out


def bench_time_to_accuracy(config: str, data: str, runs_dir: str, cache: str) -> dict:
    ours = run_project(config, data, None, "default", runs_dir, cache, f"time to accuracy {config}")
    elapsed, reached = 0.0, None
    for epoch, (seconds, accuracy) in enumerate(zip(ours["epoch_seconds"], ours["val_accuracy"])):
        elapsed += seconds
        if accuracy >= TARGET_ACCURACY:
            reached = {"epoch": epoch + 1, "fit_seconds": elapsed, "val_accuracy": accuracy}
            break
    return {
        "config": config,
        "target": TARGET_ACCURACY,
        "reached": reached,
        "best_val_accuracy": ours["best_val_accuracy"],
        "test_accuracy": ours["test_accuracy"],
        "peak_rss_mib": ours["usage"]["peak_rss_mib"],
        "run_dir": ours["run_dir"],
    }


SERVE_SAVEDMODEL = """
import json
from textattn.startup import configure_process; configure_process()
from textattn.data import source_splits
from textattn.config import load_config
from textattn.evaluation.speed import measure_serving
c = load_config({run_dir!r} + "/config.yaml")
texts = source_splits.split_texts(c.data, c.seed).test[0][:2048]
print(json.dumps(measure_serving({export!r}, texts, batch1_calls=300, batch_size=512, batches=10)))
"""

SERVE_KERAS = """
import json, time
import numpy as np, tensorflow as tf
from textattn.startup import configure_process; configure_process()
from textattn.data import source_splits
from textattn.data.text import truncate_and_pad
from textattn.serving import load_run
c, model, vec = load_run({run_dir!r})
texts = source_splits.split_texts(c.data, c.seed).test[0][:2048]
def predict(batch):
    ids = truncate_and_pad(vec(tf.constant(batch)), c.data.sequence_length, c.data.keep)
    return model.predict(ids, verbose=0, batch_size=len(batch))
for t in texts[:5]: predict([t])
lat = []
for t in texts[:300]:
    s = time.perf_counter(); predict([t]); lat.append(time.perf_counter() - s)
big = (texts * 2)[:512]; predict(big)
s = time.perf_counter()
for _ in range(10): predict(big)
thr = 5120 / (time.perf_counter() - s)
lat = np.array(lat) * 1000
print(json.dumps({{"batch1_p50_ms": float(np.percentile(lat, 50)), "batch1_p95_ms": float(np.percentile(lat, 95)),
                  "throughput_reviews_per_s": thr}}))
"""


def bench_serving(run_dir: str, env: dict, out_dir: str) -> dict:
    """The exported SavedModel against Keras model.predict, same model, same raw texts."""
    export = os.path.join(out_dir, "export")
    run_process([sys.executable, "-m", "textattn", "export", run_dir, export, "--overwrite"], REPO, env, "export")
    out = {"run_dir": run_dir}
    for key, script in (
        ("savedmodel", SERVE_SAVEDMODEL.format(run_dir=run_dir, export=export)),
        ("keras_predict", SERVE_KERAS.format(run_dir=run_dir)),
    ):
        proc = run_process([sys.executable, "-c", script], REPO, env, f"serving ({key})")
        out[key] = {**json_lines(proc.output)[-1], "peak_rss_mib": proc.usage()["peak_rss_mib"]}
    return out


def epochs_arg(value: str):
    """--epochs: a number of epochs, or "own" for each config's own (seed_attention 20, seed_mha 10)."""
    if value == "own":
        return value
    try:
        epochs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number of epochs nor 'own'") from None
    if epochs < 1:
        raise argparse.ArgumentTypeError("epochs must be at least 1")
    return epochs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="aclImdb directory or .tar.gz")
    parser.add_argument(
        "--quick", action="store_true", help="2 epochs on a subset, default setting: the everyday check"
    )
    parser.add_argument("--configs", nargs="+", help=f"seed configs to compare (default: {' '.join(CONFIGS)})")
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=sorted(SETTINGS),
        help="textattn settings, each paired with the reference every round (default: default)",
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS, help=f"rounds per comparison (at least {MIN_ROUNDS})")
    parser.add_argument(
        "--epochs",
        type=epochs_arg,
        help="epochs of every seed training, or 'own' for each config's own "
        f"(default: 2 with --quick, else {', '.join(f'{os.path.basename(c)} {e}' for c, e in FULL_EPOCHS.items())})",
    )
    parser.add_argument(
        "--subset",
        type=int,
        nargs=2,
        metavar=("TRAIN", "TEST"),
        help=f"train on a subset: reviews per class (default with --quick: {QUICK_SUBSET[0]} {QUICK_SUBSET[1]})",
    )
    parser.add_argument(
        "--search-trials",
        type=int,
        default=SEARCH_TRIALS,
        help=f"trials of the search-throughput run (default: {SEARCH_TRIALS})",
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=None,
        choices=SECTIONS,
        help="sections to leave out (default: tta serving; with --quick: all but training; "
        "--skip with no section runs them all)",
    )
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    args = parser.parse_args(argv)
    if args.rounds < MIN_ROUNDS:
        parser.error(f"--rounds must be at least {MIN_ROUNDS}: one run per side says nothing about its spread")
    if args.search_trials < 1:
        parser.error("--search-trials must be at least 1")
    if not os.path.exists(args.data):
        parser.exit(2, f"error: data path {args.data!r} does not exist; pass --data PATH to aclImdb .tar.gz\n")
    args.settings = args.settings or ["default"]
    if args.quick:
        args.epochs = args.epochs or 2
        args.subset = args.subset or list(QUICK_SUBSET)
        args.skip = [s for s in SECTIONS if s != "training"] if args.skip is None else args.skip
    args.skip = list(FULL_SKIP) if args.skip is None else args.skip
    return args


def seed_epochs(config: str, epochs) -> int | None:
    """The epochs a seed comparison trains: --epochs, the config's own for "own" (None), else FULL_EPOCHS."""
    if epochs == "own":
        return None
    return epochs or FULL_EPOCHS.get(config)


def main(argv=None):
    args = parse_args(argv)
    data = os.path.abspath(args.data)
    work = tempfile.mkdtemp(prefix="textattn-bench-")
    cache = os.path.join(work, "cache")
    runs_dir = os.path.join(work, "runs")
    env = {"TEXTATTN_CACHE": cache, "PYTHONUNBUFFERED": "1", "TF_CPU_ALLOCATOR_USE_BFC": None}
    started = time.perf_counter()
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, "
        f"python {platform.python_version()}",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "args": {k: v for k, v in vars(args).items() if k != "data"},
        "section_minutes": {},
    }
    progress = os.path.join(work, "progress.json")
    print(f"[bench] progress: {progress}", file=sys.stderr, flush=True)

    def save_progress(**partial):
        with open(progress, "w") as f:
            json.dump({**results, **partial}, f, indent=1)

    def section(name, run):
        if name in args.skip:
            return
        t0 = time.perf_counter()
        try:
            results[name] = run()
        except (SystemExit, Exception) as e:  # a failed process or summary: keep the other sections' figures
            traceback.print_exc()
            print(f"[bench] section {name} failed: {e}", file=sys.stderr, flush=True)
            results[name] = {"failed": f"{type(e).__name__}: {e}"[-2000:]}
        results["section_minutes"][name] = round((time.perf_counter() - t0) / 60, 1)
        save_progress()

    subset = None
    if args.subset or "backend" not in args.skip:
        subset = make_subset(data, os.path.join(work, "subset"), *(args.subset or QUICK_SUBSET))
    train_data = subset if args.subset else data
    results["data_used"] = (
        f"{data}"
        if not args.subset
        else f"subset of {data}: {args.subset[0]} training and {args.subset[1]} test reviews per class"
    )

    def training():
        comparisons = []
        for config in args.configs or CONFIGS:
            # Warm textattn's data cache so that no measured run pays for preparing data.
            run_process([sys.executable, "-c", PREPARE.format(config=config, data=train_data)], REPO, env, "warm cache")
            comparisons.append(
                run_comparison(
                    config,
                    train_data,
                    seed_epochs(config, args.epochs),
                    args.settings,
                    args.rounds,
                    runs_dir,
                    cache,
                    lambda partial: save_progress(training_rounds=[*comparisons, partial]),
                )
            )
        summaries = [summarize(c) for c in comparisons]
        return {"rounds": comparisons, "summaries": summaries, "backend": backend_rows(summaries, comparisons)}

    def backend():
        if importlib.util.find_spec("jax") is None:
            return {"skipped": "jax is not installed (pip install -e '.[jax]')"}
        config = CONFIGS[0]
        run_process([sys.executable, "-c", PREPARE.format(config=config, data=subset)], REPO, env, "warm cache")
        comparison = run_comparison(
            config,
            subset,
            BACKEND_EPOCHS,
            ["default", "jax"],
            args.rounds,
            runs_dir,
            cache,
            lambda partial: save_progress(backend_rounds=partial),
            reference=False,
        )
        summary = summarize(comparison)
        return {
            "data_used": f"subset: {QUICK_SUBSET[0]} training and {QUICK_SUBSET[1]} test reviews per class",
            "rounds": comparison,
            "summary": summary,
            "rows": backend_rows([summary], [comparison]),
        }

    # Data first: it measures the cold cache, and leaves the cache warm for training.
    section("data", lambda: bench_data(data, env))
    section("training", training)
    section("backend", backend)
    section("hybrid", lambda: bench_hybrids(data, runs_dir, work))
    section("search", lambda: run_search(data, args.search_trials, work))
    section("tta", lambda: bench_time_to_accuracy("configs/fast.yaml", data, runs_dir, cache))
    run_dir = (results.get("tta") or {}).get("run_dir")
    if run_dir:
        section("serving", lambda: bench_serving(run_dir, env, work))
    results["load_end"] = [round(x, 2) for x in os.getloadavg()]
    results["minutes"] = round((time.perf_counter() - started) / 60, 1)
    table = markdown(results)
    print(table)
    with open(args.json, "w") as f:
        json.dump({**results, "markdown": table}, f, indent=2)
    print(f"\n[bench] results written to {args.json}; scratch in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
