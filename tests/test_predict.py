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
    # The tiny run has learned the cue words; each line shows the predicted class's probability.
    assert (pos_label, neg_label) == ("pos", "neg")
    assert 0.5 < pos_p <= 1 and 0.5 < neg_p <= 1


def test_run_dir_and_export_agree(tiny_run, exported):
    texts = [POSITIVE, NEGATIVE, "", "the plot was a film", "\xff not utf8".encode("latin-1")]
    run, exp = Predictor(tiny_run)(texts), Predictor(exported)(texts, batch_size=2)
    np.testing.assert_allclose(run.probabilities, exp.probabilities, atol=1e-6, rtol=0)
    assert run.probabilities.shape == (len(texts), 2)
    assert np.array_equal(run.label_ids, exp.label_ids) and run.labels == exp.labels
    assert run.class_names == exp.class_names == ["neg", "pos"]


def test_jsonl_output_from_a_file(exported, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_bytes(f"{POSITIVE}\r\n\n{NEGATIVE} 😀\n".encode())
    assert main(["predict", exported, "first", "--file", str(reviews), "--jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["first", POSITIVE, "", f"{NEGATIVE} 😀"]
    for row in rows:
        assert set(row) == {"text", "label", "label_id", "probability", "probabilities", "known_tokens"}
        assert list(row["probabilities"]) == ["neg", "pos"]
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
        if row["known_tokens"] == 0:  # the empty line: no evidence, no verdict
            assert (row["label"], row["label_id"], row["probability"]) == ("unknown", -1, 0.5)
            continue
        assert row["label"] == ("neg", "pos")[row["label_id"]]
        assert row["probability"] == max(row["probabilities"].values()) == row["probabilities"][row["label"]]
    assert [r["known_tokens"] == 0 for r in rows] == [True, False, True, False]  # "first" is not in the vocabulary


def test_no_evidence_gets_exactly_one_half(exported):
    texts = ["", "   \t ", "zzqx unseenword", "!!!", POSITIVE, NEGATIVE]
    predictions = Predictor(exported)(texts)
    assert predictions.known_tokens.tolist()[:4] == [0, 0, 0, 0]
    assert (predictions.known_tokens[4:] > 0).all()
    assert predictions.probabilities[:4].tolist() == [[0.5, 0.5]] * 4
    assert predictions.labels[:4] == ["unknown"] * 4 and predictions.label_ids[:4].tolist() == [-1] * 4
    assert predictions.probabilities[4, 1] > 0.5 > predictions.probabilities[5, 1]


@pytest.mark.slow
def test_file_dash_reads_stdin(exported):
    stdin = POSITIVE.encode() + b"\n\xff\xfe broken bytes\n\n" + NEGATIVE.encode()  # no final newline
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-m", "textattn", "predict", exported, "--file", "-", "--jsonl"],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["text"] for r in rows] == [POSITIVE, "\ufffd\ufffd broken bytes", "", NEGATIVE]
    assert rows[0]["probabilities"]["pos"] > rows[3]["probabilities"]["pos"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "{tmp}/missing", "text"], "does not exist"),
        (["predict", "{tmp}", "text"], "neither a run directory"),
        (["predict", "{export}", "--file", "{tmp}/missing.txt"], "cannot read"),
        (["predict", "{export}", "--file", "{tmp}"], "cannot read"),
        (["predict", "{export}"], "no reviews given"),
    ],
)
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
