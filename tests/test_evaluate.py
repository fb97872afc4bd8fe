"""evaluate.py end to end on two tiny trained runs: table, files, cache, plots, bad runs, --params-only."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys

import matplotlib.image
import pytest
from helpers import REPO, load_script, tiny_config

from textattn import runs
from textattn.evaluation import metrics as metrics_module
from textattn.evaluation.run import EVALUATION

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


evaluate_cli = load_script("evaluate.py")


@pytest.fixture(scope="session")
def two_runs(tiny_aclimdb, tmp_path_factory):
    """A baseline and an attention run, one epoch each, on the tiny tree."""
    from textattn.training import train

    tmp = tmp_path_factory.mktemp("eval_runs")
    made = []
    for variant in ("baseline", "attention"):
        config = tiny_config(tmp, variant, data=tiny_aclimdb)
        config.train.epochs = 1
        made.append(train(config, output_dir=str(tmp / "runs"), verbose=0).run_dir)
    return made


@pytest.fixture
def fresh_runs(two_runs, tmp_path):
    """Copies of the two runs without cached evaluations (tests may add or change files)."""
    copies = []
    for run in two_runs:
        dest = tmp_path / os.path.basename(run)
        shutil.copytree(run, dest)
        if os.path.exists(dest / EVALUATION):
            os.unlink(dest / EVALUATION)
        copies.append(str(dest))
    return copies


@pytest.fixture
def count_evaluations(monkeypatch):
    """How many times classification metrics were computed (i.e. runs evaluated)."""
    calls = []
    original = metrics_module.classification_metrics

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(metrics_module, "classification_metrics", counting)
    return calls


def run_cli(capsys, *args):
    code = evaluate_cli.main([*map(str, args), "--latency-calls", "5"])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_files_cache_and_plots(fresh_runs, tiny_aclimdb, tmp_path, capsys, count_evaluations):
    md, csv_path, js, plots = tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "r.json", tmp_path / "plots"
    code, out, err = run_cli(
        capsys, *fresh_runs, "--data", tiny_aclimdb, "--markdown", md, "--csv", csv_path, "--json", js, "--plots", plots
    )
    assert code == 0, err
    assert "error:" not in err
    assert len(count_evaluations) == 2

    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert len(rows) == 2
    assert {r["variant"] for r in rows} == {"baseline", "attention"}
    keys = [(-float(r["accuracy"]), r["run"]) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        assert int(r["tn"]) + int(r["fp"]) + int(r["fn"]) + int(r["tp"]) == int(r["examples"]) == 60
        assert 0 <= float(r["auc"]) <= 1 and float(r["reviews_per_s"]) > 0 and float(r["latency_ms"]) > 0
        assert int(r["model_bytes"]) == os.path.getsize(os.path.join(r["run_dir"], runs.MODEL))
        metrics = runs.read_json(os.path.join(r["run_dir"], runs.METRICS))
        assert int(r["params"]) == metrics["params"]["total"]
        assert int(r["non_embedding"]) == metrics["params"]["non_embedding"]
        # Same model, same test split: the accuracy train.py reported.
        assert float(r["accuracy"]) == pytest.approx(metrics["test_accuracy"], abs=1e-6)
        assert float(r["fit_s_per_epoch"]) == pytest.approx(metrics["fit_seconds_per_epoch_median"])
    by_variant = {r["variant"]: r for r in rows}
    assert by_variant["baseline"]["layers"] == "0" and by_variant["attention"]["layers"] == "2"

    table = out[out.index("Test split") :].splitlines()
    assert table[1].split()[0] == "run" and len(table) >= 4
    assert [line.split()[0] for line in table[3:5]] == [r["run"] for r in rows]

    report = json.loads(js.read_text())
    assert report["split"] == "test" and report["errors"] == []
    assert [r["run"] for r in report["rows"]] == [r["run"] for r in rows]
    md_lines = md.read_text().splitlines()
    assert len(md_lines) == 4 and md_lines[0].startswith("| run | variant |")

    for name in ("validation_accuracy.png", "accuracy_vs_params.png"):
        path = plots / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        image = matplotlib.image.imread(str(path))
        assert image.shape[0] > 100 and image.shape[1] > 100
    assert not [f for f in os.listdir(plots) if f.startswith(".tmp-")]

    # Each run keeps its results, keyed by split; a second report reuses them.
    stamps = {}
    for run in fresh_runs:
        stored = runs.read_json(os.path.join(run, EVALUATION))
        assert list(stored) == ["test"]
        assert stored["test"]["metrics"]["confusion_matrix"]
        stamps[run] = os.stat(os.path.join(run, EVALUATION)).st_mtime_ns
    code, out, _ = run_cli(capsys, *fresh_runs, "--data", tiny_aclimdb)
    assert code == 0 and out.count("cached test results") == 2
    assert len(count_evaluations) == 2
    assert all(os.stat(os.path.join(run, EVALUATION)).st_mtime_ns == stamps[run] for run in fresh_runs)

    # --force re-evaluates; another split is stored beside the first.
    code, out, _ = run_cli(capsys, fresh_runs[0], "--data", tiny_aclimdb, "--force")
    assert code == 0 and "cached" not in out and len(count_evaluations) == 3
    code, out, _ = run_cli(capsys, fresh_runs[0], "--data", tiny_aclimdb, "--split", "validation")
    assert code == 0 and "Validation split" in out and len(count_evaluations) == 4
    stored = runs.read_json(os.path.join(fresh_runs[0], EVALUATION))
    assert set(stored) == {"test", "validation"} and stored["validation"]["metrics"]["examples"] == 40


def test_cache_is_dropped_when_the_model_changes(fresh_runs, tiny_aclimdb, capsys, count_evaluations):
    run = fresh_runs[0]
    assert run_cli(capsys, run, "--data", tiny_aclimdb)[0] == 0
    model = os.path.join(run, runs.MODEL)
    stat = os.stat(model)
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # as if retrained/resumed
    code, out, _ = run_cli(capsys, run, "--data", tiny_aclimdb)
    assert code == 0 and "cached" not in out and len(count_evaluations) == 2


def test_bad_runs_are_reported_and_the_rest_still_evaluated(fresh_runs, tiny_aclimdb, tmp_path, capsys):
    good = fresh_runs[0]
    not_a_run = tmp_path / "not_a_run"
    not_a_run.mkdir()
    bad_vocab, bad_model, no_split = (str(tmp_path / n) for n in ("bad_vocab", "bad_model", "no_split"))
    for dest in (bad_vocab, bad_model, no_split):
        shutil.copytree(good, dest)
    vocab = runs.load_vocabulary(os.path.join(bad_vocab, runs.VOCAB))
    vocab[5] = "notaword"
    runs.save_vocabulary(os.path.join(bad_vocab, runs.VOCAB), vocab)
    with open(os.path.join(bad_model, runs.MODEL), "wb") as f:
        f.write(b"not a keras zip")
    config_path = os.path.join(no_split, runs.CONFIG)
    with open(config_path) as f:
        text = f.read()
    with open(config_path, "w") as f:
        f.write(text.replace("test_limit: null", "test_limit: 0"))

    json_path = tmp_path / "r.json"
    code, out, err = run_cli(
        capsys,
        not_a_run,
        good,
        bad_vocab,
        bad_model,
        no_split,
        tmp_path / "missing",
        "--data",
        tiny_aclimdb,
        "--json",
        json_path,
    )
    assert code == 1
    lines = err.strip().splitlines()
    expected = {
        str(not_a_run): "not a finished textattn run",
        bad_vocab: "vocabulary does not match its model",
        bad_model: "could not load",
        no_split: "no test split",
        str(tmp_path / "missing"): "does not exist",
    }
    assert len(lines) == len(expected)
    for run, what in expected.items():
        [line] = [line for line in lines if line.startswith(f"error: {run}: ")]
        assert what in line
    title, header, rule, *rest = out[out.index("Test split") :].splitlines()
    assert rest[0].startswith(os.path.basename(good)) and not rest[1].strip()  # one row, then the next section
    report = json.loads(json_path.read_text())
    assert len(report["rows"]) == 1 and len(report["errors"]) == 5


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give at least one RUN_DIR"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--params-only"], "--params-only needs --configs"),
        (["--configs", "configs/seed_mha.yaml"], "--configs is only used with --params-only"),
        (["runs/x", "--latency-calls", "0"], "--latency-calls must be at least 1"),
    ],
)
def test_cli_misuse_exits_2(args, message, capsys):
    try:
        code = evaluate_cli.main(args)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "error: " in err and message in err


@pytest.mark.slow
def test_params_only_on_the_reference_configs():
    configs = [
        f"configs/{name}.yaml" for name in ("seed_attention", "seed_mha", "seed_transformer", "seed_transformer_pos")
    ]
    proc = subprocess.run(
        [sys.executable, "evaluate.py", "--params-only", "--configs", *configs],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()[2:]
    totals = {line.split()[0]: line.split()[2] for line in lines}
    assert totals == {
        "seed_attention": "160,036",
        "seed_mha": "160,630",
        "seed_transformer": "164,386",
        "seed_transformer_pos": "168,482",
    }
    assert all(line.split()[2] == line.split()[3] for line in lines)  # all trainable
    assert lines[0].split()[1] == "attention" and lines[0].split()[4] == "36"


def test_params_only_bad_config_is_a_one_line_error(tmp_path, capsys):
    assert evaluate_cli.main(["--params-only", "--configs", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: config file") and len(err.splitlines()) == 1
