"""PNG plots of evaluated runs (matplotlib, Agg backend).

validation_accuracy.png   validation accuracy per epoch, one line per run (history.csv)
accuracy_vs_params.png    split accuracy against non-embedding parameters (log x)
confusion_<run>.png       per run: its C x C confusion matrix (rows true class, columns predicted)
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib import ticker  # noqa: E402

from textattn import runs  # noqa: E402
from textattn.atomic_write import write_atomic  # noqa: E402
from textattn.callbacks import read_history  # noqa: E402

CURVES = "validation_accuracy.png"
SCATTER = "accuracy_vs_params.png"


def labels(rows: list[dict]) -> list[str]:
    """Each run's config name, or its directory name where names repeat."""
    names = [row["name"] for row in rows]
    return [row["name"] if names.count(row["name"]) == 1 else row["run"] for row in rows]


def _save(fig, path: str) -> None:
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"), suffix=".png")
    finally:
        plt.close(fig)


def plot_validation_curves(rows: list[dict], path: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ["-", "--", ":", "-."]  # runs with identical curves stay distinguishable
    for i, (row, label) in enumerate(zip(rows, labels(rows))):
        history = read_history(os.path.join(row["run_dir"], runs.HISTORY))
        points = [(h["epoch"] + 1, h["val_accuracy"]) for h in history if "val_accuracy" in h]
        if points:
            epochs, accuracy = zip(*points)
            ax.plot(epochs, accuracy, linestyle=styles[i % len(styles)], marker="o", markersize=3, label=label)
    ax.set_title("Validation accuracy per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small", loc="best")
    _save(fig, path)


def plot_accuracy_vs_params(rows: list[dict], path: str, split: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    x = [row["non_embedding"] for row in rows]
    y = [row["accuracy"] for row in rows]
    ax.scatter(x, y, zorder=3)
    for i, (xi, yi, label) in enumerate(zip(x, y, labels(rows))):
        # Alternate above/below so neighbours with similar sizes stay readable.
        ax.annotate(label, (xi, yi), xytext=(6, 6 if i % 2 == 0 else -12), textcoords="offset points", fontsize="small")
    ax.set_xscale("log")
    # Plain numbers at 1-2-5 steps instead of crowded 3x10^1-style minor labels.
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_title(f"{split.capitalize()} accuracy vs non-embedding parameters")
    ax.set_xlabel("non-embedding parameters (log scale)")
    ax.set_ylabel(f"{split} accuracy")
    ax.grid(True, which="both", alpha=0.3)
    ax.margins(x=0.25, y=0.15)
    _save(fig, path)


def plot_confusion_matrix(matrix, class_names: list[str], title: str, path: str) -> None:
    """A C x C count matrix (rows true class, columns predicted) as a heat map with the counts written in."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    c = len(class_names)
    size = max(4.0, 0.9 * c + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    # Shade by the share of each true class, so a small class's errors show as clearly as a large one's.
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(c):
        for j in range(c):
            ax.text(
                j,
                i,
                f"{int(counts[i, j]):,}\n{shares[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize="small",
                color="white" if shares[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(c), class_names, rotation=45 if c > 4 else 0, ha="right" if c > 4 else "center")
    ax.set_yticks(range(c), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    _save(fig, path)


def confusion_path(directory: str, label: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
    return os.path.join(directory, f"confusion_{safe}.png")


def write_plots(rows: list[dict], directory: str, split: str) -> list[str]:
    """The two comparison plots and one confusion matrix per run in ``directory`` (created if needed);
    return their paths."""
    os.makedirs(directory, exist_ok=True)
    curves, scatter = os.path.join(directory, CURVES), os.path.join(directory, SCATTER)
    plot_validation_curves(rows, curves)
    plot_accuracy_vs_params(rows, scatter, split)
    paths = [curves, scatter]
    for row, label in zip(rows, labels(rows)):
        if row.get("confusion_matrix") and row.get("class_names"):
            path = confusion_path(directory, label)
            plot_confusion_matrix(
                row["confusion_matrix"],
                row["class_names"],
                f"{label}: {split} confusion matrix (accuracy {row['accuracy']:.4f})",
                path,
            )
            paths.append(path)
    return paths
