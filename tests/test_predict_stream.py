"""`textattn predict --file ... --output ...`: streamed JSONL and text input, records in input order with the
input's fields, one-line errors that leave no output file, and memory that does not grow with the file."""

import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import REPO, write_review

from textattn import export, predict, review_stream
from textattn.__main__ import main
from textattn.predict import OutputStyle, Predictor, score_stream

PREDICTION_KEYS = {"label", "label_id", "probability", "probabilities", "known_tokens"}
THROUGHPUT_LINE = "scored {n:,} reviews in "


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> str:
    return export.export_run(tiny_run, str(tmp_path_factory.mktemp("stream_export") / "model"))


def labelled_reviews(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (label, review) pairs, alternating pos and neg, in the tiny run's vocabulary."""
    rng = random.Random(seed)
    return [(label, write_review(rng, label)) for label in ("pos", "neg") * (n // 2)]


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def only_error_line(captured) -> str:
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    return captured.err


def test_jsonl_in_jsonl_out_carries_fields_in_input_order(exported, tmp_path, capsys):
    pairs = labelled_reviews(40)
    records = [
        {"id": f"r{i}", "text": text, "label": gold, "meta": {"stars": i % 10, "tags": ["a", "é"]}}
        for i, (gold, text) in enumerate(pairs)
    ]
    source, out = write_jsonl(tmp_path / "in.jsonl", records), tmp_path / "scores.jsonl"
    # 7 reviews a chunk: five full chunks and a part one.
    assert main(["predict", exported, "--file", source, "--output", str(out), "--batch-size", "7"]) == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert all(r["meta"] == {"stars": i % 10, "tags": ["a", "é"]} for i, r in enumerate(rows))
    assert all(set(r) == {"id", "meta", "input_label"} | PREDICTION_KEYS for r in rows)  # no text by default
    assert [r["input_label"] for r in rows] == [gold for gold, _ in pairs]  # a labelled file's own label, kept
    # The same numbers as one call of the Predictor on the whole list.
    whole = Predictor(exported)([text for _, text in pairs])
    np.testing.assert_allclose(
        [[r["probabilities"]["neg"], r["probabilities"]["pos"]] for r in rows], whole.probabilities, atol=1e-6, rtol=0
    )
    assert [r["label"] for r in rows] == whole.labels
    assert sum(r["label"] == label for r, (label, _) in zip(rows, pairs)) >= 36  # the tiny run learned its cues
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(THROUGHPUT_LINE.format(n=40)) and captured.err.count("\n") == 1
    assert captured.err.rstrip().endswith(" reviews/s)")
    assert os.listdir(tmp_path) == ["in.jsonl", "scores.jsonl"]  # no temporary file left


def test_include_text_and_text_field(exported, tmp_path):
    records = [{"review": "great wonderful film", "id": 1}, {"review": "awful boring film", "id": 2}]
    source, out = write_jsonl(tmp_path / "in.ndjson", records), tmp_path / "scores.jsonl"
    assert (
        main(["predict", exported, "--file", source, "--text-field", "review", "--output", str(out), "--include-text"])
        == 0
    )
    rows = read_jsonl(out)
    assert [(r["review"], r["id"]) for r in rows] == [(r["review"], r["id"]) for r in records]
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert list(rows[0])[:2] == ["review", "id"]  # the input's fields first, in their order


def test_run_directory_streams_like_its_export(tiny_run, exported, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": t} for i, (_, t) in enumerate(labelled_reviews(10))])
    rows = {}
    for name, model in (("run", tiny_run), ("export", exported)):
        out = tmp_path / f"{name}.jsonl"
        assert main(["predict", model, "--file", source, "--output", str(out), "--batch-size", "4"]) == 0
        rows[name] = read_jsonl(out)
    assert [r["id"] for r in rows["run"]] == [r["id"] for r in rows["export"]] == list(range(10))
    np.testing.assert_allclose(
        [r["probability"] for r in rows["run"]], [r["probability"] for r in rows["export"]], atol=1e-6, rtol=0
    )


def test_empty_lines_and_empty_text_get_unknown(exported, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": 1, "text": ""}\n\n{"id": 3, "text": null}\n   \n{"id": 5, "text": "  \\t "}\n'
        '{"id": 6, "text": "great wonderful superb"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "scores.jsonl"
    assert main(["predict", exported, "--file", str(source), "--output", str(out)]) == 0
    rows = read_jsonl(out)
    assert [r.get("id") for r in rows] == [1, None, 3, None, 5, 6]
    for row in rows[:5]:
        assert (row["label"], row["label_id"], row["probability"], row["known_tokens"]) == ("unknown", -1, 0.5, 0)
    assert rows[5]["label"] == "pos"


def test_text_file_to_output_keeps_one_record_per_line(exported, tmp_path):
    source, out = tmp_path / "reviews.txt", tmp_path / "scores.jsonl"
    source.write_bytes(b"great wonderful superb\r\n\n\xff broken awful boring\nno final newline")
    assert main(["predict", exported, "first arg", "--file", str(source), "--output", str(out), "--include-text"]) == 0
    rows = read_jsonl(out)
    assert [r["text"] for r in rows] == [
        "first arg",
        "great wonderful superb",
        "",
        "\ufffd broken awful boring",
        "no final newline",
    ]
    assert [r["label"] for r in rows][:4] == ["unknown", "pos", "unknown", "neg"]
    assert main(["predict", exported, "--file", str(source), "--output", str(out)]) == 0
    assert [set(r) for r in read_jsonl(out)] == [PREDICTION_KEYS] * 4  # the text is left out by default


def test_jsonl_from_stdin_prints_records_with_text(exported, monkeypatch, capsys):
    stdin = b'{"id": 7, "text": "great wonderful"}\n{"id": 8, "text": "awful \\ud800 boring"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["predict", exported, "--file", "-", "--input-format", "jsonl", "--jsonl"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [(r["id"], r["text"], r["label"]) for r in rows] == [
        (7, "great wonderful", "pos"),
        (8, "awful \ud800 boring", "neg"),
    ]
    assert "\\ud800" in captured.out  # a lone surrogate is written escaped, so the line is valid UTF-8
    assert captured.err.startswith(THROUGHPUT_LINE.format(n=2))


def test_each_chunk_is_written_before_the_next_is_read(exported):
    events = []

    def reviews():
        for i in range(10):
            events.append(f"read {i}")
            yield b"great film", {"text": "great film"}

    count = score_stream(
        Predictor(exported),
        reviews(),
        lambda text: events.append(f"wrote {text.count(chr(10))}"),
        OutputStyle(to_file=True),
        chunk_lines=4,
    )
    assert count == 10
    assert events == (
        [f"read {i}" for i in range(4)]
        + ["wrote 4"]
        + [f"read {i}" for i in range(4, 8)]
        + ["wrote 4"]
        + ["read 8", "read 9", "wrote 2"]
    )


BAD_LINES = [
    (b'{"id": 4, "text": "fine"', "line 4 is not valid JSON"),
    (b'["a list"]', "line 4 is a JSON array, not an object"),
    (b'{"id": 4, "body": "no text field"}', "line 4 has no 'text' field"),
    (b'{"id": 4, "text": 12}', "line 4 has a JSON number in field 'text', not a string"),
    (b'{"id": 4, "text": "ok", "label": "pos", "input_label": "pos"}', "line 4 has fields 'label' and 'input_label'"),
    (b'{"id": 4, "text": "\xff"}', "line 4 is not UTF-8"),
]


@pytest.mark.parametrize("bad, message", BAD_LINES, ids=[m.split(" ", 2)[2][:20] for _, m in BAD_LINES])
def test_bad_jsonl_line_is_one_error_and_leaves_no_output(bad, message, exported, tmp_path, capsys):
    good = [json.dumps({"id": i, "text": "great film"}).encode() for i in (1, 2, 3)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(good + [bad] + good) + b"\n")
    out = tmp_path / "scores.jsonl"
    out.write_text("earlier scores\n")
    # 2 lines a chunk: lines 1-2 are written to the temporary file before line 4 fails.
    assert main(["predict", exported, "--file", str(source), "--output", str(out), "--batch-size", "2"]) == 2
    error = only_error_line(capsys.readouterr())
    assert f"{source}: {message}" in error
    assert out.read_text() == "earlier scores\n"  # the previous output is untouched
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "scores.jsonl"]  # and no temporary file is left


@pytest.mark.parametrize(
    "output, message",
    [
        ("{tmp}/missing/scores.jsonl", "cannot write"),
        ("{tmp}/in.jsonl/scores.jsonl", "cannot write"),  # the "directory" is a file
        ("{tmp}", "is a directory"),
        ("-", "--output - is not supported"),
    ],
)
def test_unusable_output_is_one_error(output, message, exported, tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "great film"}])
    assert main(["predict", exported, "--file", source, "--output", output.format(tmp=tmp_path)]) == 2
    assert message in only_error_line(capsys.readouterr())
    assert os.listdir(tmp_path) == ["in.jsonl"]


def test_unwritable_output_directory_is_one_error(exported, tmp_path, monkeypatch, capsys):
    # Tests may run as root, for whom chmod does not take write permission away; refuse the file the way
    # the kernel would.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": "great film"}])
    out = tmp_path / "scores.jsonl"
    assert main(["predict", exported, "--file", source, "--output", str(out)]) == 2
    error = only_error_line(capsys.readouterr())
    assert f"cannot write {str(out)!r} (Permission denied)" in error
    assert os.listdir(tmp_path) == ["in.jsonl"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--file", "{tmp}/in.txt", "--text-field", "body"], "--text-field names the review's field in JSONL"),
        (["--file", "{tmp}/in.jsonl", "--text-field", "label"], "--text-field 'label' is a field predict writes"),
        (["--file", "{tmp}/in.txt", "--batch-size", "0"], "--batch-size must be 1 or more"),
    ],
)
def test_options_that_do_not_fit_are_one_error(argv, message, exported, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("great film\n")
    write_jsonl(tmp_path / "in.jsonl", [{"text": "great film"}])
    assert main(["predict", exported] + [a.format(tmp=tmp_path) for a in argv]) == 2
    assert message in only_error_line(capsys.readouterr())


def test_interrupted_run_leaves_no_output(exported, tmp_path, monkeypatch, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "great film"} for i in range(10)])
    out = tmp_path / "scores.jsonl"
    calls = []
    score = Predictor.__call__

    def interrupted_on_second_chunk(self, texts, *args, **kwargs):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return score(self, texts, *args, **kwargs)

    monkeypatch.setattr(Predictor, "__call__", interrupted_on_second_chunk)
    assert main(["predict", exported, "--file", source, "--output", str(out), "--batch-size", "4"]) == 130
    assert calls == [4, 4] and capsys.readouterr().err == "interrupted\n"
    assert os.listdir(tmp_path) == ["in.jsonl"]


