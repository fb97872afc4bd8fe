"""Markdown tables from the bench's results (see run.py for what is measured)."""

from __future__ import annotations

from sides import REFERENCE_SIDE

BACKEND_NOTE = "TF and JAX interleaved, 2 epochs on a {data}"


def header(row: str) -> list[str]:
    """A Markdown table's header ``row`` and its separator, one ``---`` per column."""
    return [row, "|" + "---|" * (row.count("|") - 1)]


def ranged(s: dict, digits: int = 2, suffix: str = "") -> str:
    """ "median (min–max)" of a ``measure.spread``; "-" when it holds nothing."""
    if not s or s.get("median") is None:
        return "-"
    if s["n"] == 1:
        return f"{s['median']:.{digits}f}{suffix}"
    return f"{s['median']:.{digits}f}{suffix} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def training_table(summaries: list[dict]) -> list[str]:
    lines = header(
        "| config | textattn setting | epochs | rounds | textattn s/epoch | reference s/epoch "
        "| speed-up, fit s/epoch | speed-up, epochs after the first | speed-up, CPU s/epoch "
        "| best val acc textattn / reference |"
    )
    for s in summaries:
        ref = s["sides"][REFERENCE_SIDE]
        for side, x in s["sides"].items():
            if side == REFERENCE_SIDE:
                continue
            lines.append(
                f"| {s['config']} | {side} | {x['epochs']} | {s['rounds']} | {ranged(x['per_epoch'], 1)} | "
                f"{ranged(ref['per_epoch'], 1)} | **{ranged(x['speedup'], 2, 'x')}** | "
                f"{ranged(x['steady_speedup'], 2, 'x')} | {ranged(x['cpu_speedup'], 2, 'x')} | "
                f"{x['best_val_accuracy']['median']:.4f} / {ref['best_val_accuracy']['median']:.4f} |"
            )
    return lines


def regime_table(summaries: list[dict]) -> list[str]:
    lines = header(
        "| config | side | wall s | user s | sys s | sys share | minor faults | peak RSS MiB "
        "| load avg (1 min) before |"
    )
    for s in summaries:
        for side, x in s["sides"].items():
            u = x["usage"]
            share = u["sys_s"] / max(u["user_s"] + u["sys_s"], 1e-9)
            lines.append(
                f"| {s['config']} | {side} | {u['wall_s']:.1f} | {u['user_s']:.1f} | {u['sys_s']:.1f} | "
                f"{share:.0%} | {u['minor_faults']:,.0f} | {u['peak_rss_mib']:.0f} | "
                f"{ranged(x['load_before'], 2)} |"
            )
    return lines


def reach_cell(t: dict) -> str:
    """textattn's fit seconds to the reference's best; "not reached in N epochs" when no round got there."""
    if not t["reached"]:
        return f"not reached in {t['epochs']} epochs (best {t['project_best']['median']:.4f})"
    cell = ranged(t["project_s"], 1)
    if t["reached"] < t["rounds"]:
        cell += f"; not reached in {t['epochs']} epochs in {t['rounds'] - t['reached']} of {t['rounds']} rounds"
    return cell


def accuracy_table(summaries: list[dict]) -> list[str]:
    lines = header(
        "| config | textattn setting | epochs | reference's best val acc | textattn fit s to it "
        "| reference fit s to its best | speed-up | reached |"
    )
    for s in summaries:
        for side, x in s["sides"].items():
            t = x.get("to_reference_accuracy")
            if not t:
                continue
            lines.append(
                f"| {s['config']} | {side} | {t['epochs']} | {ranged(t['target'], 4)} | {reach_cell(t)} | "
                f"{ranged(t['reference_s'], 1)} | {ranged(t['speedup'], 2, 'x')} | "
                f"{t['reached']}/{t['rounds']} rounds |"
            )
    return lines


def backend_table(rows: list[dict]) -> list[str]:
    lines = header(
        "| config | TF s/epoch | JAX s/epoch | JAX / TF | JAX / TF, epochs after the first | JAX / TF, CPU s "
        "| best val acc TF / JAX |"
    )
    for r in rows:
        lines.append(
            f"| {r['config']} | {ranged(r['tf'], 1)} | {ranged(r['jax'], 1)} | "
            f"{ranged(r['jax_over_tf'], 2, 'x')} | {ranged(r['jax_over_tf_steady'], 2, 'x')} | "
            f"{ranged(r['jax_over_tf_cpu'], 2, 'x')} | "
            f"{r['val_accuracy']['tf']:.4f} / {r['val_accuracy']['jax']:.4f} |"
        )
    return lines


def hybrid_table(runs: list[dict]) -> list[str]:
    lines = header(
        "| hybrid config | wall s (whole run) | data prep s | n-gram branch fit s (teacher) | word branch fit s "
        "(epochs) | final fit s | fit s in all | best val acc | test acc | peak RSS MiB | load avg before |"
    )

    def sec(value):
        return "-" if value is None else f"{value:.1f}"

    for r in runs:
        u = r["usage"]
        teacher = f" ({sec(r['ngram_teacher_s'])})" if r.get("ngram_teacher_s") is not None else ""
        val = "-" if r.get("best_val_accuracy") is None else f"{r['best_val_accuracy']:.4f}"
        lines.append(
            f"| {r['config']} | {u['wall_s']:.0f} | {sec(r['data_prep_s'])} | {sec(r['ngram_s'])}{teacher} | "
            f"{sec(r['word_s'])} ({r.get('word_epochs') or '-'}) | {sec(r['final_fit_s'])} | {sec(r['fit_s'])} | "
            f"{val} | {r['test_accuracy']:.4f} | {u['peak_rss_mib']:.0f} | {u['load_before'][0]:.2f} |"
        )
    return lines


