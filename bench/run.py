"""Benchmark textattn against the plain-Keras reference, side by side on this machine.

    python bench/run.py --data ../shared/data/aclImdb.tar.gz
    python bench/run.py --data ../shared/data/aclImdb.tar.gz --epochs 3      # a quick look

Measures, each in its own process (peak RSS recorded per process):
  data     seconds to prepare the data from the archive (empty cache), then with the cache
  training seed_attention and seed_mha against ../shared/bench/seed_reference.py with the
           same epochs: fit seconds per epoch, the ratio reference/project, best val accuracy
  time to accuracy  fit seconds until validation accuracy first reaches 0.88 (--tta-config)
  serving  the exported SavedModel (batch-1 p50/p95 latency, batch-512 throughput) next to
           Keras model.predict on the same model and the same raw texts
Prints a Markdown table and writes JSON (--json). Timings are medians where repeated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "..", "shared", "bench", "seed_reference.py")
PAIRS = [("seed_attention", "attention"), ("seed_mha", "mha")]
TARGET_ACCURACY = 0.88


def run_process(cmd, env=None, label=""):
    """Run ``cmd``; return (stdout, wall seconds, peak RSS MiB of that process tree)."""
    print(f"[bench] {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env={**os.environ, **(env or {})}, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"[bench] {label} failed (exit {proc.returncode}):\n{text[-3000:]}")
    return text, wall, usage.ru_maxrss / 1024.0


def last_json(text):
    """The last line of ``text`` that parses as a JSON object."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise SystemExit(f"[bench] no JSON result in output:\n{text[-2000:]}")


def run_worker(name, *args, env=None, label=""):
    """Run the worker ``name`` in its own process (``python bench/run.py worker NAME ARGS``); return
    (its JSON result, peak RSS MiB of that process)."""
    text, _, rss = run_process([sys.executable, os.path.abspath(__file__), "worker", name, *args], env, label)
    return last_json(text), rss


def worker_prepare(data):
    """Data preparation for configs/seed_attention.yaml from ``data``: {seconds, cache_hit}."""
    from textattn.config import load_config
    from textattn.data import pipeline
    from textattn.data.source import resolve_data

    config = resolve_data(load_config("configs/seed_attention.yaml"), data)
    prepared = pipeline.prepare(config.data, config.seed, verbose=False)
    return {"seconds": prepared.prep_seconds, "cache_hit": prepared.cache_hit}


def run_test_texts(run_dir, n=2048):
    """The first ``n`` test reviews of the run in ``run_dir``, raw text."""
    from textattn import runs
    from textattn.data import pipeline
    from textattn.data.source import resolve_data

    config = resolve_data(runs.load_config(run_dir))
    return pipeline.split_texts(config.data, config.seed).test[0][:n]


def worker_serve_savedmodel(run_dir, export_dir):
    """The exported SavedModel's ``serve`` endpoint on the run's test reviews (loaded with TensorFlow)."""
    from textattn.evaluation.speed import measure_serving

    return measure_serving(export_dir, run_test_texts(run_dir), batch1_calls=300, batch_size=512, batches=10)


def worker_serve_keras(run_dir):
    """Keras ``model.predict`` on the same reviews, vectorized by the training pipeline's layer at each call."""
    import tensorflow as tf

    from textattn.data.text import truncate_and_pad
    from textattn.evaluation.speed import measure_serving
    from textattn.export import load_run

    config, model, vectorizer = load_run(run_dir)

    def predict(texts):
        ids = truncate_and_pad(vectorizer(texts), config.data.sequence_length, config.data.keep)
        return {"probability": tf.constant(model.predict(ids, verbose=0, batch_size=len(ids))[:, -1])}

    return measure_serving(predict, run_test_texts(run_dir), batch1_calls=300, batch_size=512, batches=10)


WORKERS = {"prepare": worker_prepare, "serve-savedmodel": worker_serve_savedmodel, "serve-keras": worker_serve_keras}


def bench_data(data, env):
    out = {}
    for phase in ("first", "cached"):
        start = time.perf_counter()
        result, rss = run_worker("prepare", data, env=env, label=f"data ({phase})")
        out[phase] = {"seconds": result["seconds"], "cache_hit": result["cache_hit"],
                      "wall_seconds": time.perf_counter() - start, "peak_rss_mib": rss}
    return out


