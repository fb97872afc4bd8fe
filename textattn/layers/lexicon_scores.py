"""Lexicon features of a token-id sequence: VADER-style valence sums with boosters and contrast weighting."""

import keras
import numpy as np
from keras import ops

VALENCE, BOOSTER, CONTRAST = 0, 1, 2
"""The columns of ``LexiconScores.table``."""


@keras.saving.register_keras_serializable(package="textattn")
class LexiconScores(keras.layers.Layer):
    """Four features per text from a per-token-id table of valences (Hutto & Gilbert 2014, VADER's rules).

    ``table`` (vocab_size, 3), non-trainable, is baked in at training time
    (``textattn.models.lexicon.vader_table``): column 0 is the valence of the
    token (a negation-marked ``not_X`` holds ``-0.74 * valence(X)``, VADER's
    negation scalar), column 1 the booster increment of an intensifier
    (``very`` +0.293, ``slightly`` -0.293), column 2 is 1 for a contrast word
    (``but``, ``however``). Padding (id 0) and the unknown word (id 1) have
    zero rows, so they add nothing.

    Per token ``t`` with valence ``v != 0``:
    ``v' = v + sign(v) * (b[t-1] + 0.95 b[t-2] + 0.9 b[t-3])`` (a booster's
    effect fades with distance, as in VADER), then weighted by the contrast
    rule: with a contrast word in the text, tokens before the first one count
    ``contrast_before`` (0.5), those after it ``contrast_after`` (1.5).
    With ``S`` the weighted sum, ``P`` the sum of the positive terms and ``N``
    minus the sum of the negative ones, ``n`` the number of sentiment tokens:

    ``[S / sqrt(S^2 + alpha), P / (P + N + 1), N / (P + N + 1), S / (n + 1)]``

    (the first is VADER's normalised compound score, alpha 15).

    Args:
        vocab_size: rows of the table: the word vocabulary's size.
        alpha: the compound score's normalisation constant.
        contrast_before, contrast_after: weights of the tokens before and after the first contrast word.

    Call:
        inputs: int token ids (batch, length); 0 is padding.
    Returns:
        float tensor (batch, 4). No mask (padding has zero rows and is summed away).
    """

    FEATURES = 4

    def __init__(self, vocab_size, alpha=15.0, contrast_before=0.5, contrast_after=1.5, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.alpha = float(alpha)
        self.contrast_before = float(contrast_before)
        self.contrast_after = float(contrast_after)

    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=(self.vocab_size, 3), initializer="zeros", trainable=False)

    def set_table(self, table):
        """Store ``table`` (vocab_size, 3): valence, booster increment, contrast flag per token id."""
        table = np.asarray(table, dtype="float32")
        if table.shape != (self.vocab_size, 3):
            raise ValueError(f"expected a table of shape {(self.vocab_size, 3)}, got {table.shape}")
        self.table.assign(table)

    def token_valences(self, inputs):
        """(batch, length) float: each token's valence after boosters and the contrast weight."""
        ids = ops.clip(ops.cast(inputs, "int32"), 0, self.vocab_size - 1)
        rows = ops.take(self.table, ids, axis=0)  # (batch, length, 3)
        valence, booster, contrast = rows[..., VALENCE], rows[..., BOOSTER], rows[..., CONTRAST]
        boost = 0.0
        for distance, decay in ((1, 1.0), (2, 0.95), (3, 0.9)):
            before = ops.pad(booster, [[0, 0], [distance, 0]])[:, : ops.shape(booster)[1]]
            boost = boost + decay * before
        valence = valence + ops.sign(valence) * boost
        seen = ops.cumsum(contrast, axis=1)  # contrast words at or before each token
        has_contrast = seen[:, -1:] > 0
        weight = ops.where(seen > 0, self.contrast_after, self.contrast_before)
        return valence * ops.where(has_contrast, weight, 1.0)

    def call(self, inputs):
        valence = self.token_valences(inputs)
        total = ops.sum(valence, axis=1)
        positive = ops.sum(ops.relu(valence), axis=1)
        negative = ops.sum(ops.relu(-valence), axis=1)
        count = ops.sum(ops.cast(ops.not_equal(valence, 0.0), valence.dtype), axis=1)
        evidence = positive + negative + 1.0
        features = [
            total / ops.sqrt(total * total + self.alpha),
            positive / evidence,
            negative / evidence,
            total / (count + 1.0),
        ]
        return ops.stack(features, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.FEATURES)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "alpha": self.alpha,
            "contrast_before": self.contrast_before,
            "contrast_after": self.contrast_after,
        }
