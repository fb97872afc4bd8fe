"""Class weights (``train.class_weight``): how much each class's examples count in training.

``none`` (the default) leaves training as it was: Keras' ``fit`` gets no
``class_weight`` and the n-gram ratios count documents as they are.
``balanced`` weights class c by ``n_samples / (n_classes * count_c)`` (the
definition scikit-learn uses), so that every class carries the same total
weight; a mapping ``{class name: weight}`` gives weights outright (classes it
leaves out weigh 1).

The weights reach every fit through Keras' own ``class_weight=`` argument of
``model.fit`` (each batch's labels become sample weights), the validation
accuracy that picks epochs and trials through ``weigh_validation`` (the model is
compiled with ``weighted_metrics``), the n-gram branch's Naive Bayes log-count
ratios through ``weight_counts`` and the hybrid's blend through ``sample_weights``.
"""

from __future__ import annotations

import numpy as np

from textattn.errors import UserError

NONE = "none"
BALANCED = "balanced"


def balanced_weights(labels, num_classes: int) -> np.ndarray:
    """float64 (num_classes,): ``n / (num_classes * count_c)``; a class without examples gets 1."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)[:num_classes]
    weights = np.ones(num_classes, dtype=np.float64)
    present = counts > 0
    weights[present] = counts.sum() / (num_classes * counts[present])
    return weights


def resolve(spec, labels, class_names: list[str]) -> np.ndarray | None:
    """The per-class weights (num_classes,) that ``spec`` (``train.class_weight``) means for these labels.

    None for ``none``. A mapping must name classes of ``class_names`` with positive weights;
    anything else raises UserError naming the key and the valid classes.
    """
    if spec is None or spec == NONE:
        return None
    if spec == BALANCED:
        return balanced_weights(labels, len(class_names))
    if not isinstance(spec, dict):
        raise UserError(f"train.class_weight must be none, balanced or a mapping of class name to weight, got {spec!r}")
    unknown = [name for name in spec if str(name) not in class_names]
    if unknown:
        raise UserError(
            f"train.class_weight names class {unknown[0]!r}, which the data does not have; "
            f"its classes are {', '.join(class_names)}"
        )
    weights = np.ones(len(class_names), dtype=np.float64)
    for name, weight in spec.items():
        if not weight > 0:
            raise UserError(f"train.class_weight.{name} must be positive, got {weight}")
        weights[class_names.index(str(name))] = float(weight)
    return weights


def for_fit(config, labels, class_names: list[str]) -> dict[int, float] | None:
    """``class_weight=`` for ``keras.Model.fit``: {class id: weight}, or None when the config weighs none."""
    weights = resolve(config.train.class_weight, labels, class_names)
    return None if weights is None else {i: float(w) for i, w in enumerate(weights)}


def weigh_validation(dataset, weights: dict[int, float] | None):
    """A tf.data dataset of (x, y) batches as (x, y, class weight of each y), so that the validation
    accuracy that picks the best epoch (the trial, the branch) counts the classes as training does:
    with ``balanced``, it is the balanced accuracy. Unchanged when ``weights`` is None."""
    if weights is None:
        return dataset
    import tensorflow as tf

    table = tf.constant([weights[i] for i in range(len(weights))], tf.float32)
    return dataset.map(lambda x, y: (x, y, tf.gather(table, tf.cast(y, tf.int32))))


def weight_counts(counts: np.ndarray, config, labels, class_names: list[str]) -> np.ndarray:
    """Per-class document counts (classes, features) with row c scaled by class c's weight (unchanged for none)."""
    weights = resolve(config.train.class_weight, labels, class_names)
    return counts if weights is None else counts * weights[:, None]


def sample_weights(config, labels, class_names: list[str]) -> np.ndarray | None:
    """float64 (N,): each example's class weight, or None when the config weighs none."""
    weights = resolve(config.train.class_weight, labels, class_names)
    return None if weights is None else weights[np.asarray(labels, dtype=np.int64)]


def describe(config, labels, class_names: list[str]) -> dict:
    """What metrics.json records: the setting, the weights used and the training counts per class."""
    weights = resolve(config.train.class_weight, labels, class_names)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(class_names))
    return {
        "setting": config.train.class_weight,
        "weights": None if weights is None else {n: round(float(w), 6) for n, w in zip(class_names, weights)},
        "train_counts": {n: int(c) for n, c in zip(class_names, counts)},
    }
