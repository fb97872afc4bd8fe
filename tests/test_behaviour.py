"""Behavioural suite: the shipped file's shape, the loader's errors, scoring a fake model."""

import collections
import os

import numpy as np
import pytest

from textattn.errors import UserError
from textattn.evaluation.behaviour import DEFAULT_SUITE, Case, load_suite, score_suite

CATEGORIES = {"negation", "contrast", "intensifier", "idiom", "plain"}


def test_default_suite_is_balanced_and_complete():
    assert os.path.isfile(DEFAULT_SUITE)
    cases = load_suite()
    assert cases == load_suite(DEFAULT_SUITE)
    assert len(cases) >= 90
    labels = collections.Counter(c.label for c in cases)
    assert set(labels) == {"positive", "negative"}
    for count in labels.values():
        assert 0.4 <= count / len(cases) <= 0.6
    by_category = collections.Counter(c.category for c in cases)
    assert set(by_category) == CATEGORIES
    for category in CATEGORIES:
        assert by_category[category] >= 15
        assert {c.label for c in cases if c.category == category} == {"positive", "negative"}
    texts = [" ".join(c.text.lower().split()) for c in cases]
    assert len(set(texts)) == len(texts), [t for t, n in collections.Counter(texts).items() if n > 1]
    assert all(3 <= len(c.text.split()) <= 15 for c in cases), [
        c.text for c in cases if not 3 <= len(c.text.split()) <= 15
    ]


V2_SUITE = os.path.join(os.path.dirname(DEFAULT_SUITE), "behaviour_v2.tsv")
V2_CATEGORIES = CATEGORIES | {"short_verdict"}


def test_v2_suite_is_balanced_complete_and_new():
    cases = load_suite(V2_SUITE)
    assert len(cases) >= 330
    labels = collections.Counter(c.label for c in cases)
    assert set(labels) == {"positive", "negative"}
    for count in labels.values():
        assert 0.45 <= count / len(cases) <= 0.55
    by_category = collections.Counter(c.category for c in cases)
    assert set(by_category) == V2_CATEGORIES
    for category in V2_CATEGORIES:
        assert by_category[category] >= 45, category
        assert {c.label for c in cases if c.category == category} == {"positive", "negative"}, category
    texts = [" ".join(c.text.lower().split()) for c in cases]
    assert len(set(texts)) == len(texts), [t for t, n in collections.Counter(texts).items() if n > 1]
    old = {" ".join(c.text.lower().split()) for c in load_suite(DEFAULT_SUITE)}
    assert not old & set(texts), sorted(old & set(texts))
    too_long = [c.text for c in cases if not 1 <= len(c.text.split()) <= (5 if c.category == "short_verdict" else 20)]
    assert not too_long, too_long


def write(tmp_path, text):
    path = tmp_path / "suite.tsv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_suite_reads_cases_and_skips_blank_lines(tmp_path):
    path = write(
        tmp_path, "text\tlabel\tcategory\nnot bad at all\tpositive\tnegation\n\na waste of time\tnegative\tidiom\n"
    )
    assert load_suite(path) == [
        Case("not bad at all", "positive", "negation"),
        Case("a waste of time", "negative", "idiom"),
    ]


@pytest.mark.parametrize(
    "content, line",
    [
        ("text\tlabel\n", 1),
        ("sentence\tlabel\tcategory\n", 1),
        ("", 1),
        ("text\tlabel\tcategory\ngood film\tpositive\tplain\nbad film\tnegative\n", 3),
        ("text\tlabel\tcategory\ngood film\tpositive\tplain\textra\n", 2),
        ("text\tlabel\tcategory\ngood film\tgood\tplain\n", 2),
        ("text\tlabel\tcategory\n\tpositive\tplain\n", 2),
        ("text\tlabel\tcategory\ngood film\tpositive\t\n", 2),
    ],
)
def test_malformed_suite_names_file_and_line(tmp_path, content, line):
    path = write(tmp_path, content)
    with pytest.raises(UserError) as info:
        load_suite(path)
    assert path in str(info.value) and f"line {line}:" in str(info.value)


def test_missing_suite_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="nothere.tsv"):
        load_suite(str(tmp_path / "nothere.tsv"))


CASES = [
    Case("good", "positive", "plain"),  # 0.9: passes
    Case("bad", "negative", "plain"),  # 0.2: passes
    Case("meh", "positive", "plain"),  # 0.5: no evidence, fails
    Case("dull", "negative", "plain"),  # 0.7: fails, P(negative) = 0.3
    Case("not bad", "positive", "negation"),  # 0.3: fails, P(positive) = 0.3
    Case("not good", "negative", "negation"),  # 0.1: passes
]
P_POSITIVE = {"good": 0.9, "bad": 0.2, "meh": 0.5, "dull": 0.7, "not bad": 0.3, "not good": 0.1}


@pytest.mark.parametrize("layout", ["sigmoid-N", "sigmoid-N1", "softmax"])
def test_score_suite_counts(layout):
    calls = []

    def predict(texts):
        calls.append(list(texts))
        p = np.array([P_POSITIVE[t] for t in texts], dtype="float32")
        return {"sigmoid-N": p, "sigmoid-N1": p.reshape(-1, 1), "softmax": np.stack([1 - p, p], axis=1)}[layout]

    result = score_suite(predict, CASES)
    assert calls == [[c.text for c in CASES]]  # one call, in order
    assert (result["passed"], result["total"]) == (3, 6)
    assert result["pass_rate"] == pytest.approx(0.5)
    assert result["by_category"] == {
        "plain": {"passed": 2, "total": 4, "pass_rate": 0.5},
        "negation": {"passed": 1, "total": 2, "pass_rate": 0.5},
    }
    failures = result["failures"]
    assert [f["text"] for f in failures] == ["meh", "dull", "not bad"]
    assert [f["label"] for f in failures] == ["positive", "negative", "positive"]
    assert [f["probability"] for f in failures] == pytest.approx([0.5, 0.3, 0.3], abs=1e-6)
    assert [f["predicted"] for f in failures] == [None, "positive", "negative"]


def test_score_suite_with_three_classes_and_a_tie():
    names = ("negative", "neutral", "positive")
    cases = [Case("a", "neutral", "x"), Case("b", "positive", "x"), Case("c", "negative", "y")]
    probs = np.array([[0.2, 0.6, 0.2], [0.4, 0.2, 0.4], [0.3, 0.5, 0.2]])
    result = score_suite(lambda texts: probs, cases, class_names=names)
    assert (result["passed"], result["total"]) == (1, 3)
    assert result["by_category"]["x"] == {"passed": 1, "total": 2, "pass_rate": 0.5}
    assert [(f["text"], f["predicted"]) for f in result["failures"]] == [("b", None), ("c", "neutral")]
    assert result["failures"][1]["probability"] == pytest.approx(0.3)


def test_score_suite_refuses_mismatches():
    with pytest.raises(ValueError):
        score_suite(lambda texts: np.array([0.9]), CASES)  # one row for six cases
    with pytest.raises(ValueError):
        score_suite(lambda texts: np.full((len(texts), 3), 1 / 3), CASES)  # three columns, two names
    with pytest.raises(ValueError):
        score_suite(lambda texts: np.full(len(texts), 0.9), [Case("x", "neutral", "plain")])
    with pytest.raises(ValueError):
        score_suite(lambda texts: np.zeros(0), [])
