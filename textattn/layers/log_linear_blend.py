"""Blending class probabilities of several branches in log space (and temperature scaling)."""

import keras
import numpy as np
from keras import ops

EPSILON = 1e-7


def length_factor(lengths, reference_length: int):
    """``sqrt(reference_length / max(n, 1))`` for token counts ``n``: 1 at the reference length, larger when shorter.

    A NumPy array or a backend tensor of any shape; returns float32 of that shape.
    """
    n = ops.maximum(ops.cast(lengths, "float32"), 1.0)
    return ops.sqrt(float(reference_length) / n)


@keras.saving.register_keras_serializable(package="textattn")
class LogLinearBlend(keras.layers.Layer):
    """``softmax(sum_i a_i * log max(p_i, floor_i) + b)``: a weighted product of the branches' class probabilities.

    With one branch and no bias it is temperature scaling (``a = 1 / T``).
    With ``length_scaled`` each weight depends on the text's length:
    ``a_i = w_i + v_i * sqrt(reference_length / n)`` for a text of ``n`` tokens,
    so a branch can count for more (or less) on a short text than on a long one.
    The weights are fitted on validation data (``fit_log_linear_blend``) and
    are not trained with the branches.

    Args:
        num_branches: how many probability tensors are blended.
        num_classes: classes per tensor.
        use_bias: add a per-class bias ``b``.
        floors: each branch's probability floor before the log (default 1e-7 each): a higher
            floor bounds how much one over-confident branch can say.
        length_scaled: weights that depend on the text's length (the last input is then the token ids).
        reference_length: the length ``n`` at which ``a_i = w_i + v_i``.

    Call:
        inputs: list of ``num_branches`` float tensors, each (batch, num_classes), rows summing to 1;
            with ``length_scaled``, followed by int token ids (batch, L), padding 0 (their non-zero
            count is ``n``).
    Returns:
        float tensor (batch, num_classes) of probabilities. No mask.
    """

    def __init__(
        self,
        num_branches,
        num_classes=2,
        use_bias=True,
        floors=None,
        length_scaled=False,
        reference_length=256,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_branches = int(num_branches)
        self.num_classes = int(num_classes)
        self.use_bias = bool(use_bias)
        self.floors = [float(f) for f in (floors if floors is not None else [EPSILON] * self.num_branches)]
        if len(self.floors) != self.num_branches or not all(0.0 < f < 1.0 / self.num_classes for f in self.floors):
            raise ValueError(f"floors must hold {self.num_branches} values in (0, 1/num_classes), got {self.floors}")
        self.length_scaled = bool(length_scaled)
        self.reference_length = int(reference_length)

    def build(self, input_shape):
        self.branch_weights = self.add_weight(
            name="branch_weights", shape=(self.num_branches,), initializer="ones", trainable=False
        )
        if self.length_scaled:
            self.length_weights = self.add_weight(
                name="length_weights", shape=(self.num_branches,), initializer="zeros", trainable=False
            )
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.num_classes,), initializer="zeros", trainable=False)

    def set_blend(self, branch_weights, bias=None, length_weights=None):
        self.branch_weights.assign(np.asarray(branch_weights, dtype="float32").reshape(self.num_branches))
        if self.length_scaled and length_weights is not None:
            self.length_weights.assign(np.asarray(length_weights, dtype="float32").reshape(self.num_branches))
        if self.use_bias and bias is not None:
            self.bias.assign(np.asarray(bias, dtype="float32").reshape(self.num_classes))

    def member_weights(self, token_ids=None):
        """Each branch's weight: (num_branches,), or with ``length_scaled`` (batch, num_branches) for
        ``token_ids`` int (batch, L)."""
        if not self.length_scaled:
            return ops.convert_to_tensor(self.branch_weights)
        lengths = ops.sum(ops.cast(ops.not_equal(token_ids, 0), "int32"), axis=-1)
        factor = length_factor(lengths, self.reference_length)[:, None]
        return self.branch_weights[None, :] + self.length_weights[None, :] * factor

    def blended_logits(self, inputs):
        inputs = list(inputs)
        weights = self.member_weights(inputs.pop() if self.length_scaled else None)
        logits = 0.0
        for i, probabilities in enumerate(inputs):
            weight = weights[:, i : i + 1] if self.length_scaled else weights[i]
            logits = logits + weight * ops.log(ops.clip(probabilities, self.floors[i], 1.0))
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
            "floors": list(self.floors),
            "length_scaled": self.length_scaled,
            "reference_length": self.reference_length,
        }


def fit_log_linear_blend(
    branch_probabilities,
    labels,
    use_bias: bool = True,
    steps: int = 500,
    sample_weight=None,
    floors=None,
    length_factors=None,
):
    """Weights and bias of ``LogLinearBlend`` minimizing the negative log-likelihood of ``labels``.

    The objective is convex in (a, b) (a multinomial logistic regression on
    the branches' log-probabilities), so plain gradient descent with a
    backtracking line search finds its minimum.

    Args:
        branch_probabilities: list of k arrays, each (N, C).
        labels: int array (N,).
        sample_weight: optional float array (N,): how much each example's log-likelihood counts
            (scaled to mean 1; textattn/class_weights.py).
        floors: each branch's probability floor (``LogLinearBlend``'s); default 1e-7.
        length_factors: optional float array (N,), ``length_factor`` of each example's token count:
            fit a length-scaled blend.
    Returns:
        (branch_weights (k,), bias (C,)), float64; the bias is zeros without ``use_bias``. With
        ``length_factors``: (branch_weights (k,), bias (C,), length_weights (k,)).
    """
    floors = floors if floors is not None else [EPSILON] * len(branch_probabilities)
    logs = [np.log(np.clip(np.asarray(p, np.float64), f, 1.0)) for p, f in zip(branch_probabilities, floors)]
    if length_factors is not None:  # a_i + v_i * f(n) is a linear model on log p_i and f(n) * log p_i
        factors = np.asarray(length_factors, np.float64)[:, None]
        logs = logs + [factors * log_p for log_p in logs]
    logs = np.stack(logs)
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
    if length_factors is not None:
        k = len(branch_probabilities)
        return a[:k], b, a[k:]
    return a, b
