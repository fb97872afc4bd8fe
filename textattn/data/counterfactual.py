"""Counterfactual training text: short polar sentences of the training reviews, and negated copies.

A sentence qualifies when it is one short copular clause whose last word is
a clearly polar adjective agreeing with its review's label, e.g. "The acting
was terrific." in a positive review. It is added as a training example with
its review's label, and, unless an adverb hedges it ("so", "really", ...), a
copy with the copula negated ("The acting was not terrific." / "The acting
wasn't terrific."), with the other label. Polarity
comes from the training part itself: the adjective's smoothed log ratio of
document frequencies in positive and negative reviews must be at least
``MIN_LOG_RATIO`` in the review's direction. Only two-class data (labels 0
and 1) can be flipped. Validation and test are never touched.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re

import numpy as np

from textattn.errors import UserError

VERSION = 1  # bump when the examples made change (cache keys carry it)
MIN_LOG_RATIO = 1.0  # e**1 ~ 2.7 times as frequent in one class's reviews as in the other's
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.IGNORECASE)
_ADVERB = r"(?:very|really|so|quite|pretty|just|simply|truly|extremely|absolutely|totally|utterly)"
COPULAR = re.compile(
    r"^(?P<subject>(?:the|this|that|it|everything)(?: [a-z']+){0,3}) (?P<verb>is|was|are|were) "
    r"(?P<rest>(?P<adverb>" + _ADVERB + r" )?(?P<adjective>[a-z]+))(?P<end>[.!])$",
    re.IGNORECASE,
)
CONTRACTED = {"is": "isn't", "was": "wasn't", "are": "aren't", "were": "weren't"}
NEGATORS = {"not", "no", "never", "nothing", "neither", "nor", "hardly", "without"}
WORD = re.compile(r"[a-z]+")


def copular_sentences(texts, labels):
    """Every qualifying-shaped sentence of ``texts``: [(sentence, label, match)], before the polarity check."""
    found = []
    for text, label in zip(texts, labels):
        for sentence in SENTENCE_BREAK.split(text):
            match = COPULAR.match(sentence.strip())
            if match and not (set(WORD.findall(match.group("subject").lower())) & NEGATORS):
                found.append((sentence.strip(), int(label), match))
    return found


def log_ratios(texts, labels, words) -> dict[str, float]:
    """For each of ``words``: log((positive reviews holding it + 1) / (negative reviews holding it + 1)),
    each count over its class's total, from ``texts`` with labels 0 / 1."""
    words = set(words)
    holding = [collections.Counter(), collections.Counter()]
    for text, label in zip(texts, labels):
        holding[int(label)].update(words & set(WORD.findall(text.lower())))
    totals = np.bincount(np.asarray(labels, np.int64), minlength=2)
    return {
        w: math.log((holding[1][w] + 1) / (totals[1] + 1)) - math.log((holding[0][w] + 1) / (totals[0] + 1))
        for w in words
    }


def negate(match: re.Match, contracted: bool) -> str:
    """The matched sentence with its copula negated: "was not good." or "wasn't good."."""
    verb = match.group("verb")
    negated = CONTRACTED[verb.lower()] if contracted else f"{verb} not"
    return f"{match.group('subject')} {negated} {match.group('rest')}{match.group('end')}"


def counterfactual_examples(texts, labels) -> tuple[list[str], np.ndarray]:
    """The added examples for a training part: each polar sentence (its review's label), then, without an
    adverb, its negated copy (the other label), alternately with "not" and "n't". Returns (texts, int32 labels)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > 1):
        raise UserError(
            "data.counterfactual flips labels, so it needs two-class data (labels 0 and 1); "
            "set data.counterfactual=false"
        )
    found = copular_sentences(texts, labels)
    ratios = log_ratios(texts, labels, {m.group("adjective").lower() for _, _, m in found})
    added, added_labels = [], []
    for sentence, label, match in found:
        direction = 1.0 if label == 1 else -1.0
        if direction * ratios[match.group("adjective").lower()] < MIN_LOG_RATIO:
            continue
        added.append(sentence)
        added_labels.append(label)
        if not match.group("adverb"):  # "not so wonderful", "not absolutely terrible": hedged, not flipped
            added.append(negate(match, contracted=len(added) % 4 == 3))
            added_labels.append(1 - label)
    return added, np.asarray(added_labels, np.int32)


def augmented(splits, enabled: bool):
    """``splits`` (pipeline.TextSplits) with the counterfactual examples appended to its fit part when
    ``enabled`` (``data.counterfactual``); otherwise ``splits`` itself."""
    if not enabled:
        return splits
    texts, labels = splits.fit
    extra_texts, extra_labels = counterfactual_examples(texts, labels)
    fit = (list(texts) + extra_texts, np.concatenate([np.asarray(labels, np.int32), extra_labels]))
    return dataclasses.replace(splits, fit=fit)
