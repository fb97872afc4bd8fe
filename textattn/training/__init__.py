"""Training: one run (``train``) and what a search trial shares with it.

Modules, one stage or concept each:

- ``run``: ``train(config)``, the run's stages in order, returning a ``TrainResult``;
- ``run_dir``: the run's directory (new, named, resumed) and the files it writes;
- ``checks``: what a run needs of its config and data before it trains;
- ``compile``: an untrained, compiled model for a config;
- ``fit``: the fit on the training part (a run's and a trial's), and a run's callbacks;
- ``hybrid``: the n-gram branch, the word branch and their blend (a run's and a trial's);
- ``calibrate``: the temperature fitted on validation;
- ``final_fit``: the refit on train + validation;
- ``scoring``: the test split, once, and metrics.json;
- ``worker``: a data-parallel run's non-chief worker.

Data come from ``textattn.data.run_data``; predictions from ``textattn.inference``.
"""

from textattn.training.run import TrainResult, train
from textattn.training.worker import train_worker

__all__ = ["TrainResult", "train", "train_worker"]
