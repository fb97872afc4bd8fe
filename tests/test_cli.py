"""The one command line: ``textattn`` (console script), ``python -m textattn``, and the train.py / evaluate.py shims."""

import importlib
import os
import subprocess
import sys

import pytest
import tomllib
from helpers import REPO, load_script

from textattn.__main__ import main

SUBCOMMANDS = ["train", "prepare", "tune", "evaluate", "export", "predict", "explain"]


def listed_commands(help_text: str) -> list[str]:
    """The subcommand names of ``textattn --help``, in order."""
    lines = help_text.splitlines()
    start = lines.index("  COMMAND") + 1
    names = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        names.append(line.split()[0])
    return names


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: textattn ")
    assert listed_commands(out) == SUBCOMMANDS


def test_console_script_is_this_main():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    module, _, attribute = scripts["textattn"].partition(":")
    assert getattr(importlib.import_module(module), attribute) is main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--config", "configs/nope.yaml"], "config file 'configs/nope.yaml' does not exist"),
        (["tune", "--config", "configs/nope.yaml"], "tune config 'configs/nope.yaml' does not exist"),
        (["evaluate"], "give at least one RUN_DIR"),
    ],
)
def test_subcommand_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--config", "configs/nope.yaml"], "config file 'configs/nope.yaml' does not exist"),
        (["--tune", "--config", "configs/nope.yaml"], "tune config 'configs/nope.yaml' does not exist"),
        (
            ["--tune", "--config", "configs/tune.yaml", "--tuner", "hyperband", "--max-trials", "3"],
            "--max-trials does not apply to hyperband",
        ),
    ],
)
def test_train_py_is_textattn_train_and_tune(argv, message, capsys):
    assert load_script("train.py").main(argv) == 2
    assert message in capsys.readouterr().err


def test_train_py_tune_refuses_training_options(capsys):
    with pytest.raises(SystemExit) as exc:
        load_script("train.py").main(["--tune", "--resume", "runs/x"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --resume runs/x" in capsys.readouterr().err


def test_evaluate_py_is_textattn_evaluate(capsys):
    assert load_script("evaluate.py").main(["--params-only"]) == 2
    assert "--params-only needs --configs" in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_textattn_is_the_same_command():
    proc = subprocess.run(
        [sys.executable, "-m", "textattn", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert listed_commands(proc.stdout) == SUBCOMMANDS
