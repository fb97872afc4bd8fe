"""A data-parallel run's non-chief worker (textattn/distributed.py): it trains along and writes no run."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

import keras

from textattn import runs
from textattn.config import Config
from textattn.data.run_data import load_data
from textattn.models.build import check_head
from textattn.training.checks import check_validation
from textattn.training.compile import compile_model, new_model
from textattn.training.fit import fit_with_run_callbacks


def train_worker(config: Config, session, run_dir: str, verbose) -> str:
    """A data-parallel run's non-chief worker: the chief's data, model and fit, every step a collective.

    It writes only to a temporary directory of its own ($TMPDIR/textattn-NAME-HASH), deleted at the end;
    a restarted worker resumes from the chief's backup in ``run_dir`` (which all
    workers must see, as in TensorFlow's multi-worker tutorial). The stages after
    the fit (calibration, test, metrics.json) are the chief's alone.
    """
    # Named after the run, so that a restarted worker clears what a killed one left behind.
    digest = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:12]
    scratch = os.path.join(tempfile.gettempdir(), f"textattn-{session.name}-{digest}")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    print(
        f"{session.name}: {session.describe()}; the chief writes {run_dir}, this worker only {scratch} "
        "(deleted at the end)",
        flush=True,
    )
    try:
        keras.utils.set_random_seed(config.seed)
        data = load_data(config)
        check_validation(config, data.count("val"))
        check_head(config, data.num_classes)
        with session.scope():
            model = compile_model(new_model(config, data), config, weighted=session.weights_validation)
            history = fit_with_run_callbacks(
                model,
                config,
                data,
                scratch,
                os.path.join(scratch, runs.MODEL),
                verbose,
                session=session,
                shared_dir=run_dir,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{session.name}: training finished ({len(history)} epochs in this session)", flush=True)
    return run_dir
