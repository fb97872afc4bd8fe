"""The search's results: a table of all trials (Markdown and CSV) and the best config.

Rows come from the oracle's trials: hyperparameter values plus the metrics
TextattnHyperModel.fit reports (val_accuracy, seconds, parameter counts).
"""

from __future__ import annotations

import csv
import io
import os

import yaml

from textattn.atomic_write import write_text_atomic
from textattn.config import Config, config_to_dict
from textattn.tuning.hypermodel import EPOCHS, NON_EMBEDDING_PARAMS, OBJECTIVE, PARAMS, SECONDS
from textattn.tuning.space import VARIANT_KEY

RESULTS_MD, RESULTS_CSV, BEST_CONFIG = "results.md", "results.csv", "best_config.yaml"
COLUMNS = [
    "trial",
    "status",
    "variant",
    OBJECTIVE,
    "params",
    "non_embedding_params",
    "seconds",
    "epochs",
    "hyperparameters",
]


def _metric(trial, name):
    if not trial.metrics.exists(name):
        return None
    return trial.metrics.get_best_value(name) if name == OBJECTIVE else trial.metrics.get_last_value(name)


def trial_rows(trials, order: list[str] = ()) -> list[dict]:
    """One dict per trial (keras_tuner Trial objects), best val_accuracy first, unscored trials last.

    Hyperparameters are listed in ``order`` (the space's keys), then any others.
    """
    rows = []
    rank = {key: i for i, key in enumerate(order)}
    for trial in trials:
        values = trial.hyperparameters.values
        # Hyperband adds bookkeeping values such as tuner/epochs; only config keys are shown.
        keys = sorted((k for k in values if "/" not in k and k != VARIANT_KEY), key=lambda k: rank.get(k, len(rank)))
        hps = {k: values[k] for k in keys}
        params, non_embedding = _metric(trial, PARAMS), _metric(trial, NON_EMBEDDING_PARAMS)
        seconds, epochs = _metric(trial, SECONDS), _metric(trial, EPOCHS)
        rows.append(
            {
                "trial": trial.trial_id,
                "status": str(trial.status),
                "variant": values.get(VARIANT_KEY, ""),
                OBJECTIVE: _metric(trial, OBJECTIVE),
                "params": None if params is None else int(round(params)),
                "non_embedding_params": None if non_embedding is None else int(round(non_embedding)),
                "seconds": None if seconds is None else round(seconds, 1),
                "epochs": None if epochs is None else int(epochs),
                "hyperparameters": hps,
            }
        )
    return sorted(rows, key=lambda r: (r[OBJECTIVE] is None, -(r[OBJECTIVE] or 0.0), r["trial"]))


def _short(key: str) -> str:
    """model.attention.num_layers -> attention.num_layers (the table is wide enough already)."""
    return key[len("model.") :] if key.startswith("model.") else key


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def to_markdown(rows: list[dict]) -> str:
    """A Markdown table of ``rows``; hyperparameters are joined into one column."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cells = []
        for column in COLUMNS:
            if column == "hyperparameters":
                cells.append(", ".join(f"{_short(k)}={_cell(v)}" for k, v in row[column].items()))
            elif column == OBJECTIVE and row[column] is not None:
                cells.append(f"{row[column]:.4f}")
            elif column == "seconds" and row[column] is not None:
                cells.append(f"{row[column]:.1f}")
            elif column in ("params", "non_embedding_params") and row[column] is not None:
                cells.append(f"{row[column]:,}")
            else:
                cells.append(_cell(row[column]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    """CSV of ``rows`` with one column per hyperparameter (empty where a variant does not have it)."""
    hp_keys = sorted({k for row in rows for k in row["hyperparameters"]})
    columns = [c for c in COLUMNS if c != "hyperparameters"] + hp_keys
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = {k: ("" if v is None else v) for k, v in row.items() if k != "hyperparameters"}
        flat.update(row["hyperparameters"])
        writer.writerow(flat)
    return out.getvalue()


def write_results(project_dir: str, rows: list[dict]) -> tuple[str, str]:
    """Write results.md and results.csv into ``project_dir``; return their paths."""
    md, csv_path = os.path.join(project_dir, RESULTS_MD), os.path.join(project_dir, RESULTS_CSV)
    write_text_atomic(md, to_markdown(rows))
    write_text_atomic(csv_path, to_csv(rows))
    return md, csv_path


def write_best_config(path: str, config: Config, row: dict) -> None:
    """Write ``config`` as a ready-to-train YAML, with a header naming the trial it came from."""
    header = (
        f"# Best trial {row['trial']} of the search ({row['variant']}, "
        f"{OBJECTIVE} {row[OBJECTIVE]:.4f}).\n# Retrain it: textattn train --config {path}\n"
    )
    write_text_atomic(path, header + yaml.safe_dump(config_to_dict(config), sort_keys=False))
