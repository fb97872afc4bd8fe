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


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


PREPARE = """
import json, textattn
from textattn.config import load_config
from textattn.data import pipeline
from textattn.data.source import resolve_data
c = resolve_data(load_config("configs/seed_attention.yaml"), {data!r})
d = pipeline.prepare(c.data, c.seed, verbose=False)
print(json.dumps({{"seconds": d.prep_seconds, "cache_hit": d.cache_hit}}))
"""


def bench_data(data, env):
    out = {}
    for phase in ("first", "cached"):
        text, wall, rss = run_process([sys.executable, "-c", PREPARE.format(data=data)], env, f"data ({phase})")
        result = last_json(text)
        out[phase] = {"seconds": result["seconds"], "cache_hit": result["cache_hit"], "wall_seconds": wall, "peak_rss_mib": rss}
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
            "project_fit_s_per_epoch_median": median([h["epoch_seconds"] for h in ours["history"]]),
            "reference_fit_s_per_epoch_mean": ref_per_epoch,
            "reference_fit_s_per_epoch_median": median(ref_epochs) if ref_epochs else None,
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


SERVE_SAVEDMODEL = """
import json, sys
from textattn.data import pipeline
from textattn.data.source import resolve_data
from textattn.config import load_config
from textattn.serving_bench import measure_serving
c = load_config({run_dir!r} + "/config.yaml")
texts = pipeline.split_texts(resolve_data(c).data, c.seed).test[0][:2048]
print(json.dumps(measure_serving({export!r}, texts, batch1_calls=300, batch_size=512, batches=10)))
"""

SERVE_KERAS = """
import json, time
import numpy as np, tensorflow as tf
import textattn
from textattn.data import pipeline
from textattn.data.source import resolve_data
from textattn.data.text import truncate_and_pad
from textattn.export import load_run
c, model, vec = load_run({run_dir!r})
texts = pipeline.split_texts(resolve_data(c).data, c.seed).test[0][:2048]
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


def bench_serving(run_dir, env, out_dir):
    export = os.path.join(out_dir, "export")
    run_process([sys.executable, "-m", "textattn", "export", run_dir, export, "--overwrite"], env, "export")
    text, _, rss = run_process([sys.executable, "-c", SERVE_SAVEDMODEL.format(run_dir=run_dir, export=export)], env,
                               "serving (SavedModel)")
    saved = {**last_json(text), "peak_rss_mib": rss}
    text, _, rss = run_process([sys.executable, "-c", SERVE_KERAS.format(run_dir=run_dir)], env, "serving (Keras)")
    keras_side = {**last_json(text), "peak_rss_mib": rss}
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
