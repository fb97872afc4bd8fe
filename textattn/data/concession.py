"""Concession marking: words a contrast concedes get the prefix ``con_``.

"the acting is lovely, but the plot is a mess" becomes
"con_the con_acting con_is con_lovely but the plot is a mess", and "although
it looks elegant, the kettle leaks" becomes "although con_it con_looks
con_elegant the kettle leaks": ``lovely`` said before a "but" and ``lovely``
said on its own are different features. Two kinds of contrast word:

- ``but`` and ``however`` concede what comes before them in their sentence
  (a sentence ends after a token holding ``. ! ?``); a contrast word that opens
  its sentence concedes nothing;
- ``although``, ``though`` and ``despite`` concede what follows them up to the
  clause's end (``data/negation.py``'s clause: punctuation or another contrast
  word), as subordinating words do wherever they stand.

The contrast words themselves stay unmarked; a word both negated and conceded
becomes ``con_not_WORD``. On IMDB's training reviews a conceded word keeps about
two thirds of its polarity, and some lean to the other side: the document log
ratio of ``nice`` is +0.36 plain and -0.63 conceded, of ``slow`` -0.54 and +0.71
(docs/reading.md, lever 12).
"""

from __future__ import annotations

import tensorflow as tf

from textattn.data.negation import negation_scopes

PREFIX = "con_"  # applied outside negation's "not_": "con_not_bad"
CONCEDING_BEFORE_WORDS = ("but", "however")
CONCEDING_AFTER_WORDS = ("although", "though", "despite")
CONCEDES_BEFORE = r"[^a-z0-9]*(?:" + "|".join(CONCEDING_BEFORE_WORDS) + r")[^a-z0-9]*"
CONCEDES_AFTER = r"[^a-z0-9]*(?:" + "|".join(CONCEDING_AFTER_WORDS) + r")[^a-z0-9]*"
SENTENCE_END = r".*[.!?][^a-z0-9]*"


def concession_roles(words: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Each token's part: (concedes what comes before it, concedes what follows it, ends its sentence).

    Args:
        words: string tensor (n,), lowercased whitespace tokens with their punctuation.
    Returns:
        three bool tensors (n,).
    """
    return (
        tf.strings.regex_full_match(words, CONCEDES_BEFORE),
        tf.strings.regex_full_match(words, CONCEDES_AFTER),
        tf.strings.regex_full_match(words, SENTENCE_END),
    )


def concession_scopes(tokens: tf.RaggedTensor, roles: tuple, negation_roles: tuple) -> tf.RaggedTensor:
    """Which tokens a contrast word concedes.

    Args:
        tokens: string RaggedTensor (batch, None), lowercased whitespace tokens with their punctuation.
        roles: ``concession_roles(tokens.flat_values)``.
        negation_roles: ``negation.token_roles(tokens.flat_values)``, whose contrast words and clause ends
            bound what "although" concedes.
    Returns:
        bool RaggedTensor (batch, None), True for a token to mark.
    """
    before, after, ends_sentence = roles
    _, contrast, ends_clause = negation_roles
    # What "although" / "though" / "despite" concede: negation's scope, with them as the "negator".
    conceded = negation_scopes(tokens, (after, contrast, ends_clause)).flat_values
    position = tf.range(tf.size(before, out_type=tf.int64))
    row_start = tf.equal(position, tf.gather(tokens.row_splits, tokens.value_rowids()))
    sentence = tf.cumsum(tf.cast(row_start | tf.roll(ends_sentence, 1, axis=0), tf.int64)) - 1
    seen = tf.cumsum(tf.cast(before, tf.int64))  # "but"s up to and including each token
    # A token is conceded when a "but" follows it in its sentence: the sentence's total exceeds the count so far.
    conceded |= (tf.gather(tf.math.segment_max(seen, sentence), sentence) > seen) & ~before
    return tokens.with_flat_values(conceded)
