"""A behavioural test suite: short hand-written sentences with known sentiment.

The suite is a tab-separated file with the header ``text<TAB>label<TAB>category``
and one case per line; ``label`` is a class name (``positive`` / ``negative``
for the default suite) and ``category`` the behaviour it probes (negation,
contrast, intensifier, idiom, plain). ``score_suite`` runs any
``predict(list[str]) -> probabilities`` function over the cases and reports
pass rates overall and per category, with the failures.

``tests/data/behaviour_v2.tsv`` (the loader takes no comment lines, so it is
described here) is a larger suite of 361 hand-written sentences in six
categories (the five above plus short_verdict), about 60 % from restaurants,
products, service, books and hotels rather than movies; it was written on
2026-12-05, before any model was scored on it, and none of its sentences come
from a public sentiment corpus (treebank or movie-snippet polarity sentences,
labelled review-sentence sets, CheckList suites, VADER's tests), which are kept
for independent checks. ``DEFAULT_SUITE`` is still the original file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

import numpy as np

from textattn.errors import UserError

DEFAULT_SUITE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tests", "data", "behaviour.tsv"
)
HEADER = ("text", "label", "category")
CLASS_NAMES = ("negative", "positive")


@dataclasses.dataclass(frozen=True)
class Case:
    """One sentence, its expected class name and the behaviour it probes."""

    text: str
    label: str
    category: str


def load_suite(path: str | None = None, class_names: Sequence[str] = CLASS_NAMES) -> list[Case]:
    """The cases of a suite file (``DEFAULT_SUITE`` when ``path`` is None), in file order.

    Blank lines are skipped. Raises UserError naming the file and line for a
    missing file, a wrong header, a line without exactly three tab-separated
    fields, an empty field, or a label that is not one of ``class_names``.
    """
    path = DEFAULT_SUITE if path is None else path
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read behavioural suite {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"behavioural suite {path} is not UTF-8 text: {exc.reason}") from exc

    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise UserError(f"{path}, line 1: expected the header {'<TAB>'.join(HEADER)!r}")
    cases = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != len(HEADER):
            raise UserError(
                f"{path}, line {number}: expected {len(HEADER)} tab-separated fields "
                f"(text, label, category), found {len(fields)}"
            )
        text, label, category = fields
        if not text or not category:
            raise UserError(f"{path}, line {number}: empty {'text' if not text else 'category'}")
        if label not in class_names:
            raise UserError(f"{path}, line {number}: label {label!r} is not one of {', '.join(class_names)}")
        cases.append(Case(text, label, category))
    return cases


def _predicted_classes(probs: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class index (N,), -1 on a tie; probability per class (N, C)).

    (N, C) probabilities predict the arg-max class; (N,) / (N, 1) P(class 1)
    predict class 1 above 0.5 and class 0 below. A tie for the top class
    (exactly 0.5 for a sigmoid) is no prediction at all.
    """
    if probs.ndim == 1 or (probs.ndim == 2 and probs.shape[1] == 1):
        if n_classes != 2:
            raise ValueError(f"one probability per example needs 2 class names, got {n_classes}")
        p = probs.reshape(-1)
        probs = np.stack([1.0 - p, p], axis=1)
    elif probs.ndim != 2 or probs.shape[1] != n_classes:
        raise ValueError(f"expected probabilities of shape (N, {n_classes}), (N, 1) or (N,), got {probs.shape}")
    top = probs.max(axis=1, keepdims=True)
    tied = (probs == top).sum(axis=1) > 1
    return np.where(tied, -1, probs.argmax(axis=1)), probs


def score_suite(
    predict: Callable[[list[str]], np.ndarray], cases: Sequence[Case], class_names: Sequence[str] = CLASS_NAMES
) -> dict:
    """Run ``predict`` on every case's text once and score the predictions.

    Args:
        predict: list of N str -> probabilities (N, C) with columns in
            ``class_names`` order, or (N,) / (N, 1) P(class_names[1]).
        cases: the suite, e.g. from ``load_suite``.
        class_names: the class name of each probability column.
    Returns:
        {"pass_rate", "passed", "total",
         "by_category": {category: {"passed", "total", "pass_rate"}} (first-seen order),
         "failures": [{"text", "label", "probability", "predicted"}]}
        where a case passes when the predicted class is its label; a tie
        (P = 0.5 exactly for two classes) fails. A failure's "probability" is
        the probability the model gave to the case's label, and "predicted" the
        predicted class name (None on a tie).
    """
    cases = list(cases)
    if not cases:
        raise ValueError("no cases to score")
    class_names = list(class_names)
    unknown = sorted({c.label for c in cases} - set(class_names))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the class names {class_names}")

    probs = np.asarray(predict([c.text for c in cases]), dtype=np.float64)
    if len(probs) != len(cases):
        raise ValueError(f"predict returned {len(probs)} rows for {len(cases)} cases")
    predicted, probs = _predicted_classes(probs, len(class_names))
    expected = np.array([class_names.index(c.label) for c in cases])
    passed = predicted == expected

    by_category: dict[str, dict] = {}
    for case, ok in zip(cases, passed):
        entry = by_category.setdefault(case.category, {"passed": 0, "total": 0})
        entry["passed"] += int(ok)
        entry["total"] += 1
    for entry in by_category.values():
        entry["pass_rate"] = entry["passed"] / entry["total"]

    failures = [
        {
            "text": case.text,
            "label": case.label,
            "probability": float(probs[i, expected[i]]),
            "predicted": class_names[predicted[i]] if predicted[i] >= 0 else None,
        }
        for i, case in enumerate(cases)
        if not passed[i]
    ]
    n_passed = int(passed.sum())
    return {
        "pass_rate": n_passed / len(cases),
        "passed": n_passed,
        "total": len(cases),
        "by_category": by_category,
        "failures": failures,
    }