def train_run(config, data, env, out_dir, epochs=None, extra=()):
    cmd = [sys.executable, "train.py", "--config", config, "--data", data, "--output-dir", out_dir, *extra]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    text, wall, rss = run_process(cmd, env, f"train {os.path.basename(config)}")
    run_dir = re.search(r"Run directory: (.+)", text).group(1).strip()
    from textattn.callbacks import read_history

    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    history = read_history(os.path.join(run_dir, "history.csv"))
    return {"run_dir": run_dir, "metrics": metrics, "history": history, "peak_rss_mib": rss, "wall_seconds": wall}


def bench_training(data, env, out_dir, epochs):
    rows = []
    ref_cmd = [sys.executable, REFERENCE, "--data", data, "--variants", *[v for _, v in PAIRS]]
    if epochs:
        ref_cmd += ["--epochs", str(epochs)]
    ref_text, _, ref_rss = run_process(ref_cmd, None, "reference")
    ref_results = [json.loads(line) for line in ref_text.splitlines() if line.startswith('{"variant"')]
    # verbose=2 prints "30/30 - 40s - ..." per epoch, in whole seconds.
    ref_epoch_lines = [int(s) for s in re.findall(r"^\d+/\d+ - (\d+)s - ", ref_text, flags=re.M)]
    offset = 0
    for (config, variant), ref in zip(PAIRS, ref_results):
        ref_epochs = ref_epoch_lines[offset: offset + ref["epochs"]]
        offset += ref["epochs"]
        ours = train_run(f"configs/{config}.yaml", data, env, out_dir, epochs)
        m = ours["metrics"]
        ours_per_epoch = m["fit_seconds"] / m["epochs_run"]
        ref_per_epoch = ref["fit_s"] / ref["epochs"]
        rows.append({
            "config": config,
            "epochs": m["epochs_run"],
            "project_fit_s_per_epoch_mean": ours_per_epoch,
            "project_fit_s_per_epoch_median": statistics.median([h["epoch_seconds"] for h in ours["history"]]),
            "reference_fit_s_per_epoch_mean": ref_per_epoch,
            "reference_fit_s_per_epoch_median": statistics.median(ref_epochs) if ref_epochs else None,
            "speedup": ref_per_epoch / ours_per_epoch,
            "project_best_val_accuracy": m["best_val_accuracy"],
            "reference_best_val_accuracy": ref["best_val_accuracy"],
            "project_test_accuracy": m["test_accuracy"],
            "reference_test_accuracy": ref["test_accuracy"],
            "project_peak_rss_mib": ours["peak_rss_mib"],
            "reference_peak_rss_mib": ref_rss,
            "run_dir": ours["run_dir"],
        })
    return rows


def bench_time_to_accuracy(config, data, env, out_dir):
    ours = train_run(config, data, env, out_dir)
    elapsed, reached = 0.0, None
    for row in ours["history"]:
        elapsed += row["epoch_seconds"]
        if row["val_accuracy"] >= TARGET_ACCURACY:
            reached = {"epoch": row["epoch"] + 1, "fit_seconds": elapsed, "val_accuracy": row["val_accuracy"]}
            break
    return {"config": config, "reached": reached, "best_val_accuracy": ours["metrics"]["best_val_accuracy"],
            "test_accuracy": ours["metrics"]["test_accuracy"], "peak_rss_mib": ours["peak_rss_mib"],
            "run_dir": ours["run_dir"]}


def bench_serving(run_dir, env, out_dir):
    export = os.path.join(out_dir, "export")
    run_process([sys.executable, "-m", "textattn", "export", run_dir, export, "--overwrite"], env, "export")
    saved, rss = run_worker("serve-savedmodel", run_dir, export, env=env, label="serving (SavedModel)")
    saved["peak_rss_mib"] = rss
    keras_side, rss = run_worker("serve-keras", run_dir, env=env, label="serving (Keras)")
    keras_side["peak_rss_mib"] = rss
    return {"run_dir": run_dir, "savedmodel": saved, "keras_predict": keras_side}


