"""Blending class probabilities of several branches in log space (and temperature scaling)."""

import keras
import numpy as np
from keras import ops

EPSILON = 1e-7


@keras.saving.register_keras_serializable(package="textattn")
class LogLinearBlend(keras.layers.Layer):
    """``softmax(sum_i a_i * log p_i + b)``: a weighted product of the branches' class probabilities.

    With one branch and no bias it is temperature scaling (``a = 1 / T``).
    The weights are fitted on validation data (``fit_log_linear_blend``) and
    are not trained with the branches.

    Args:
        num_branches: how many probability tensors are blended.
        num_classes: classes per tensor.
        use_bias: add a per-class bias ``b``.

    Call:
        inputs: list of ``num_branches`` float tensors, each (batch, num_classes), rows summing to 1.
    Returns:
        float tensor (batch, num_classes) of probabilities. No mask.
    """

    def __init__(self, num_branches, num_classes=2, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.num_branches = int(num_branches)
        self.num_classes = int(num_classes)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        self.branch_weights = self.add_weight(
            name="branch_weights", shape=(self.num_branches,), initializer="ones", trainable=False
        )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.num_classes,), initializer="zeros", trainable=False)

    def set_blend(self, branch_weights, bias=None):
        self.branch_weights.assign(np.asarray(branch_weights, dtype="float32").reshape(self.num_branches))
        if self.use_bias and bias is not None:
            self.bias.assign(np.asarray(bias, dtype="float32").reshape(self.num_classes))

    def blended_logits(self, inputs):
        logits = 0.0
        for i, probabilities in enumerate(inputs):
            logits = logits + self.branch_weights[i] * ops.log(ops.clip(probabilities, EPSILON, 1.0))
        return logits + self.bias if self.use_bias else logits

    def call(self, inputs):
        return ops.softmax(self.blended_logits(list(inputs)), axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "num_branches": self.num_branches,
            "num_classes": self.num_classes,
            "use_bias": self.use_bias,
        }


def fit_log_linear_blend(branch_probabilities, labels, use_bias: bool = True, steps: int = 500, sample_weight=None):
    """Weights and bias of ``LogLinearBlend`` minimizing the negative log-likelihood of ``labels``.

    The objective is convex in (a, b) (a multinomial logistic regression on
    the branches' log-probabilities), so plain gradient descent with a
    backtracking line search finds its minimum.

    Args:
        branch_probabilities: list of k arrays, each (N, C).
        labels: int array (N,).
        sample_weight: optional float array (N,): how much each example's log-likelihood counts
            (scaled to mean 1; textattn/class_weights.py).
    Returns:
        (branch_weights (k,), bias (C,)), float64; the bias is zeros without ``use_bias``.
    """
    logs = np.stack([np.log(np.clip(np.asarray(p, np.float64), EPSILON, 1.0)) for p in branch_probabilities])
    k, n, c = logs.shape
    onehot = np.eye(c)[np.asarray(labels, dtype=int)]
    scale = None
    if sample_weight is not None:
        scale = np.asarray(sample_weight, np.float64)
        scale = (scale / scale.mean())[:, None]

    def loss_and_grad(a, b):
        z = np.tensordot(a, logs, axes=1) + b  # (N, C)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        residual = np.exp(log_p) - onehot  # dNLL/dz per example
        if scale is not None:
            residual = residual * scale
            log_p = log_p * scale
        loss = -(onehot * log_p).sum() / n
        grad_a = np.einsum("knc,nc->k", logs, residual) / n
        grad_b = residual.mean(axis=0) if use_bias else np.zeros(c)
        return loss, grad_a, grad_b

    a, b = np.ones(k), np.zeros(c)
    loss, ga, gb = loss_and_grad(a, b)
    step = 1.0
    for _ in range(steps):
        norm = (ga**2).sum() + (gb**2).sum()
        if norm < 1e-12:
            break
        while step > 1e-10:
            new_a, new_b = a - step * ga, b - step * gb
            new_loss, new_ga, new_gb = loss_and_grad(new_a, new_b)
            if new_loss <= loss - 0.5 * step * norm:
                break
            step *= 0.5
        else:
            break
        a, b, loss, ga, gb = new_a, new_b, new_loss, new_ga, new_gb
        step *= 2.0
    return a, b
