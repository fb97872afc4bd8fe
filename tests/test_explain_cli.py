"""`python -m textattn explain`: plain, ANSI and JSONL output, --top, --file, --html, errors."""

import io
import json
import os
import sys

import pytest
from explain_support import explainable, save_run

from textattn import export, serving
from textattn.__main__ import main
from textattn.commands.explain import run_explain

REVIEW = "a great film and a dull ending"  # every word in the tiny vocabulary
OTHER = "awful boring terrible waste, hated it"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> str:
    return export.export_run(tiny_run, str(tmp_path_factory.mktemp("explain_cli") / "model"))


@pytest.fixture(scope="module")
def ngram_run(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("explain_ngram")
    config, model, parts = explainable(tmp, "ngram")
    return save_run(str(tmp / "run"), config, model, parts)


def test_plain_output_gives_label_probability_weights_and_top_tokens(tiny_run, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["explain", tiny_run, REVIEW, OTHER, "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("weights: baseline (average pooling): gradient x input")
    assert len(lines) == 1 + 2 * 3
    label, probability, known = lines[1].split()
    assert label in ("pos", "neg") and 0 <= float(probability) <= 1 and known == "known_tokens=7"
    tokens = lines[2].split()
    assert [t.split("[")[0] for t in tokens] == REVIEW.split()
    weights = [float(t.split("[")[1].rstrip("]")) for t in tokens]
    assert sum(weights) == pytest.approx(1.0, abs=5e-3) and "\x1b[" not in "\n".join(lines)
    top = lines[3].removeprefix("  top 3: ").split(" · ")
    assert len(top) == 3 and [float(t.split()[1]) for t in top] == sorted(weights, reverse=True)[:3]


def test_ansi_colour_on_a_terminal_unless_no_color(exported, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    assert run_explain(exported, [REVIEW], out=terminal) == 0
    shaded = terminal.getvalue().splitlines()[2]
    assert "\x1b[30;48;5;203m" in shaded  # the heaviest token gets the strongest shade
    assert "[0." not in shaded
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    run_explain(exported, [REVIEW], out=plain)
    assert "\x1b[" not in plain.getvalue() and "great[0." in plain.getvalue()


def test_jsonl_from_stdin_and_export_agree_with_the_run(tiny_run, exported, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f"{REVIEW}\n\n\xff bad\n".encode("latin-1"))))
    assert main(["explain", exported, "--file", "-", "--jsonl", "--top", "2"]) == 0
    from_export = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["explain", tiny_run, REVIEW, "", b"\xff bad".decode("utf-8", "surrogateescape"), "--jsonl"]) == 0
    from_run = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(from_export) == len(from_run) == 3
    first = from_export[0]
    assert first["tokens"] == REVIEW.split() and len(first["top"]) == 2
    assert first["weights_meaning"].startswith("baseline (average pooling): gradient x input")
    assert sum(first["weights"]) == pytest.approx(1.0, abs=1e-5)
    assert from_export[1]["tokens"] == [] and from_export[1]["probability"] == 0.5
    for a, b in zip(from_export, from_run):
        assert a["tokens"] == b["tokens"] and a["probability"] == pytest.approx(b["probability"], abs=1e-6)
        assert a["weights"] == pytest.approx(b["weights"], abs=1e-5)


def test_ngram_models_show_signed_ngram_rows(ngram_run, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["explain", ngram_run, "great film, great fun"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("weights: ngram: token shading")
    rows = [line for line in out.splitlines() if line.startswith("  n-grams (log-odds, + toward pos, - toward neg): ")]
    assert len(rows) == 1 and '"great"' in rows[0] and '"film"' in rows[0]
    assert main(["explain", ngram_run, "great film, great fun", "--jsonl"]) == 0
    record = json.loads(capsys.readouterr().out)
    sizes = [abs(row["contribution"]) for row in record["ngrams"]]
    assert sizes == sorted(sizes, reverse=True) and {"great", "film"} <= {row["ngram"] for row in record["ngrams"]}


def test_html_page_is_self_contained(tiny_run, tmp_path, capsys):
    page = tmp_path / "view.html"
    long_review = "WONDERFUL & " + " ".join(["the plot was long"] * 200)
    assert main(["explain", tiny_run, REVIEW, long_review, "--html", str(page)]) == 0
    assert f"Wrote {page}" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert html.count('<section class="review">') == 2
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert "src=" not in html and "url(" not in html and "@import" not in html
    assert "default-src 'none'" in html  # nothing may be fetched
    assert "overflow-wrap: anywhere" in html  # long reviews wrap
    assert ">wonderful</span>" in html and ">dull</span>" in html and "&amp;" not in html  # standardized tokens
    assert html.count('class="t"') == len(REVIEW.split()) + 32  # the long review: its kept window


@pytest.mark.parametrize(
    "argv,message",
    [
        (["explain", "{run}"], "no reviews given"),
        (["explain", "{run}", "x", "--top", "-1"], "--top must be 0 or more"),
        (["explain", "{old}", "x"], "has no 'explain' endpoint"),
        (["explain", "{run}", "x", "--html", "/nonexistent/dir/view.html"], "does not exist"),
        (["explain", "/nonexistent/model", "x"], "does not exist"),
    ],
)
def test_explain_errors_are_one_line_exit_2(argv, message, tiny_run, old_export, capsys):
    argv = [a.format(run=tiny_run, old=old_export) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


@pytest.fixture(scope="module")
def old_export(tiny_run, tmp_path_factory) -> str:
    """An export made before the explain endpoint existed: serve only."""
    import keras

    out = str(tmp_path_factory.mktemp("old_export") / "model")
    os.makedirs(out)
    parts, model = serving.load_serving_parts(tiny_run)
    archive = keras.export.ExportArchive()
    archive.track(model)
    parts.vectorizer.build()
    archive.track(parts.vectorizer)
    archive.add_endpoint(serving.SERVE, serving.make_serve(model, parts), input_signature=serving.input_signature())
    archive.write_out(out, verbose=False)
    return out
