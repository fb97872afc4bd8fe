"""``textattn tune`` (or ``python train.py --tune``): run (or resume) a KerasTuner search and report it.

The tuner keeps its state in DIRECTORY/PROJECT (overwrite=False), so rerunning
the same command after a kill resumes: finished trials are kept, the
interrupted one is run again. With KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP
and KERASTUNER_ORACLE_PORT set, the same command runs as KerasTuner's chief
(tuner id ``chief``: serves the oracle, writes the report) or as a worker
(runs trials). The chief hands a silent worker's trial to another after
``tuner.worker_timeout``; a worker gives up on a chief that has not answered
for ``tuner.chief_timeout`` with one error line (``textattn.tuning.oracles``,
``tuners``, ``chief_link``).
"""

from __future__ import annotations

import dataclasses
import os
import sys

import keras_tuner

from textattn.data.source import resolve_data
from textattn.data.source_splits import validation_count
from textattn.errors import UserError
from textattn.training.checks import check_validation
from textattn.tuning import atomic_state, oracles, tuners
from textattn.tuning.chief_link import ChiefGone
from textattn.tuning.hypermodel import OBJECTIVE, TextattnHyperModel
from textattn.tuning.report import BEST_CONFIG, to_markdown, trial_rows, write_best_config, write_results
from textattn.tuning.space import TuneSpec, config_with, load_tune_spec, replace_tuner

DISTRIBUTED_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def role() -> str:
    """'single', 'chief' or 'worker', as KerasTuner reads its environment variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    missing = [name for name in DISTRIBUTED_ENV if not os.environ.get(name)]
    if missing:
        raise UserError(f"a distributed search needs all of {', '.join(DISTRIBUTED_ENV)}; set {', '.join(missing)}")
    # KerasTuner's rule: a tuner id containing "chief" serves the oracle.
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def make_tuner(spec: TuneSpec, hypermodel: TextattnHyperModel, mode: str = "single"):
    """The tuner for ``spec.tuner.kind`` in this process's ``mode`` (``role()``), reloading DIRECTORY/PROJECT if it exists."""
    atomic_state.install()  # before the tuner exists: constructing it may already write state
    t = spec.tuner
    common = dict(
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        seed=spec.base.seed,
        max_consecutive_failed_trials=t.max_consecutive_failed_trials,
        worker_timeout=t.worker_timeout,
        serving=mode == "chief",
    )
    tuner_class = tuners.SearchTuner
    if t.kind == "hyperband":
        oracle = oracles.HyperbandOracle(
            max_epochs=t.epochs, factor=t.hyperband_factor, hyperband_iterations=t.hyperband_iterations, **common
        )
        tuner_class = tuners.HyperbandTuner
    elif t.kind == "bayesian":
        try:
            import scipy.optimize  # noqa: F401
            import sklearn.gaussian_process  # noqa: F401
        except ImportError:
            raise UserError(
                "--tuner bayesian needs scipy and scikit-learn: pip install 'keras-tuner[bayesian]' "
                "(or use --tuner random)"
            ) from None
        oracle = oracles.BayesianOptimizationOracle(max_trials=t.max_trials, **common)
    else:
        oracle = oracles.RandomSearchOracle(max_trials=t.max_trials, **common)
    return tuner_class(
        oracle,
        hypermodel,
        role=mode,
        worker_timeout=t.worker_timeout,
        chief_timeout=t.chief_timeout,
        directory=t.directory,
        project_name=t.project_name,
        overwrite=False,
    )


def run_search(
    config_path: str,
    *,
    data: str | None = None,
    overrides=(),
    tuner: str | None = None,
    max_trials: int | None = None,
    epochs: int | None = None,
    directory: str | None = None,
) -> int:
    """Run (or resume) the search declared in ``config_path``; return the exit status.

    ``overrides`` (KEY=VALUE strings) apply to the file's base config; ``tuner``
    (kind), ``max_trials``, ``epochs`` (per trial) and ``directory`` replace the
    file's tuner settings when given.
    """
    spec = load_tune_spec(config_path, list(overrides))
    spec = replace_tuner(spec, kind=tuner, max_trials=max_trials, epochs=epochs, directory=directory)
    if spec.base.data.multi_label:
        raise UserError(
            "textattn tune searches on validation accuracy, which a multi-label model does not have; "
            "train multi-label configs with textattn train (docs/multi_label.md)"
        )
    if max_trials is not None and spec.tuner.kind == "hyperband":
        raise UserError(
            "--max-trials does not apply to hyperband, which sizes the search from tuner.epochs, "
            "tuner.hyperband_factor and tuner.hyperband_iterations; pick --tuner random or bayesian"
        )
    # The data source is settled once, here: a bad --data fails before the tuner starts.
    spec = dataclasses.replace(spec, base=resolve_data(spec.base, data))
    # Every trial picks its epoch on validation: with none, one line here rather than a failure in each trial.
    check_validation(spec.base, validation_count(spec.base.data, spec.base.seed))
    mode = role()

    hypermodel = TextattnHyperModel(spec)
    tuner = make_tuner(spec, hypermodel, mode)
    t = spec.tuner
    size = "" if t.kind == "hyperband" else f", {t.max_trials} trials"
    print(
        f"Search ({mode}): {t.kind}{size}, up to {t.epochs} epochs per trial, variants "
        f"{', '.join(spec.variants)}; state in {tuner.project_dir}",
        flush=True,
    )
    try:
        tuner.search()
    except ChiefGone as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume the search", file=sys.stderr)
        return 130
    if mode == "worker":
        print(f"Worker {os.environ['KERASTUNER_TUNER_ID']} done; the chief writes the results.", flush=True)
        return 0
    return report(tuner, hypermodel)


def report(tuner, hypermodel: TextattnHyperModel) -> int:
    """Print and write the results table; write the best trial's config. Returns the exit status."""
    spec = hypermodel.spec
    order = [p.key for p in spec.shared] + [p.key for params in spec.variants.values() for p in params]
    rows = trial_rows(tuner.oracle.trials.values(), order)
    md_path, csv_path = write_results(tuner.project_dir, rows)
    print(to_markdown(rows))
    print(f"Results: {md_path}, {csv_path}")
    best = tuner.oracle.get_best_trials(1)
    if not best:
        print("error: no trial finished, so there is no best config; see the trial errors above", file=sys.stderr)
        return 1
    trial = best[0]
    config = hypermodel.config_for(trial.hyperparameters.copy())
    config = config_with(config, {"name": f"{config.name}_best"})  # its data source as the search's
    path = os.path.join(tuner.project_dir, BEST_CONFIG)
    row = next(r for r in rows if r["trial"] == trial.trial_id)
    write_best_config(path, config, row)
    print(f"Best trial {trial.trial_id} ({row['variant']}, {OBJECTIVE} {row[OBJECTIVE]:.4f}); its config: {path}")
    print(f"Retrain it: textattn train --config {path}")
    return 0
