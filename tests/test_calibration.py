"""Calibration: ECE and Brier on hand-checked examples, temperature scaling on synthetic models."""

import numpy as np
import pytest

from textattn.evaluation.calibration import (
    apply_temperature,
    brier_score,
    expected_calibration_error,
    fit_temperature,
)

# Five binary examples; P(positive) and the true labels.
P = np.array([0.9, 0.1, 0.7, 0.3, 0.55])
Y = np.array([1, 1, 1, 0, 0])
# Confidences 0.9 0.9 0.7 0.7 0.55, correct: yes no yes yes no. With 15 bins of width 1/15:
#   (0.867, 0.933]: 2 examples, accuracy 1/2, confidence 0.9  -> 2/5 * 0.4
#   (0.667, 0.733]: 2 examples, accuracy 1,   confidence 0.7  -> 2/5 * 0.3
#   (0.533, 0.600]: 1 example,  accuracy 0,   confidence 0.55 -> 1/5 * 0.55
EXPECTED_ECE = (0.8 + 0.6 + 0.55) / 5
# One bin: |accuracy 3/5 - mean confidence 3.75/5|.
EXPECTED_ECE_ONE_BIN = 0.15
# (0.1^2 + 0.9^2 + 0.3^2 + 0.3^2 + 0.55^2) / 5
EXPECTED_BRIER = (0.01 + 0.81 + 0.09 + 0.09 + 0.3025) / 5


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sample_labels(rng, probs):
    """One label per row drawn from that row's class distribution (N, C)."""
    u = rng.random((len(probs), 1))
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1)


def synthetic(seed, n, classes=4, scale=1.0):
    """(true logits (n, classes), labels (n,) sampled from their softmax)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, scale, size=(n, classes))
    return logits, sample_labels(rng, softmax(logits))


@pytest.mark.parametrize(
    "probs", [P, P.reshape(-1, 1), np.stack([1 - P, P], axis=1)], ids=["sigmoid-N", "sigmoid-N1", "softmax"]
)
def test_ece_and_brier_hand_computed(probs):
    assert expected_calibration_error(Y, probs) == pytest.approx(EXPECTED_ECE)
    assert expected_calibration_error(Y, probs, bins=1) == pytest.approx(EXPECTED_ECE_ONE_BIN)
    assert brier_score(Y, probs) == pytest.approx(EXPECTED_BRIER)


def test_multiclass_brier_sums_over_classes():
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    labels = np.array([0, 2])
    # (0.3^2 + 0.2^2 + 0.1^2) = 0.14 and (0.2^2 + 0.5^2 + 0.7^2) = 0.78
    assert brier_score(labels, probs) == pytest.approx((0.14 + 0.78) / 2)


def test_ece_bins_are_right_closed():
    # Two bins split at 0.5: confidence exactly 0.5 belongs to the first, 1.0 to the second.
    probs = np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]])
    labels = np.array([1, 1, 1])  # arg-max of the tie is class 0: wrong; then right, wrong
    # Bin 1: one example, accuracy 0, confidence 0.5; bin 2: accuracy 1/2, confidence 1.
    assert expected_calibration_error(labels, probs, bins=2) == pytest.approx((0.5 + 2 * 0.5) / 3)


def test_ece_small_when_calibrated_and_large_when_overconfident():
    logits, labels = synthetic(seed=0, n=200_000, classes=3, scale=1.5)
    assert expected_calibration_error(labels, softmax(logits)) < 0.01
    assert expected_calibration_error(labels, softmax(3 * logits)) > 0.1


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        expected_calibration_error(np.array([0, 1]), np.array([0.2, 0.4, 0.9]))
    with pytest.raises(ValueError):
        brier_score(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError):
        expected_calibration_error(np.array([0, 1]), np.zeros((2, 2, 2)))


@pytest.mark.parametrize("true_t", [3.0, 0.5])
def test_fit_temperature_recovers_a_known_temperature(true_t):
    logits, labels = synthetic(seed=1, n=20_000)
    # The model's logits are the true ones divided by true_t: dividing by true_t again undoes it.
    fitted = fit_temperature(labels, softmax(logits * true_t))
    assert fitted == pytest.approx(true_t, rel=0.1)


@pytest.mark.parametrize("shape", [(-1,), (-1, 1)])
def test_fit_temperature_on_sigmoid_probabilities(shape):
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 2.0, size=20_000)
    labels = (rng.random(z.shape) < sigmoid(z)).astype(int)
    fitted = fit_temperature(labels, sigmoid(3 * z).reshape(shape))
    assert fitted == pytest.approx(3.0, rel=0.1)


def test_fit_temperature_returns_the_nll_minimum():
    logits, labels = synthetic(seed=3, n=2_000)
    probs = softmax(2 * logits)
    fitted = fit_temperature(labels, probs)

    def nll(t):
        scaled = apply_temperature(probs, t)
        return -np.mean(np.log(scaled[np.arange(len(labels)), labels]))

    assert nll(fitted) <= min(nll(fitted * 0.97), nll(fitted * 1.03))
    assert nll(fitted) <= nll(1.0)


def test_apply_temperature_one_is_identity_and_keeps_shape():
    rng = np.random.default_rng(4)
    probs = softmax(rng.normal(size=(50, 3)))
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, rtol=1e-9)
    p = sigmoid(rng.normal(size=50))
    for shaped in (p, p.reshape(-1, 1)):
        out = apply_temperature(shaped, 1.0)
        assert out.shape == shaped.shape
        np.testing.assert_allclose(out, shaped, rtol=1e-9)
    # A high temperature lowers every confidence but keeps the arg-max; rows still sum to one.
    hot = apply_temperature(probs, 10.0)
    np.testing.assert_allclose(hot.sum(axis=1), 1.0)
    assert np.all(hot.max(axis=1) < probs.max(axis=1))
    np.testing.assert_array_equal(hot.argmax(axis=1), probs.argmax(axis=1))
    np.testing.assert_allclose(apply_temperature(probs, 1e6), 1 / 3, atol=1e-5)
    with pytest.raises(ValueError):
        apply_temperature(probs, 0.0)


def test_sigmoid_and_two_column_softmax_agree():
    rng = np.random.default_rng(5)
    p = sigmoid(rng.normal(0.0, 2.0, size=500))
    labels = (rng.random(500) < 0.5).astype(int)
    two = np.stack([1 - p, p], axis=1)
    assert fit_temperature(labels, p) == pytest.approx(fit_temperature(labels, two), rel=1e-6)
    np.testing.assert_allclose(apply_temperature(p, 2.0), apply_temperature(two, 2.0)[:, 1], rtol=1e-9)


def test_temperature_scaling_lowers_ece_on_held_out_data():
    logits, labels = synthetic(seed=6, n=40_000, classes=3, scale=1.5)
    probs = softmax(3 * logits)  # overconfident
    fit_half, test_half = slice(0, 20_000), slice(20_000, None)
    t = fit_temperature(labels[fit_half], probs[fit_half])
    before = expected_calibration_error(labels[test_half], probs[test_half])
    after = expected_calibration_error(labels[test_half], apply_temperature(probs[test_half], t))
    assert before > 0.1
    assert after < 0.02 and after < before / 5
