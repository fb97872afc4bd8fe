"""Fit, validation and test parts of labelled examples: given splits honoured, the others carved.

Test rows given by the source are the test part; without any, test is carved
from the training rows. Validation rows given are the validation part;
without any, validation is carved from the training rows left. Carving is
stratified (each class gives the same fraction, rounded half up, always
leaving it 2 examples for training after test and 1 after validation) and
deterministic from the seed. The test part depends on the seed and the data
only, so a run without validation (``data.validation_size: 0``, the final
fit) is tested on the same rows.
"""

from __future__ import annotations

import numpy as np

from textattn.data.split_codes import TEST, TRAIN, VALIDATION
from textattn.errors import UserError


def carve(
    labels: np.ndarray,
    splits: np.ndarray,
    seed: int,
    test_fraction: float,
    validation_fraction: float,
    validation_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (int64) of the fit, validation and test parts, each shuffled with ``seed``.

    Args:
        labels: int (N,) class ids.
        splits: int (N,) TRAIN, VALIDATION or TEST as the source gives them.
        validation_size: None: validation is the rows given as such, else
            ``validation_fraction`` of each class; 0: no validation (every
            non-test row is fit); N: about N rows, spread over the classes in
            proportion to their sizes (given validation rows win over N).
    """
    pool = np.flatnonzero(splits == TRAIN)
    test = np.flatnonzero(splits == TEST)
    given_val = np.flatnonzero(splits == VALIDATION)
    if test.size == 0:
        test, pool = _take(
            pool, labels, _by_fraction(pool, labels, test_fraction, keep=2), np.random.default_rng([seed, 1])
        )
    if validation_size == 0:
        fit, val = np.concatenate([pool, given_val]), given_val[:0]
    elif given_val.size:
        fit, val = pool, given_val
    else:
        if validation_size is None:
            quota = _by_fraction(pool, labels, validation_fraction, keep=1)
        else:
            if validation_size >= len(pool):
                raise UserError(
                    f"data.validation_size={validation_size} leaves nothing to train on "
                    f"({len(pool)} training examples); lower it with --set data.validation_size=N"
                )
            quota = _by_total(pool, labels, validation_size)
        val, fit = _take(pool, labels, quota, np.random.default_rng([seed, 2]))
    order = np.random.default_rng([seed, 3])
    return tuple(part[order.permutation(len(part))].astype(np.int64) for part in (fit, val, test))


def _counts(pool, labels) -> np.ndarray:
    return np.bincount(labels[pool], minlength=int(labels.max()) + 1 if labels.size else 0)


def _by_fraction(pool, labels, fraction: float, keep: int) -> np.ndarray:
    counts = _counts(pool, labels)
    return np.clip(np.minimum(np.floor(counts * fraction + 0.5).astype(np.int64), counts - keep), 0, None)


def _by_total(pool, labels, total: int) -> np.ndarray:
    """``total`` spread over the classes by size (largest remainders), each class keeping 1 example."""
    counts = _counts(pool, labels)
    exact = counts * total / max(len(pool), 1)
    quota = np.floor(exact).astype(np.int64)
    for c in np.argsort(-(exact - quota), kind="stable")[: total - int(quota.sum())]:
        quota[c] += 1
    return np.clip(np.minimum(quota, counts - 1), 0, None)


def _take(pool, labels, quota, rng) -> tuple[np.ndarray, np.ndarray]:
    """``quota[c]`` random rows of each class c from ``pool``: (taken, rest), both in pool order."""
    taken = np.zeros(len(pool), bool)
    for c, q in enumerate(quota):
        members = np.flatnonzero(labels[pool] == c)
        taken[rng.permutation(members)[:q]] = True
    return pool[taken], pool[~taken]
