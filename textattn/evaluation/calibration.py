"""Calibration of predicted probabilities: ECE, Brier score, temperature scaling.

All functions take integer labels of shape (N,) and probabilities in one of
two layouts:

    (N, C)          softmax output, one column per class (C >= 2)
    (N,) / (N, 1)   sigmoid output: P(class 1) of a binary classifier

Pure numpy (float64 inside); nothing here touches a model.
"""

from __future__ import annotations

import math

import numpy as np

ECE_BINS = 15
# The same floor Keras' crossentropy losses put under probabilities (keras.config.epsilon()).
EPSILON = 1e-7
# Search range for the temperature; a fit that lands on a bound means the
# optimum lies beyond it (e.g. T -> 0 when every example is already right).
TEMPERATURE_BOUNDS = (1e-2, 1e2)
_GRID_POINTS = 81
_GOLDEN_STEPS = 60


def _labels(labels, n: int | None = None) -> np.ndarray:
    """Integer class indices (N,) as int64; ValueError for non-integers or a length other than ``n``."""
    y = np.asarray(labels).reshape(-1)
    if not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0):
        raise ValueError("labels must be integer class indices")
    y = y.astype(np.int64)
    if n is not None and len(y) != n:
        raise ValueError(f"{len(y)} labels but {n} predictions")
    return y


def _is_sigmoid(probabilities: np.ndarray) -> bool:
    return probabilities.ndim == 1 or (probabilities.ndim == 2 and probabilities.shape[1] == 1)


def class_probabilities(probabilities) -> np.ndarray:
    """(N, C) float64 class probabilities; sigmoid (N,) / (N, 1) p becomes columns [1 - p, p]."""
    p = np.asarray(probabilities, dtype=np.float64)
    if _is_sigmoid(p):
        p = p.reshape(-1)
        return np.stack([1.0 - p, p], axis=1)
    if p.ndim == 2 and p.shape[1] >= 2:
        return p
    raise ValueError(f"expected probabilities of shape (N, C), (N, 1) or (N,), got {p.shape}")


def _check(labels, probabilities) -> tuple[np.ndarray, np.ndarray]:
    p = class_probabilities(probabilities)
    y = _labels(labels, len(p))
    if len(y) == 0:
        raise ValueError("no examples")
    if y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(f"labels must lie in [0, {p.shape[1] - 1}] for {p.shape[1]} classes")
    return y, p


def expected_calibration_error(labels, probabilities, bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error (Guo et al., 2017).

    Each example's confidence is its largest class probability and its
    prediction the arg-max class (sigmoid: class 1 when p > 0.5). Confidences
    fall into ``bins`` equal-width bins ((m-1)/M, m/M] of [0, 1] (the first
    also holds 0), and

        ECE = sum over bins b of |b| / N * |accuracy(b) - mean confidence(b)|

    Args:
        labels: int array (N,).
        probabilities: float array (N, C), or (N,) / (N, 1) P(class 1).
        bins: number of bins M.
    Returns:
        ECE in [0, 1].
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    y, p = _check(labels, probabilities)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Right-closed bins: index m holds edges[m] < confidence <= edges[m + 1].
    index = np.digitize(confidence, edges[1:-1], right=True)
    count = np.bincount(index, minlength=bins)
    accuracy_sum = np.bincount(index, weights=correct, minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    # |b|/N * |acc - conf| = |sum(correct) - sum(confidence)| / N over the bin.
    return float(np.abs(accuracy_sum - confidence_sum).sum() / count.sum())


def brier_score(labels, probabilities) -> float:
    """Brier score: mean squared error of the probabilities (lower is better).

    Two classes ((N, 2), (N, 1) or (N,)): the binary Brier score
    mean((p_positive - y)^2) over examples, in [0, 1], where p_positive is
    column 1 of an (N, 2) input. More classes ((N, C), C > 2): the multi-class
    score mean over examples of sum_c (p_c - onehot(y)_c)^2, in [0, 2]. For two
    classes the multi-class form is exactly twice the binary one; the binary
    form is used there because it is the usual one to report.

    Args:
        labels: int array (N,).
        probabilities: float array (N, C), or (N,) / (N, 1) P(class 1).
    """
    y, p = _check(labels, probabilities)
    if p.shape[1] == 2:
        return float(np.mean((p[:, 1] - y) ** 2))
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of softmax(logits / T) at the true labels."""
    return float(-np.mean(_log_softmax(logits / temperature)[np.arange(len(y)), y]))


def _logits(probabilities, epsilon: float) -> np.ndarray:
    """(N, C) logits; a sigmoid's p becomes [0, log(p / (1 - p))] (same softmax)."""
    p = np.asarray(probabilities, dtype=np.float64)
    if _is_sigmoid(p):
        p = np.clip(p.reshape(-1), epsilon, 1.0 - epsilon)
        return np.stack([np.zeros_like(p), np.log(p) - np.log1p(-p)], axis=1)
    return np.log(np.clip(class_probabilities(p), epsilon, 1.0))


def fit_temperature(
    labels, probabilities, bounds: tuple[float, float] = TEMPERATURE_BOUNDS, epsilon: float = EPSILON
) -> float:
    """The temperature T > 0 that minimizes the NLL of softmax(log(p) / T).

    Fit it on held-out (validation) examples, then use ``apply_temperature``
    on the test predictions. Probabilities are clipped to [epsilon, 1] (and a
    sigmoid's p to [epsilon, 1 - epsilon]) before the log. A sigmoid output p
    is treated as the logit log(p / (1 - p)), which is the same as the two
    columns [1 - p, p].

    The NLL is convex in 1 / T, so it has one minimum along log T: a grid of
    ``_GRID_POINTS`` points over log T within ``bounds`` brackets it and a
    golden-section search refines it.

    Args:
        labels: int array (N,).
        probabilities: float array (N, C), or (N,) / (N, 1) P(class 1).
        bounds: (lowest, highest) temperature searched.
        epsilon: probability floor.
    Returns:
        T as a float; T > 1 softens overconfident probabilities, T < 1 sharpens.
    """
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"bounds must satisfy 0 < low < high, got {bounds}")
    y, _ = _check(labels, probabilities)
    logits = _logits(probabilities, epsilon)

    def loss(log_t: float) -> float:
        return _nll(logits, y, math.exp(log_t))

    grid = np.linspace(math.log(low), math.log(high), _GRID_POINTS)
    losses = [loss(t) for t in grid]
    best = int(np.argmin(losses))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    # Golden-section search for the minimum inside [a, b].
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(_GOLDEN_STEPS):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    # Keep the grid point if the refinement did not beat it (a bound, or a flat loss).
    log_t = (a + b) / 2.0
    if loss(log_t) > losses[best]:
        log_t = grid[best]
    return float(math.exp(log_t))


def apply_temperature(probabilities, temperature: float, epsilon: float = EPSILON) -> np.ndarray:
    """softmax(log(p) / T), returned in the input's layout and shape.

    Args:
        probabilities: float array (N, C), or (N,) / (N, 1) P(class 1), which
            becomes sigmoid(log(p / (1 - p)) / T).
        temperature: T > 0; T = 1 returns the (clipped) probabilities.
        epsilon: probability floor, as in ``fit_temperature``.
    Returns:
        float64 array of the input's shape.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    p = np.asarray(probabilities, dtype=np.float64)
    scaled = np.exp(_log_softmax(_logits(p, epsilon) / temperature))
    if _is_sigmoid(p):
        return scaled[:, 1].reshape(p.shape)
    return scaled
