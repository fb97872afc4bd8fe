"""Evaluation results -> one table, sorted by accuracy, in four formats.

A row is a flat dict of plain values (see COLUMNS). ``format_terminal`` and
``format_markdown`` render numbers for reading; ``format_csv`` and
``format_json`` keep them raw for other tools. Precision, recall, F1, AUC and
TN/FP/FN/TP are the positive (second) class's and exist for two classes only;
macro-F1 exists for any number. ``format_per_class`` gives each run's per-class
precision, recall, F1 and C x C confusion matrix (JSON: each row's
``per_class``, ``confusion_matrix`` and ``decision``: the decision rule, its scores and coverage curve).
"""

from __future__ import annotations

import csv
import io
import json
import os


def _num(digits):
    return lambda v: f"{v:.{digits}f}"


def _int(v):
    return f"{v:,}"


def _text(v):
    return str(v)


# (key, header, formatter); None values print as "-".
COLUMNS = [
    ("run", "run", _text),
    ("variant", "variant", _text),
    ("positional", "positional", _text),
    ("pooling", "pooling", _text),
    ("mask_padding", "mask", lambda v: "yes" if v else "no"),
    ("layers", "layers", _text),
    ("heads", "heads", _text),
    ("accuracy", "accuracy", _num(4)),
    ("loss", "loss", _num(4)),
    ("precision", "precision", _num(4)),
    ("recall", "recall", _num(4)),
    ("f1", "F1", _num(4)),
    ("macro_f1", "macro-F1", _num(4)),
    ("auc", "AUC", _num(4)),
    ("ece", "ECE", _num(4)),
    ("brier", "Brier", _num(4)),
    ("acc_short", "acc <=50", _num(4)),
    ("acc_medium", "acc 51-200", _num(4)),
    ("acc_long", "acc >200", _num(4)),
    ("behaviour", "behaviour", _num(2)),
    ("tn", "TN", _int),
    ("fp", "FP", _int),
    ("fn", "FN", _int),
    ("tp", "TP", _int),
    ("classes", "classes", _int),
    ("params", "params", _int),
    ("trainable", "trainable", _int),
    ("non_embedding", "non-emb", _int),
    ("model_bytes", "file bytes", _int),
    ("reviews_per_s", "reviews/s", lambda v: f"{v:,.0f}"),
    ("latency_ms", "latency ms", _num(2)),
    ("fit_s_per_epoch", "fit s/epoch", _num(1)),
]
NUMERIC = {key for key, _, fmt in COLUMNS if fmt is not _text and key != "mask_padding"}


def make_row(run_dir: str, result: dict) -> dict:
    """Flatten one run's result (from evaluation.run.evaluate_run) into a table row."""
    m, p, s = result["metrics"], result["params"], result["speed"]
    confusion = m["confusion_matrix"]
    (tn, fp), (fn, tp) = confusion if len(confusion) == 2 else ((None, None), (None, None))
    return {
        "run": os.path.basename(os.path.normpath(run_dir)),
        **result["architecture"],
        "accuracy": m["accuracy"],
        "loss": m["loss"],
        "precision": m.get("precision"),
        "recall": m.get("recall"),
        "f1": m.get("f1"),
        "macro_f1": m.get("macro_f1"),
        "auc": m.get("auc"),
        "ece": m.get("ece"),
        "brier": m.get("brier"),
        **_by_length(result.get("by_length")),
        "behaviour": (result.get("behaviour") or {}).get("pass_rate"),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "classes": len(confusion),
        "params": p["total"],
        "trainable": p["trainable"],
        "non_embedding": p["non_embedding"],
        "model_bytes": result["model_bytes"],
        "reviews_per_s": s["throughput_per_s"],
        "latency_ms": s["latency_ms"],
        "fit_s_per_epoch": result.get("fit_seconds_per_epoch"),
        "name": result["name"],
        "split": result["split"],
        "examples": m["examples"],
        "run_dir": run_dir,
        "class_names": _class_names(result),
        "per_class": m.get("per_class"),
        "confusion_matrix": confusion,
        "decision": result.get("decision"),
    }


