"""Negation scope marking: words after a negator, up to the clause's end, get the prefix ``not_``.

"this is not bad at all, but the ending drags" becomes
"this is not not_bad not_at not_all but the ending drags", so ``bad`` and
``not_bad`` are different features (Das & Chen 2001; Pang, Lee & Vaithyanathan
2002). A clause ends after a token holding ``. , : ; ! ?`` (or a bracket or
double quote) and before a contrast word (``but``, ``however``, ``although``,
``though``, ``yet``). Negators: not, no, never, nothing, nobody, none, nowhere,
neither, nor, hardly, barely, scarcely, without, cannot, and any word in
``n't`` (also written ``nt`` for common verbs: dont, isnt, ...). A negator is
not marked itself; a second negator inside a scope is marked like any word.

The scope is found on whitespace tokens while their punctuation is still there,
then the punctuation is stripped as ``standardize_review`` strips it. Only
tf.strings and ragged ops: it runs inside the data pipeline and the exported
SavedModel alike.
"""

from __future__ import annotations

import tensorflow as tf

PREFIX = "not_"  # added after punctuation is stripped: no other token holds "_", so a marked token is new
_VERB_NT = "don|didn|doesn|isn|wasn|weren|aren|can|couldn|wouldn|shouldn|won|haven|hasn|hadn|ain|mustn|needn"
NEGATOR = (
    r"[^a-z0-9]*(?:not|no|never|nothing|nobody|none|nowhere|neither|nor|hardly|barely|scarcely|without|"
    r"cannot|[a-z]+n['’]t|(?:" + _VERB_NT + r")t)[^a-z0-9]*"
)
CONTRAST = r"[^a-z0-9]*(?:but|however|although|though|yet)[^a-z0-9]*"
CLAUSE_END = r".*[.,:;!?()\[\]{}\"].*"
NEAR_WORDS = 3
"""``data.negation: mark_near``: a scope holds at most this many words after its negator."""


def token_roles(words: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Each token's part in a scope: (opens one, is a contrast word, ends its clause).

    Args:
        words: string tensor (n,), lowercased whitespace tokens with their punctuation.
    Returns:
        three bool tensors (n,).
    """
    return (
        tf.strings.regex_full_match(words, NEGATOR),
        tf.strings.regex_full_match(words, CONTRAST),
        tf.strings.regex_full_match(words, CLAUSE_END),
    )


def negation_scopes(tokens: tf.RaggedTensor, roles: tuple, max_distance: int | None = None) -> tf.RaggedTensor:
    """Which tokens lie inside a negation scope.

    Args:
        tokens: string RaggedTensor (batch, None), lowercased whitespace tokens
            with their punctuation still attached.
        roles: ``token_roles(tokens.flat_values)`` (``text.marking_scopes`` finds them once per distinct token).
        max_distance: None: a scope runs to its clause's end; k: it also ends k words after the
            last negator before it ("not at all bad" -> not_at not_all not_bad for k = 3, and
            "bad" stays plain in "not at all, really bad" as before).
    Returns:
        bool RaggedTensor (batch, None), True for a token to mark.
    """
    negator, contrast, ends_clause = roles
    position = tf.range(tf.size(negator, out_type=tf.int64))
    row_start = tf.equal(position, tf.gather(tokens.row_splits, tokens.value_rowids()))
    # A clause starts at a row's first token, after a token that ends one, and at a contrast word.
    # (The roll brings the last token's flag to position 0, a row start anyway.)
    starts = row_start | tf.roll(ends_clause, 1, axis=0) | contrast
    clause = tf.cumsum(tf.cast(starts, tf.int64)) - 1  # flat clause index, non-decreasing
    negators_before = tf.cumsum(tf.cast(negator, tf.int64), exclusive=True)
    # The count at a clause's first token is the clause's minimum: counts never decrease.
    before_clause = tf.math.segment_min(negators_before, clause)
    in_scope = negators_before > tf.gather(before_clause, clause)
    if max_distance is not None:
        # Entry i (i >= 1) is the i-th negator's position; a token in a scope has at least one negator
        # before it, so entry 0 (a placeholder that keeps the gather valid without negators) is never read.
        negator_position = tf.concat([tf.zeros([1], tf.int64), tf.boolean_mask(position, negator)], 0)
        in_scope &= position - tf.gather(negator_position, negators_before) <= max_distance
    return tokens.with_flat_values(in_scope)
