"""`python -m textattn predict`: run directories and exports, plain and JSONL output, stdin, errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from textattn import export
from textattn.__main__ import main
from textattn.predict import Predictor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSITIVE = "great wonderful superb brilliant, loved it"
NEGATIVE = "awful boring terrible waste, hated it"


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> str:
    return export.export_run(tiny_run, str(tmp_path_factory.mktemp("predict_export") / "model"))


def parse_plain(line: str):
    label, probability, *text = line.split(None, 2)
    return label, float(probability), (text[0] if text else "")


def test_predict_on_run_dir_prints_label_and_probability(tiny_run, capsys):
    assert main(["predict", tiny_run, POSITIVE, NEGATIVE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    (pos_label, pos_p, pos_text), (neg_label, neg_p, neg_text) = map(parse_plain, lines)
    assert (pos_text, neg_text) == (POSITIVE, NEGATIVE)
    assert 0 <= neg_p < pos_p <= 1  # the tiny run has learned the cue words
    for label, p in ((pos_label, pos_p), (neg_label, neg_p)):
        assert label == ("positive" if p > 0.5 else "negative")


def test_run_dir_and_export_agree(tiny_run, exported):
    texts = [POSITIVE, NEGATIVE, "", "the plot was a film", "\xff not utf8".encode("latin-1")]
    p_run, labels_run = Predictor(tiny_run)(texts)
    p_export, labels_export = Predictor(exported)(texts, batch_size=2)
    np.testing.assert_allclose(p_run, p_export, atol=1e-6, rtol=0)
    assert np.array_equal(labels_run, labels_export) and len(p_run) == len(texts)


def test_jsonl_output_from_a_file(exported, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_bytes(f"{POSITIVE}\r\n\n{NEGATIVE} 😀\n".encode())
    assert main(["predict", exported, "first", "--file", str(reviews), "--jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["first", POSITIVE, "", f"{NEGATIVE} 😀"]
    for row in rows:
        assert set(row) == {"text", "label", "label_id", "probability", "known_tokens"}
        assert 0.0 <= row["probability"] <= 1.0
        if row["known_tokens"] == 0:  # the empty line: no evidence, no verdict
            assert (row["label"], row["probability"]) == ("unknown", 0.5)
            continue
        assert row["label"] == ("positive", "negative")[1 - row["label_id"]]
        assert row["label_id"] == int(row["probability"] > 0.5)
    assert [r["known_tokens"] == 0 for r in rows] == [True, False, True, False]  # "first" is not in the vocabulary


def test_no_evidence_gets_exactly_one_half(exported):
    texts = ["", "   \t ", "zzqx unseenword", "!!!", POSITIVE, NEGATIVE]
    predictor = Predictor(exported)
    probabilities, labels = predictor(texts)
    assert predictor.known_tokens.tolist()[:4] == [0, 0, 0, 0]
    assert (predictor.known_tokens[4:] > 0).all()
    assert probabilities[:4].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert probabilities[4] > 0.5 > probabilities[5]


@pytest.mark.slow
def test_file_dash_reads_stdin(exported):
    stdin = POSITIVE.encode() + b"\n\xff\xfe broken bytes\n\n" + NEGATIVE.encode()  # no final newline
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "textattn", "predict", exported, "--file", "-", "--jsonl"],
                          input=stdin, capture_output=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["text"] for r in rows] == [POSITIVE, "\ufffd\ufffd broken bytes", "", NEGATIVE]
    assert rows[0]["probability"] > rows[3]["probability"]


@pytest.mark.parametrize("argv, message", [
    (["predict", "{tmp}/missing", "text"], "does not exist"),
    (["predict", "{tmp}", "text"], "neither a run directory"),
    (["predict", "{export}", "--file", "{tmp}/missing.txt"], "cannot read"),
    (["predict", "{export}", "--file", "{tmp}"], "cannot read"),
    (["predict", "{export}"], "no reviews given"),
])
def test_predict_errors_are_one_line_exit_2(argv, message, exported, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, export=exported) for a in argv]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert message in captured.err and captured.out == ""


@pytest.mark.parametrize("argv", [[], ["bogus"]])
def test_missing_or_unknown_command_prints_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("usage: textattn")
