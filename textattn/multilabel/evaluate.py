"""``textattn evaluate`` of a multi-label run: its figures on a split, recomputed, as a per-label table."""

from __future__ import annotations

import os

from textattn import runs
from textattn.data.run_data import load_data
from textattn.data.source import resolve_data
from textattn.errors import UserError
from textattn.inference import predict_label_probabilities
from textattn.multilabel import thresholds
from textattn.multilabel.metrics import multi_label_metrics


def is_multi_label_run(run_dir: str) -> bool:
    """Whether ``run_dir`` is a finished multi-label run (anything unreadable: False, for evaluate to report)."""
    try:
        return runs.is_run_dir(run_dir) and bool(runs.load_config(run_dir).data.multi_label)
    except UserError:
        return False


def evaluate_multi_label(run_dir: str, split: str = "test", data_path: str | None = None) -> dict:
    """``multilabel.metrics.multi_label_metrics`` of the run on ``split`` ("test" or "validation"), with its
    thresholds; UserError when the data's labels are not the run's."""
    runs.check_run_dir(run_dir)
    config = resolve_data(runs.load_config(run_dir), data_path)
    names = runs.load_class_names(run_dir)
    data = load_data(config, verbose=False)
    if data.class_names != names:
        raise UserError(
            f"the data's labels {data.class_names} are not the run's ({runs.CLASSES}: {names}); "
            "evaluate on data with the run's labels"
        )
    if data.vocabulary != runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB)):
        raise UserError("the data's vocabulary differs from the run's; evaluate on the data the run was trained on")
    part = "test" if split == "test" else "val"
    if data.count(part) == 0:
        raise UserError(f"the run has no {split} examples; use the other --split")
    probabilities = predict_label_probabilities(runs.load_model(run_dir), config, data, part)
    return multi_label_metrics(data.labels(part), probabilities, thresholds.load(run_dir, names), names)
