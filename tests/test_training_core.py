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


def test_evaluation_imports_nothing_of_training_and_the_core_is_in_no_cycle():
    tool = import_graph_tool()
    names = tool.module_names(pathlib.Path(REPO))
    graph = {name: tool.imported(name, path, set(names)) for name, path in names.items()}
    assert "textattn.training.run" in graph and "textattn.evaluation.run" in graph
    upward = {(name, target) for name, targets in graph.items() if name.startswith("textattn.evaluation")
              for target in targets if target.startswith("textattn.training")}
    assert upward == set()
    core = [c for c in tool.cycles(graph) if any(m.startswith(tool.CORE) for m in c)]
    assert core == []


def test_import_graph_finds_an_upward_import_when_there_is_one(tmp_path):
    tool = import_graph_tool()
    (tmp_path / "textattn" / "evaluation").mkdir(parents=True)
    (tmp_path / "textattn" / "training").mkdir()
    for path in ("__init__.py", "evaluation/__init__.py", "training/__init__.py", "training/fit.py"):
        (tmp_path / "textattn" / path).write_text("")
    (tmp_path / "textattn" / "evaluation" / "run.py").write_text("def f():\n    from textattn.training import fit\n")
    names = tool.module_names(tmp_path)
    assert tool.imported("textattn.evaluation.run", names["textattn.evaluation.run"], set(names)) == \
        {"textattn.training.fit"}


@pytest.mark.parametrize("variant", ["hybrid", "ngram"])
def test_a_run_and_a_trial_of_the_same_bag_config_reach_the_same_validation_accuracy(tmp_path, tiny_aclimdb,
                                                                                      variant):
    spec = spec_from_dict(tiny_tune_dict(tmp_path, data=tiny_aclimdb, epochs=2, patience=None))
    config = config_with(spec.base, {"model.variant": variant, "train.epochs": 2, "train.final_fit": False,
                                     "train.calibrate": False})
    trial = TextattnHyperModel(spec, verbose=0).fit_bag_variant(config, verbose=0)

    result = train(config, output_dir=str(tmp_path / "runs"), verbose=0)

    with open(os.path.join(result.run_dir, runs.METRICS)) as f:
        assert json.load(f) == result.metrics
    assert result.metrics["best_val_accuracy"] == pytest.approx(trial[OBJECTIVE], abs=1e-6)