def search_lines(s: dict) -> list[str]:
    u = s["usage"]
    rate = "-" if s["trials_per_hour"] is None else f"{s['trials_per_hour']:.1f}"
    per_wall = "-" if s["wall_per_trial_s"] is None else f"{s['wall_per_trial_s']:.0f}"
    lines = [
        *header(
            "| search | trials finished | wall s | trials per hour | wall s per trial | trial fit s | "
            "outside the fits s | load avg before |"
        ),
        f"| {s['config']}, {s['max_trials']} trials | {s['finished']}/{s['trials']} | {u['wall_s']:.0f} | {rate} | "
        f"{per_wall} | {ranged(s['trial_fit_s'], 0)} | {s['outside_fits_s']:.0f} | {u['load_before'][0]:.2f} |",
    ]
    if s["per_trial"]:
        lines += [
            "",
            "Trials: "
            + "; ".join(
                f"{t['variant']} {t['seconds']:.0f} s ({t['epochs']} epochs, val acc {t['val_accuracy']:.4f})"
                if t["val_accuracy"] is not None
                else f"{t['variant']} {t['seconds']:.0f} s"
                for t in s["per_trial"]
            ),
        ]
    return lines


def markdown(results: dict) -> str:
    failed = {k: v["failed"] for k, v in results.items() if isinstance(v, dict) and "failed" in v}
    results = {k: v for k, v in results.items() if k not in failed}
    lines = [
        f"Machine: {results['machine']}",
        f"Load average (1, 5, 15 min): {results['load_start']} at the start, {results.get('load_end')} at the end"
        + (f"; {results['minutes']} minutes in all." if results.get("minutes") is not None else "."),
        f"Data: {results['data_used']}",
        "",
    ]
    if results.get("section_minutes"):
        lines[-1:-1] = ["Minutes per section: " + ", ".join(f"{k} {v}" for k, v in results["section_minutes"].items())]
    training = results.get("training") or {}
    summaries = training.get("summaries") or []
    if summaries:
        lines += [
            "Speed-up = reference seconds / textattn seconds in the same round (above 1: textattn faster); "
            "median (range) over the rounds. CPU s: user + system seconds of the process during the epochs, "
            "which another job on the machine delays but does not add to.",
            "",
        ]
        lines += training_table(summaries) + [""] + regime_table(summaries) + [""] + accuracy_table(summaries)
    backend = results.get("backend") or {}
    rows = [*(training.get("backend") or []), *(backend.get("rows") or [])]
    if backend.get("skipped"):
        lines += ["", f"Backend row: skipped, {backend['skipped']}."]
    if rows:
        lines += [""]
        if backend.get("rows"):
            lines += [f"Backends (seed_attention, {BACKEND_NOTE.format(data=backend['data_used'])}):", ""]
        lines += backend_table(rows)
        if backend.get("summary"):
            lines += [""] + regime_table([backend["summary"]])
    if results.get("hybrid"):
        lines += ["", "Hybrids, trained once each as shipped, from the archive with an empty cache:", ""]
        lines += hybrid_table(results["hybrid"])
    if results.get("search"):
        lines += [""] + search_lines(results["search"])
    tta = results.get("tta")
    if tta:
        reached = tta["reached"]
        value = (
            f"{reached['fit_seconds']:.1f} s (epoch {reached['epoch']}, val acc {reached['val_accuracy']:.4f})"
            if reached
            else f"not reached (best {tta['best_val_accuracy']:.4f})"
        )
        lines += [
            "",
            *header(f"| time to val acc {tta['target']} | config | fit seconds | peak RSS MiB |"),
            f"| | {tta['config']} | {value} | {tta['peak_rss_mib']:.0f} |",
        ]
    serving = results.get("serving")
    if serving:
        lines += ["", *header("| serving | batch-1 p50 ms | batch-1 p95 ms | batch-512 reviews/s | peak RSS MiB |")]
        for name, key in (("SavedModel `serve`", "savedmodel"), ("Keras `model.predict`", "keras_predict")):
            s = serving[key]
            lines.append(
                f"| {name} | {s['batch1_p50_ms']:.2f} | {s['batch1_p95_ms']:.2f} | "
                f"{s['throughput_reviews_per_s']:,.0f} | {s['peak_rss_mib']:.0f} |"
            )
    data = results.get("data")
    if data:
        lines += ["", *header("| data preparation | seconds | peak RSS MiB |")]
        for phase in ("first", "cached"):
            lines.append(f"| {phase} run | {data[phase]['seconds']:.2f} | {data[phase]['peak_rss_mib']:.0f} |")
    for name, message in failed.items():
        lines += ["", f"Section {name} failed: {message.strip().splitlines()[0] if message.strip() else '?'}"]
    return "\n".join(lines)
