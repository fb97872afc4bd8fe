"""Markdown tables from the bench's results (see run.py for what is measured)."""

from __future__ import annotations

from sides import REFERENCE_SIDE


def ranged(s: dict, digits: int = 2, suffix: str = "") -> str:
    """"median (min–max)" of a ``measure.spread``; "-" when it holds nothing."""
    if not s or s.get("median") is None:
        return "-"
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}{suffix}"
    return f"{s['median']:.{digits}f}{suffix} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def training_table(summaries: list[dict]) -> list[str]:
    lines = ["| config | textattn setting | epochs | rounds | textattn s/epoch | reference s/epoch "
             "| speed-up, fit s/epoch | speed-up, epochs after the first | speed-up, CPU s/epoch "
             "| best val acc textattn / reference |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        ref = s["sides"][REFERENCE_SIDE]
        for side, x in s["sides"].items():
            if side == REFERENCE_SIDE:
                continue
            lines.append(
                f"| {s['config']} | {side} | {x['epochs']} | {s['rounds']} | {ranged(x['per_epoch'], 1)} | "
                f"{ranged(ref['per_epoch'], 1)} | **{ranged(x['speedup'], 2, 'x')}** | "
                f"{ranged(x['steady_speedup'], 2, 'x')} | {ranged(x['cpu_speedup'], 2, 'x')} | "
                f"{x['best_val_accuracy']['median']:.4f} / {ref['best_val_accuracy']['median']:.4f} |")
    return lines


def regime_table(summaries: list[dict]) -> list[str]:
    lines = ["| config | side | wall s | user s | sys s | sys share | minor faults | peak RSS MiB "
             "| load avg (1 min) before |", "|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        for side, x in s["sides"].items():
            u = x["usage"]
            share = u["sys_s"] / max(u["user_s"] + u["sys_s"], 1e-9)
            lines.append(f"| {s['config']} | {side} | {u['wall_s']:.1f} | {u['user_s']:.1f} | {u['sys_s']:.1f} | "
                         f"{share:.0%} | {u['minor_faults']:,.0f} | {u['peak_rss_mib']:.0f} | "
                         f"{ranged(x['load_before'], 2)} |")
    return lines


def accuracy_table(summaries: list[dict]) -> list[str]:
    lines = ["| config | textattn setting | textattn fit s to reference's best val acc | reference fit s to its best "
             "| speed-up | reached |", "|---|---|---|---|---|---|"]
    for s in summaries:
        for side, x in s["sides"].items():
            if side == REFERENCE_SIDE:
                continue
            t = x["to_reference_accuracy"]
            lines.append(f"| {s['config']} | {side} | {ranged(t['project_s'], 1)} | {ranged(t['reference_s'], 1)} | "
                         f"{ranged(t['speedup'], 2, 'x')} | {t['reached']}/{t['rounds']} rounds |")
    return lines


def backend_table(rows: list[dict]) -> list[str]:
    lines = ["| config | TF s/epoch | JAX s/epoch | JAX / TF | JAX / TF, epochs after the first | JAX / TF, CPU s "
             "| best val acc TF / JAX |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {ranged(r['tf'], 1)} | {ranged(r['jax'], 1)} | "
                     f"{ranged(r['jax_over_tf'], 2, 'x')} | {ranged(r['jax_over_tf_steady'], 2, 'x')} | "
                     f"{r['val_accuracy']['tf']:.4f} / {r['val_accuracy']['jax']:.4f} |")
    return lines


def markdown(results: dict) -> str:
    lines = [f"Machine: {results['machine']}",
             f"Load average (1, 5, 15 min): {results['load_start']} at the start, {results.get('load_end')} at the end.",
             f"Data: {results['data_used']}", ""]
    summaries = results.get("training") or []
    if summaries:
        lines += ["Speed-up = reference seconds / textattn seconds in the same round (above 1: textattn faster); "
                  "median (range) over the rounds. CPU s: user + system seconds of the process during the epochs, "
                  "which another job on the machine delays but does not add to.", ""]
        lines += training_table(summaries) + [""] + regime_table(summaries) + [""] + accuracy_table(summaries)
    if results.get("backend"):
        lines += [""] + backend_table(results["backend"])
    tta = results.get("time_to_accuracy")
    if tta:
        reached = tta["reached"]
        value = (f"{reached['fit_seconds']:.1f} s (epoch {reached['epoch']}, val acc {reached['val_accuracy']:.4f})"
                 if reached else f"not reached (best {tta['best_val_accuracy']:.4f})")
        lines += ["", f"| time to val acc {tta['target']} | config | fit seconds | peak RSS MiB |", "|---|---|---|---|",
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