def test_read_reviews_still_reads_the_whole_file(tmp_path):
    """explain reads its --file through predict.read_reviews."""
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"one\r\n\ntwo\xff")
    assert predict.read_reviews(str(path)) == [b"one", b"", b"two\xff"]


def test_input_format_follows_the_file_name():
    assert review_stream.input_format_of("a/b.JSONL", None) == "jsonl"
    assert review_stream.input_format_of("b.ndjson", None) == "jsonl"
    assert review_stream.input_format_of("b.txt", None) == "text"
    assert review_stream.input_format_of("-", None) == "text"
    assert review_stream.input_format_of("b.txt", "jsonl") == "jsonl"


# --------------------------------------------------------------------------- #
# --shard I/N: byte ranges whose outputs concatenate into the whole file's.

SHARD_FILE = b"one\r\n\ntwo two\n\n\nthree three three\nfour\n" + b"x" * 30 + b"\n\nlast, no newline"


@pytest.mark.parametrize("count", range(1, 12))
def test_shards_hold_every_line_once_in_order(count, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(SHARD_FILE)
    whole = predict.read_reviews(str(path))
    parts = []
    for index in range(count):
        source = review_stream.ReviewFile(str(path), (index, count))
        try:
            lines = list(source.lines())
        finally:
            source.close()
        assert [source.line_number(i) for i, _ in lines] == [len(parts) + i for i, _ in lines]
        parts += [line for _, line in lines]
    assert parts == whole


def test_sharded_outputs_concatenate_into_the_whole_output(exported, tmp_path, capsys):
    records = [{"id": i, "text": text} for i, (_, text) in enumerate(labelled_reviews(30))]
    records[7]["text"] = ""
    source = write_jsonl(tmp_path / "in.jsonl", records)
    assert main(["predict", exported, "--file", source, "--output", str(tmp_path / "whole.jsonl")]) == 0
    for index in range(3):
        assert (
            main(
                [
                    "predict",
                    exported,
                    "--file",
                    source,
                    "--output",
                    str(tmp_path / f"part{index}.jsonl"),
                    "--shard",
                    f"{index}/3",
                    "--batch-size",
                    "4",
                ]
            )
            == 0
        )
    parts = [(tmp_path / f"part{index}.jsonl").read_bytes() for index in range(3)]
    assert all(part.count(b"\n") >= 5 for part in parts)  # each shard did a share of the work
    joined = [json.loads(line) for line in b"".join(parts).splitlines()]
    whole = read_jsonl(tmp_path / "whole.jsonl")
    # The same records; probabilities to float32 rounding (TensorFlow's sums depend on the batch's size).
    assert [(r["id"], r["label"], r["known_tokens"]) for r in joined] == [
        (r["id"], r["label"], r["known_tokens"]) for r in whole
    ]
    np.testing.assert_allclose([r["probability"] for r in joined], [r["probability"] for r in whole], atol=1e-6, rtol=0)
    counts = [int(line.split()[1]) for line in capsys.readouterr().err.splitlines()]
    assert sum(counts[1:]) == counts[0] == 30


def test_bad_line_in_a_shard_is_named_by_its_line_in_the_file(exported, tmp_path, capsys):
    lines = [json.dumps({"id": i, "text": "great film"}) for i in range(40)]
    lines[33] = '{"id": 33}'
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "part.jsonl"
    assert main(["predict", exported, "--file", str(source), "--output", str(out), "--shard", "3/4"]) == 2
    assert f"{source}: line 34 has no 'text' field" in only_error_line(capsys.readouterr())
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--file", "{tmp}/in.txt", "--shard", "2/2"], "--shard takes I/N with 0 <= I < N"),
        (["--file", "{tmp}/in.txt", "--shard", "one/two"], "--shard takes I/N"),
        (["--file", "-", "--shard", "0/2"], "--shard needs a regular file"),
        (["some text", "--file", "{tmp}/in.txt", "--shard", "0/2"], "pass no TEXT arguments"),
    ],
)
def test_shard_errors_are_one_line(argv, message, exported, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("great film\n")
    assert main(["predict", exported] + [a.format(tmp=tmp_path) for a in argv]) == 2
    assert message in only_error_line(capsys.readouterr())


# --------------------------------------------------------------------------- #
# In other processes: SIGTERM, and peak memory against the file's length.

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def predict_command(exported, *args) -> list[str]:
    return [sys.executable, "-m", "textattn", "predict", exported, *args]


@pytest.mark.slow
def test_sigterm_mid_stream_leaves_no_output(exported, tmp_path):
    out = tmp_path / "scores.jsonl"
    proc = subprocess.Popen(
        predict_command(exported, "--file", "-", "--input-format", "jsonl", "--output", str(out), "--batch-size", "10"),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=ENV,
    )
    try:
        lines = "".join(json.dumps({"id": i, "text": "great film"}) + "\n" for i in range(25))
        proc.stdin.write(lines.encode())
        proc.stdin.flush()
        # Two chunks of 10 are scored and written to the temporary file; the process waits for the third.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            partial = [name for name in os.listdir(tmp_path) if name.startswith(".scores.jsonl.partial-")]
            if partial and open(tmp_path / partial[0], "rb").read().count(b"\n") == 20:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.1)
        else:
            pytest.fail("the first two chunks never reached the temporary file")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    finally:
        proc.kill()
        proc.stdin.close()
    assert proc.stderr.read().decode().strip().endswith("received SIGTERM: interrupted")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_reader_that_goes_away_stops_predict_quietly(exported, tmp_path):
    """``predict --file big | head``: exit 141, as when killed by SIGPIPE, and no traceback."""
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": "great film"} for i in range(5000)])
    proc = subprocess.Popen(
        predict_command(exported, "--file", source, "--jsonl", "--batch-size", "10"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=ENV,
    )
    try:
        assert json.loads(proc.stdout.readline())["id"] == 0
        proc.stdout.close()  # as head does after its lines
        assert proc.wait(timeout=120) == 141
    finally:
        proc.kill()
    assert proc.stderr.read().decode() == ""


def peak_rss_mb(command: list[str], stderr_path) -> float:
    """Run ``command``; its peak resident memory in MB (this child's alone, from wait4)."""
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, open(stderr_path, encoding="utf-8").read()[-2000:]
    return usage.ru_maxrss / 1024  # kilobytes on Linux


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(exported, tmp_path):
    """Scoring 10x the lines costs no more memory. Each line is about 4 KB, so the 20,000-line file is
    80 MB: holding it (as predict did before it streamed) would add at least that much."""
    rng = random.Random(1)
    review = " ".join(write_review(rng, label, length=100) for label in ("pos", "neg") * 3)  # ~4 KB
    peaks = {}
    for n in (2_000, 20_000):
        source = tmp_path / f"in_{n}.jsonl"
        with open(source, "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps({"id": i, "text": review}) + "\n")
        out = tmp_path / f"scores_{n}.jsonl"
        peaks[n] = peak_rss_mb(
            predict_command(exported, "--file", str(source), "--output", str(out)), tmp_path / f"stderr_{n}.txt"
        )
        assert sum(1 for _ in open(out, "rb")) == n
        source.unlink()
    assert peaks[20_000] - peaks[2_000] < 25, peaks  # MB; here equal in 3 runs, 105 apart unstreamed
