"""coverage_accuracy.png: accuracy against coverage, one line per evaluated run (``evaluate --plots``)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from textattn.atomic_write import write_atomic  # noqa: E402
from textattn.evaluation.plots import labels  # noqa: E402

COVERAGE_PLOT = "coverage_accuracy.png"


def plot_coverage(rows: list[dict], directory: str, split: str) -> str | None:
    """Write ``directory``/coverage_accuracy.png from the rows' ``decision.coverage_curve``; return its path
    (None when no row has a curve)."""
    curves = [
        (label, row["decision"]["coverage_curve"]) for row, label in zip(rows, labels(rows)) if row.get("decision")
    ]
    if not curves:
        return None
    os.makedirs(directory, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, curve in curves:
        ax.plot([100 * p["coverage"] for p in curve], [p["accuracy"] for p in curve], marker="o", label=label)
    ax.set_xlabel("coverage: the surest share of reviews answered (%)")
    ax.set_ylabel(f"{split} accuracy on them")
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path = os.path.join(directory, COVERAGE_PLOT)
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"), suffix=".png")
    finally:
        plt.close(fig)
    return path
