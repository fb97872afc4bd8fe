"""The n-gram model's evidence: each n-gram's exact, signed contribution to the served log-odds.

``NaiveBayesNgramLogits`` is linear in its multi-hot input: class c's logit is
``sum_g x_g * fw[g, c] + bias[c]`` with ``fw = r * w`` (``feature_weights()``; with
``negation_transfer`` a negated word's row also holds its plain word's ``f * r * w``).
The log-odds of the positive class is the difference of the two logits, so a
present n-gram g adds exactly::

    contribution(g) = (fw[g, 1] - fw[g, 0]) * a / T

to the log-odds of the probability served, where ``a`` is the n-gram branch's
weight in the hybrid's ``LogLinearBlend`` (1 for ``ngram``; with a length-scaled
blend, the weight for that review's token count) and ``T`` the run's temperature.
With the hybrid's Naive Bayes expert (``model.hybrid.naive_bayes_expert``, the blend's
last member) g also adds ``s * (r[g, 1] - r[g, 0]) * b / T``, ``s`` the expert's scale and
``b`` its blend weight; both terms are in the contribution shown.
With more than two classes there is no single log-odds: the contribution is g's
term in ``log p_c - mean_k log p_k`` of the predicted class c (the softmax's
normaliser cancels in that difference, so it is exact)::

    contribution(g) = (fw[g, c] - mean_k fw[g, k]) * a / T
 Each distinct n-gram counts once (the input is a set), as
in the model. For ``ngram`` the token shading spreads each n-gram's
|contribution| evenly over the words of its occurrences (``token_mass``).
The hybrid's character member (``model.hybrid.character_ngrams``) reads the bag's character columns,
a logistic regression of the same kind: each distinct character n-gram adds its term times the member's
blend weight and is listed among the n-grams (``character_occurrences``); they shade no word.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from textattn.data.character_ngrams import CHARACTER_PREFIX
from textattn.data.text import OOV, standardize_review


class NgramEvidence:
    """Raw (valid UTF-8) texts (batch,) -> n-gram occurrences, distinct rows and per-word mass.

    Args:
        nb_layer: the model's ``NaiveBayesNgramLogits``.
        vocabulary: the n-gram vocabulary, entry 0 the OOV bucket (``ngram_vocab.txt``).
        max_ngram: the longest n-gram (``model.ngram.max_ngram``).
        temperature: the run's softmax temperature.
        blend: the hybrid's ``LogLinearBlend`` layer (n-gram branch first), or None for ``ngram``.
        standardize: the run's standardizer (``textattn.data.text.standardizer(config.data.negation)``).
        expert: the hybrid's ``NaiveBayesEvidence`` layer (its Naive Bayes expert), or None.
        character_layer: the ``NaiveBayesNgramLogits`` of the hybrid's character member
            (``model.hybrid.character_ngrams``, the blend's last member), or None.
        characters: with ``character_layer``, the ``KeyedCharacterVectorizer`` serving already holds
            (``WordAndCharacterBags.characters``): its n-grams are the bag's last columns.
    """

    def __init__(
        self,
        nb_layer,
        vocabulary,
        max_ngram: int,
        temperature: float = 1.0,
        blend=None,
        standardize=standardize_review,
        expert=None,
        character_layer=None,
        characters=None,
    ):
        self.nb_layer = nb_layer
        self.expert = expert
        self.standardize = standardize
        self.max_ngram = int(max_ngram)
        self.inverse_temperature = 1.0 / float(temperature)
        self.blend = blend
        # The blend's members: n-gram branch, word branch(, lexicon)(, Naive Bayes)(, characters).
        self.expert_member = -2 if character_layer is not None else -1
        self.characters = self.character_layer = None
        if character_layer is not None:  # the bag's columns after the word n-grams' (BagColumns)
            self.character_layer, self.characters = character_layer, characters
            self.character_offset = len(vocabulary) - len(characters.grams) - 1  # the word columns but OOV
            self.character_names = tf.constant([CHARACTER_PREFIX + g[0::2] for g in characters.grams])  # "chars:not b"
        # The same string -> id mapping as the run's n-gram TextVectorization (OOV -> 0).
        self.lookup = keras.layers.StringLookup(
            vocabulary=list(vocabulary), mask_token=None, num_oov_indices=1, oov_token=OOV, name="explain_ngram_lookup"
        )
        self.lookup.build((None,))  # given its vocabulary it works unbuilt, but an ExportArchive tracks built layers

    def occurrences(self, texts, label_ids=None, token_ids=None) -> dict:
        """Every n-gram occurrence of every review, flat, each (N,):

        row int64 (its review), start int64 (its first word), width int64,
        gram string, id int64 (0: not in the vocabulary), contribution float32.
        Also ``words``: the standardized words, ragged (batch, None). ``label_ids``
        int32 (batch,), the served classes, picks the class each review's
        contributions point toward when there are more than two classes.
        ``token_ids`` int (batch, L), the word branch's input: needed by a length-scaled blend.
        """
        words = tf.strings.split(self.standardize(texts))
        rows, starts, widths, grams = [], [], [], []
        for n in range(1, self.max_ngram + 1):
            ngrams = tf.strings.ngrams(words, n, separator=" ")
            rows.append(ngrams.value_rowids())
            starts.append(tf.ragged.range(ngrams.row_lengths()).values)
            widths.append(tf.fill(tf.shape(ngrams.values), tf.constant(n, tf.int64)))
            grams.append(ngrams.values)
        gram = tf.concat(grams, 0)
        ids = tf.cast(self.lookup(gram), tf.int64)
        row = tf.concat(rows, 0)
        classes = None
        if label_ids is not None:
            classes = tf.gather(tf.maximum(tf.cast(label_ids, tf.int64), 0), row)  # no verdict: no in-vocabulary n-gram
        contribution = self.contribution(ids, classes, self.blend_weight(row, token_ids))
        if self.expert is not None:
            contribution += self.expert_contribution(
                ids, classes, self.blend_weight(row, token_ids, member=self.expert_member)
            )
        return {
            "words": words,
            "row": row,
            "start": tf.concat(starts, 0),
            "width": tf.concat(widths, 0),
            "gram": gram,
            "id": ids,
            "contribution": contribution,
        }

    def character_occurrences(self, texts, label_ids=None, token_ids=None) -> dict | None:
        """Each review's distinct in-vocabulary character n-grams (``model.hybrid.character_ngrams``), flat,
        each (N,): row int64, id int64 (its column in the bag), gram string (``CHARACTER_PREFIX`` and its
        characters), contribution float32 (through the character member and its blend weight), as
        ``occurrences``; None without a character member.
        """
        if self.characters is None:
            return None
        bag = self.characters(texts)
        known = bag.indices[:, 1] > 0  # the OOV bucket carries no evidence and is no column of the bag
        row, column = tf.boolean_mask(bag.indices[:, 0], known), tf.boolean_mask(bag.indices[:, 1], known)
        classes = None
        if label_ids is not None:
            classes = tf.gather(tf.maximum(tf.cast(label_ids, tf.int64), 0), row)
        # The member reads its columns as the character vectorizer numbers them (BagColumns).
        weights = tf.convert_to_tensor(self.character_layer.weights_of(column))
        scale = self.inverse_temperature * tf.cast(self.blend_weight(row, token_ids, member=-1), tf.float32)
        return {
            "row": row,
            "id": column + self.character_offset,  # its column in the bag: distinct from every word n-gram's
            "gram": tf.gather(self.character_names, column - 1),
            "contribution": tf.cast(self.signed(weights, classes) * scale, tf.float32),
        }

    def blend_weight(self, row, token_ids=None, member: int = 0):
        """A member's blend weight (the n-gram branch's by default; -1: the last member's): a scalar, or float32
        (N,) per occurrence for a length-scaled blend."""
        if self.blend is None:
            return None
        if not self.blend.length_scaled:
            return tf.convert_to_tensor(self.blend.branch_weights)[member]
        return tf.gather(self.blend.member_weights(token_ids)[:, member], row)

    def expert_contribution(self, ids, classes, blend_weight):
        """ids int (N,) -> float32 (N,): each n-gram's term through the Naive Bayes expert's log-odds."""
        ratios = tf.gather(tf.convert_to_tensor(self.expert.log_count_ratio), ids) * self.expert.scale
        return self.signed(ratios, classes) * self.inverse_temperature * tf.cast(blend_weight, tf.float32)

    def signed(self, weights, classes=None):
        """(N, C) -> (N,): the log-odds direction of each row (class 1 minus class 0), or with more than two
        classes its class's entry minus the row's mean (``classes`` int (N,))."""
        if weights.shape[-1] == 2:
            return weights[:, 1] - weights[:, 0]
        toward = tf.gather(weights, classes, axis=1, batch_dims=1)
        return toward - tf.reduce_mean(weights, axis=1)

    def contribution(self, ids, classes=None, blend_weight=None):
        """ids int (N,) -> float32 (N,): each n-gram's term in the served log-odds (see the module docstring).

        ``classes`` int (N,): the class each occurrence's contribution points toward, needed with more than
        two classes. ``blend_weight``: the n-gram branch's weight, a scalar or (N,) (``blend_weight``).
        """
        weights = tf.convert_to_tensor(self.nb_layer.weights_of(ids))  # (N, C): fw, the negation transfer's included
        scale = self.inverse_temperature
        if blend_weight is not None:
            scale = scale * tf.cast(blend_weight, tf.float32)
        return tf.cast(self.signed(weights, classes) * scale, tf.float32)

    def distinct(self, occurrences: dict, batch_size, characters: dict | None = None):
        """Each review's distinct in-vocabulary n-grams, largest |contribution| first, its character n-grams
        (``character_occurrences``) among them when given.

        Returns (grams string (batch, G), contributions float32 (batch, G)), padded
        with "" and 0; G is the most any review in the batch has.
        """
        if characters is not None:
            occurrences = {key: tf.concat([occurrences[key], characters[key]], 0) for key in characters}
        row, ids = occurrences["row"], occurrences["id"]
        key = row * tf.cast(self.lookup.vocabulary_size(), tf.int64) + ids
        unique, index = tf.unique(key)
        count = tf.shape(unique, out_type=tf.int64)[0]
        positions = tf.range(tf.shape(key, out_type=tf.int64)[0])
        first = tf.math.unsorted_segment_min(positions, index, count)  # each distinct n-gram's first occurrence
        first = tf.boolean_mask(first, tf.gather(ids, first) > 0)  # the OOV bucket carries no evidence
        contribution = tf.gather(occurrences["contribution"], first)
        first_row = tf.gather(row, first)
        order = tf.argsort(-tf.abs(contribution), stable=True)
        order = tf.gather(order, tf.argsort(tf.gather(first_row, order), stable=True))  # by review, then by size
        first, first_row = tf.gather(first, order), tf.gather(first_row, order)
        nrows = tf.cast(batch_size, tf.int64)
        grams = tf.RaggedTensor.from_value_rowids(tf.gather(occurrences["gram"], first), first_row, nrows=nrows)
        values = tf.RaggedTensor.from_value_rowids(
            tf.gather(occurrences["contribution"], first), first_row, nrows=nrows
        )
        return grams.to_tensor(default_value=""), values.to_tensor(default_value=0.0)

    def token_mass(self, occurrences: dict, batch_size, length):
        """Per-word share of |contribution|, float32 (batch, length), not normalised.

        A distinct n-gram g occurring k times in a review, n words long, gives
        |contribution(g)| / (k * n) to each word of each occurrence, so a
        review's words carry its n-grams' total |contribution|.
        """
        row, ids = occurrences["row"], occurrences["id"]
        key = row * tf.cast(self.lookup.vocabulary_size(), tf.int64) + ids
        _, index, counts = tf.unique_with_counts(key, out_idx=tf.int64)
        occurrences_of_same = tf.cast(tf.gather(counts, index), tf.float32)
        width = occurrences["width"]
        share = tf.abs(occurrences["contribution"]) / (occurrences_of_same * tf.cast(width, tf.float32))
        batch_size, length = tf.cast(batch_size, tf.int64), tf.cast(length, tf.int64)
        mass = tf.zeros([batch_size * length], tf.float32)
        for offset in range(self.max_ngram):
            covered = width > offset
            segment = tf.boolean_mask(row * length + occurrences["start"] + offset, covered)
            mass += tf.math.unsorted_segment_sum(tf.boolean_mask(share, covered), segment, batch_size * length)
        return tf.reshape(mass, tf.stack([batch_size, length]))
