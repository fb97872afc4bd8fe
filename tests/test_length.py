"""Accuracy by review length: token counts after standardization, bucket boundaries."""

import random

import numpy as np
import pytest

from textattn.data.text import make_vectorizer
from textattn.evaluation.length import LENGTH_BUCKETS, accuracy_by_length, token_counts

TEXTS = [
    "Hello, world!<br /><br />It's GREAT.",  # hello world its great
    "",
    "   ",
    "a - b",  # the lone dash is stripped: a b
    "one<br/>two<br>three",  # one two three
    "tabs\tand\nnewlines  count once",
]
EXPECTED_COUNTS = [4, 0, 0, 2, 3, 5]


def test_token_counts_by_hand():
    counts = token_counts(TEXTS)
    assert counts.dtype == np.int64 and counts.shape == (len(TEXTS),)
    assert counts.tolist() == EXPECTED_COUNTS
    assert token_counts([]).shape == (0,)


def test_token_counts_match_the_vectorizer_and_do_not_depend_on_batching():
    rng = random.Random(0)
    words = "the film, was great! <br />not bad... I'd say: boring?".split(" ")
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 60))) for _ in range(37)]
    vectorizer = make_vectorizer(vocab_size=100)
    vectorizer.adapt(texts)
    expected = vectorizer(np.asarray(texts, dtype=object)).row_lengths().numpy()
    assert token_counts(texts).tolist() == expected.tolist()
    assert token_counts(texts, batch_size=5).tolist() == expected.tolist()


def test_accuracy_by_length_default_buckets_and_boundaries():
    lengths = np.array([0, 50, 51, 120, 200, 201, 999])
    labels = np.array([1, 0, 1, 1, 0, 0, 1])
    predicted = np.array([1, 1, 1, 0, 0, 1, 0])
    # <=50: lengths 0, 50 -> 1 of 2 right; 51-200: 51, 120, 200 -> 2 of 3; >200: 201, 999 -> 0 of 2.
    assert accuracy_by_length(labels, predicted, lengths) == [
        {"bucket": "<=50", "min": 0, "max": 50, "examples": 2, "accuracy": 0.5},
        {"bucket": "51-200", "min": 51, "max": 200, "examples": 3, "accuracy": pytest.approx(2 / 3)},
        {"bucket": ">200", "min": 201, "max": None, "examples": 2, "accuracy": 0.0},
    ]
    assert LENGTH_BUCKETS == (50, 200)


def test_empty_bucket_and_custom_edges():
    rows = accuracy_by_length([1, 0, 1], [1, 0, 0], [5, 30, 31], edges=(10, 20, 30))
    assert [r["bucket"] for r in rows] == ["<=10", "11-20", "21-30", ">30"]
    assert [r["examples"] for r in rows] == [1, 0, 1, 1]
    assert [r["accuracy"] for r in rows] == [1.0, None, 1.0, 0.0]
    assert sum(r["examples"] for r in rows) == 3


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        accuracy_by_length([1, 0], [1, 0], [3, 4], edges=(200, 50))
    with pytest.raises(ValueError):
        accuracy_by_length([1, 0], [1], [3, 4])
