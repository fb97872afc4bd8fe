"""The training core: a run and a search trial train a hybrid by the same path; evaluation stays apart from it."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib

import pytest
from helpers import tiny_tune_dict

from textattn import runs
from textattn.training import train
from textattn.tuning.hypermodel import OBJECTIVE, TextattnHyperModel
from textattn.tuning.space import config_with, spec_from_dict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_graph_tool():
    spec = importlib.util.spec_from_file_location("import_graph", os.path.join(REPO, "tools", "import_graph.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_package(root: pathlib.Path, files: dict[str, str]) -> None:
    """A package under root/textattn: {path below it: source}, each folder with an empty __init__.py."""
    for path, source in files.items():
        target = root / "textattn" / path
        for folder in [target.parent, *target.parent.parents]:
            if folder == root:
                break
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "__init__.py").touch()
        target.write_text(source)


def test_the_package_has_no_import_cycle_and_evaluation_imports_nothing_of_training():
    tool = import_graph_tool()
    graph = tool.import_graph(pathlib.Path(REPO))
    assert "textattn.training.run" in graph and "textattn.evaluation.run" in graph
    assert tool.cycles(graph) == []
    assert tool.upward_imports(graph) == []
    assert tool.check(graph) == (["cycles: none", "evaluation -> training imports: none"], True)


def test_import_graph_finds_an_upward_import_when_there_is_one(tmp_path):
    tool = import_graph_tool()
    write_package(
        tmp_path, {"training/fit.py": "", "evaluation/run.py": "def f():\n    from textattn.training import fit\n"}
    )
    graph = tool.import_graph(tmp_path)
    assert graph["textattn.evaluation.run"] == {"textattn.training.fit"}
    lines, passed = tool.check(graph)
    assert not passed and lines[1] == "evaluation -> training imports: textattn.evaluation.run -> textattn.training.fit"


def test_import_graph_fails_on_any_cycle_an_import_inside_a_function_included(tmp_path):
    tool = import_graph_tool()
    write_package(
        tmp_path,
        {
            "config.py": "from textattn import variants\n",
            "variants.py": "def body():\n    from textattn.models import bodies\n",
            "models/bodies.py": "from textattn.config import Config\n",
            "serving.py": "import textattn.config\n",
        },
    )
    graph = tool.import_graph(tmp_path)
    assert tool.cycles(graph) == [["textattn.config", "textattn.models.bodies", "textattn.variants"]]
    lines, passed = tool.check(graph)
    assert not passed
    assert lines[0] == "cycles: textattn.config <-> textattn.models.bodies <-> textattn.variants"


@pytest.mark.parametrize("variant", ["hybrid", "ngram"])
def test_a_run_and_a_trial_of_the_same_bag_config_reach_the_same_validation_accuracy(tmp_path, tiny_aclimdb, variant):
    spec = spec_from_dict(tiny_tune_dict(tmp_path, data=tiny_aclimdb, epochs=2, patience=None))
    config = config_with(
        spec.base, {"model.variant": variant, "train.epochs": 2, "train.final_fit": False, "train.calibrate": False}
    )
    trial = TextattnHyperModel(spec, verbose=0).fit_bag_variant(config, verbose=0)

    result = train(config, output_dir=str(tmp_path / "runs"), verbose=0)

    with open(os.path.join(result.run_dir, runs.METRICS)) as f:
        assert json.load(f) == result.metrics
    assert result.metrics["best_val_accuracy"] == pytest.approx(trial[OBJECTIVE], abs=1e-6)