def markdown(results):
    lines = [f"Machine: {results['machine']}", ""]
    lines += ["| training | epochs | project s/epoch (median) | reference s/epoch (median) | speed-up (mean s/epoch) "
              "| project best val acc | reference best val acc | project / reference peak RSS MiB |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results.get("training", []):
        ref_median = r["reference_fit_s_per_epoch_median"]
        lines.append(f"| {r['config']} | {r['epochs']} | {r['project_fit_s_per_epoch_median']:.1f} | "
                     f"{ref_median if ref_median is not None else '-'} | {r['speedup']:.2f}x "
                     f"({r['project_fit_s_per_epoch_mean']:.1f} vs {r['reference_fit_s_per_epoch_mean']:.1f}) | "
                     f"{r['project_best_val_accuracy']:.4f} | {r['reference_best_val_accuracy']:.4f} | "
                     f"{r['project_peak_rss_mib']:.0f} / {r['reference_peak_rss_mib']:.0f} |")
    tta = results.get("time_to_accuracy")
    if tta:
        reached = tta["reached"]
        value = (f"{reached['fit_seconds']:.1f} s (epoch {reached['epoch']}, val acc {reached['val_accuracy']:.4f})"
                 if reached else f"not reached (best {tta['best_val_accuracy']:.4f})")
        lines += ["", "| time to val acc 0.88 | config | fit seconds | peak RSS MiB |", "|---|---|---|---|",
                  f"| | {tta['config']} | {value} | {tta['peak_rss_mib']:.0f} |"]
    serving = results.get("serving")
    if serving:
        lines += ["", "| serving | batch-1 p50 ms | batch-1 p95 ms | batch-512 reviews/s | peak RSS MiB |",
                  "|---|---|---|---|---|"]
        for name, key in (("SavedModel `serve`", "savedmodel"), ("Keras `model.predict`", "keras_predict")):
            s = serving[key]
            lines.append(f"| {name} | {s['batch1_p50_ms']:.2f} | {s['batch1_p95_ms']:.2f} | "
                         f"{s['throughput_reviews_per_s']:,.0f} | {s['peak_rss_mib']:.0f} |")
    data = results.get("data")
    if data:
        lines += ["", "| data preparation | seconds | peak RSS MiB |", "|---|---|---|"]
        for phase in ("first", "cached"):
            lines.append(f"| {phase} run | {data[phase]['seconds']:.2f} | {data[phase]['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def main():
    if sys.argv[1:2] == ["worker"]:  # one measurement, in the process run_worker started
        sys.path.insert(0, REPO)  # this checkout's textattn, as train.py (run from REPO) gets
        name, *args = sys.argv[2:]
        print(json.dumps(WORKERS[name](*args)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="aclImdb directory or .tar.gz")
    parser.add_argument("--epochs", type=int, help="override each training's epochs (quick look)")
    parser.add_argument("--tta-config", default="configs/fast.yaml", help="config for the time-to-accuracy run")
    parser.add_argument("--skip", nargs="*", default=[], choices=("data", "training", "tta", "serving"))
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    args = parser.parse_args()
    if not os.path.exists(args.data):
        parser.exit(2, f"error: data path {args.data!r} does not exist; pass --data PATH to aclImdb .tar.gz\n")
    data = os.path.abspath(args.data)

    work = tempfile.mkdtemp(prefix="textattn-bench-")
    env = {"TEXTATTN_CACHE": os.path.join(work, "cache"), "PYTHONUNBUFFERED": "1"}
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}, python {platform.python_version()}",
               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    runs_dir = os.path.join(work, "runs")
    # Data first: it measures the cold cache, and leaves the cache warm for training.
    results["data"] = bench_data(data, env) if "data" not in args.skip else None
    if "training" not in args.skip:
        results["training"] = bench_training(data, env, runs_dir, args.epochs)
    if "tta" not in args.skip:
        results["time_to_accuracy"] = bench_time_to_accuracy(args.tta_config, data, env, runs_dir)
    if "serving" not in args.skip:
        run_dir = (results.get("time_to_accuracy") or {}).get("run_dir") or results["training"][0]["run_dir"]
        results["serving"] = bench_serving(run_dir, env, work)
    table = markdown(results)
    print(table)
    with open(args.json, "w") as f:
        json.dump({**results, "markdown": table}, f, indent=2)
    print(f"\n[bench] results written to {args.json}; scratch in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
