import json, os
from textattn import runs

def test_tiny_run_writes_run_dir(tiny_run):
    for name in (runs.CONFIG, runs.VOCAB, runs.MODEL, runs.HISTORY, runs.METRICS):
        assert os.path.isfile(os.path.join(tiny_run, name)), name
    metrics = json.load(open(os.path.join(tiny_run, runs.METRICS)))
    assert metrics["epochs_run"] == 2