def _class_names(result: dict) -> list[str]:
    """The run's class names; an evaluation.json from before they were stored: the per-class rows' names."""
    names = result.get("class_names")
    if names is None:
        names = [row["class"] for row in result["metrics"].get("per_class") or []]
    return list(names) or [str(i) for i in range(len(result["metrics"]["confusion_matrix"]))]


def _by_length(buckets) -> dict:
    """Accuracy of the three length buckets (evaluation.length.LENGTH_BUCKETS) as columns."""
    keys = ("acc_short", "acc_medium", "acc_long")
    if not buckets or len(buckets) != len(keys):
        return dict.fromkeys(keys)
    return {key: bucket["accuracy"] for key, bucket in zip(keys, buckets)}


def sort_rows(rows: list[dict]) -> list[dict]:
    """Best accuracy first; ties by run name."""
    return sorted(rows, key=lambda r: (-r["accuracy"], r["run"]))


def _cells(rows):
    headers = [header for _, header, _ in COLUMNS]
    body = [[("-" if row.get(key) is None else fmt(row[key])) for key, _, fmt in COLUMNS] for row in rows]
    return headers, body


def format_terminal(rows: list[dict]) -> str:
    """A fixed-width text table; numbers right-aligned."""
    headers, body = _cells(rows)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    numeric = [key in NUMERIC for key, _, _ in COLUMNS]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in body]) + "\n"


def format_per_class(rows: list[dict], markdown: bool = False) -> str:
    """Per run: a table of each class's precision, recall, F1 and support, then the confusion matrix
    (rows: true class, columns: predicted), and macro-F1. Runs without per-class results are left out."""
    blocks = []
    for row in rows:
        per_class, names = row.get("per_class"), row.get("class_names")
        if not per_class or not names:
            continue
        width = max(len("true \\ predicted"), *(len(n) for n in names))
        lines = [f"{row['run']}: {len(names)} classes, macro-F1 {row['macro_f1']:.4f}", ""]
        header = ["class", "precision", "recall", "F1", "support"]
        body = [
            [c["class"], f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", f"{c['support']:,}"]
            for c in per_class
        ]
        lines += _grid(header, body, markdown)
        lines.append("")
        cells = [[name] + [f"{n:,}" for n in counts] for name, counts in zip(names, row["confusion_matrix"])]
        lines += _grid(["true \\ predicted".ljust(width)] + list(names), cells, markdown)
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _grid(header: list[str], body: list[list[str]], markdown: bool) -> list[str]:
    """A small table: first column left-aligned, the others right-aligned."""
    if markdown:
        rule = [":---"] + ["---:"] * (len(header) - 1)
        return ["| " + " | ".join(cells) + " |" for cells in [header, rule] + body]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in body]


def format_markdown(rows: list[dict]) -> str:
    headers, body = _cells(rows)
    align = ["---:" if key in NUMERIC else ":---" for key, _, _ in COLUMNS]
    lines = ["| " + " | ".join(cells) + " |" for cells in [headers, align] + body]
    return "\n".join(lines) + "\n"


def _csv_keys():
    return [key for key, _, _ in COLUMNS] + ["name", "split", "examples", "run_dir"]


def format_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_csv_keys(), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def format_json(rows: list[dict], split: str, errors: list[dict]) -> str:
    """{"split", "columns", "rows": [...], "errors": [{"run_dir", "error"}]}."""
    keys = _csv_keys()
    extra = ("class_names", "per_class", "confusion_matrix", "decision")
    data = {
        "split": split,
        "columns": keys,
        "rows": [{**{k: row.get(k) for k in keys}, **{k: row.get(k) for k in extra}} for row in rows],
        "errors": errors,
    }
    return json.dumps(data, indent=2) + "\n"
