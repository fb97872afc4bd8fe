"""``evaluate.py RUN --explain N --html DIR``: one explanation page per run.

For each true class the page shows the N reviews the model is most confident
about and right, then the N it is most confident about and wrong, judged by
the served (calibrated) probability, on the evaluated split (test by default).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from textattn import runs
from textattn.atomic_write import write_output_file
from textattn.data import source_splits
from textattn.data.source import resolve_data
from textattn.errors import UserError
from textattn.explain.explainer import Explainer
from textattn.explain.html import render_page
from textattn.predict import Predictor


def pick_reviews(labels, confidence, predicted, n: int, class_names) -> list[tuple[int, str]]:
    """[(index, caption)]: per true class, the ``n`` most confident correct, then the ``n`` most confident wrong.

    Args:
        labels: true labels int (N,); confidence: the served probability of the predicted class (N,);
        predicted: served label ids int (N,), -1 where there was no evidence (never correct);
        class_names: the C class names, label id order.
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    confidence = np.asarray(confidence, dtype=np.float64)
    picked = []
    for label, name in enumerate(class_names):
        for correct in (True, False):
            candidates = np.flatnonzero((labels == label) & ((predicted == label) == correct))
            best = candidates[np.argsort(-confidence[candidates], kind="stable")][:n]
            verdict = "correct" if correct else "wrong"
            picked += [
                (int(i), f"true {name}, most confident {verdict} #{rank + 1} (review {i})")
                for rank, i in enumerate(best)
            ]
    return picked


def split_texts(run_dir: str, split: str, data_path: str | None):
    """(texts list[str], labels int (N,)) of the run's ``split``, as ``textattn evaluate`` reads it."""
    config = resolve_data(runs.load_config(run_dir), data_path)
    if config.train.final_fit:
        if split == "validation":
            raise UserError("the run's final fit trained on its validation reviews (train.final_fit); use --split test")
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, validation_size=0))
    splits = source_splits.split_texts(config.data, config.seed)
    texts, labels = splits.test if split == "test" else splits.validation
    limit = config.data.test_limit if split == "test" else None
    return (texts[:limit], np.asarray(labels)[:limit]) if limit is not None else (texts, np.asarray(labels))


def write_explain_page(run_dir: str, out_dir: str, n: int, split: str = "test", data_path: str | None = None) -> str:
    """Write OUT_DIR/<run name>.html for ``run_dir``; return its path."""
    texts, labels = split_texts(run_dir, split, data_path)
    if len(texts) == 0:
        raise UserError(f"the run has no {split} reviews to explain")
    predictions = Predictor(run_dir)([t.encode("utf-8") for t in texts])
    picked = pick_reviews(labels, predictions.confidence, predictions.label_ids, n, predictions.class_names)
    explainer = Explainer(run_dir)
    explanations = explainer([texts[i].encode("utf-8") for i, _ in picked])
    name = os.path.basename(os.path.normpath(run_dir))
    title = f"{name}: the {n} most confident correct and wrong {split} reviews per class"
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.html")
    write_output_file(path, render_page(explanations, title, explainer.meaning, captions=[c for _, c in picked]))
    return path
