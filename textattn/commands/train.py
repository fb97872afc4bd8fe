"""``textattn train``: train an IMDB sentiment model from a YAML config.

    textattn train --config configs/seed_attention.yaml --data aclImdb_v1.tar.gz
    textattn train --config configs/transformer.yaml --set model.transformer.num_heads=4 --epochs 3
    textattn train --config configs/seed_mha.yaml --dry-run
    textattn train --resume runs/seed_mha-20260101-120000
    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}' \
      textattn train --config configs/fast.yaml --set train.distribution=multi_worker --run-dir /nfs/runs/fast-1

Several workers (train.distribution: multi_worker, docs/distributed.md) run the same command, each
with its own TF_CONFIG task (TensorFlow) or KERAS_DISTRIBUTION_PROCESS_ID (JAX), and the same
--run-dir on storage every worker sees: the chief writes the run there, the others nothing; after a
worker dies, start them all again with the same command and training continues from the last
finished epoch.

Data: --data PATH (CSV, TSV, JSONL, class folders, aclImdb or tfds:NAME; docs/data.md), else
the config's data.path, else $TEXTATTN_DATA, else TFDS imdb_reviews (needs a network the first time).
``python train.py`` is the same command, and ``python train.py --tune`` is ``textattn tune``.
"""

from __future__ import annotations

import argparse
import os

from textattn.commands.options import add_config_options
from textattn.errors import UserError

DEFAULT_CONFIG = "configs/default.yaml"
INTERRUPTED = "interrupted; continue with --resume RUN_DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, DEFAULT_CONFIG, "YAML config", epochs="shorthand for --set train.epochs=N")
    parser.add_argument("--output-dir", help="parent of the run directory (default: runs/)")
    parser.add_argument(
        "--dry-run", action="store_true", help="build the model, print its summary and parameter counts, exit"
    )
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run from its last finished epoch")
    parser.add_argument(
        "--run-dir",
        metavar="PATH",
        help="write the run to PATH itself instead of a new timestamped directory under "
        "--output-dir; a PATH holding an unfinished run of the same config is continued. "
        "Required with train.distribution=multi_worker: every worker passes the same PATH "
        "(storage they all see); only the chief writes there",
    )
    parser.add_argument("--export", metavar="OUT_DIR", help="export the trained model as a SavedModel to OUT_DIR")


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``train`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "train",
        help="train a model from a YAML config and write a run directory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=handle, interrupted=INTERRUPTED)
    return parser


def handle(args: argparse.Namespace) -> int:
    return run_train(
        args.config,
        data=args.data,
        overrides=args.overrides,
        epochs=args.epochs,
        output_dir=args.output_dir,
        dry_run=args.dry_run,
        resume=args.resume,
        export=args.export,
        run_dir=args.run_dir,
    )


def run_train(
    config_path: str = DEFAULT_CONFIG,
    *,
    data: str | None = None,
    overrides=(),
    epochs: int | None = None,
    output_dir: str | None = None,
    dry_run: bool = False,
    resume: str | None = None,
    export: str | None = None,
    run_dir: str | None = None,
) -> int:
    """Train ``config_path`` (with ``overrides``, KEY=VALUE strings) or continue the run ``resume``; return the exit status.

    ``dry_run`` only builds the model and prints its parameter counts;
    ``export`` writes the finished run as a SavedModel to that directory;
    ``run_dir`` names the run's directory outright (``textattn.training.run_dir.open_run_dir``).
    """
    from textattn import runs
    from textattn.config import apply_overrides, load_config
    from textattn.data.source import resolve_data

    overrides = list(overrides)
    if run_dir and (resume or output_dir):
        raise UserError(
            "--run-dir names the run's directory itself; drop --resume/--output-dir "
            "(a --run-dir holding an unfinished run is continued)"
        )
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    if resume:
        if overrides:
            raise UserError("--resume continues a run with its saved config; drop --set/--epochs")
        if not os.path.isfile(os.path.join(resume, runs.CONFIG)):
            raise UserError(
                f"--resume {resume!r} is not a run directory (no {runs.CONFIG}); pass the RUN_DIR of the killed run"
            )
        config = runs.load_config(resume)
    else:
        config = apply_overrides(load_config(config_path), overrides)

    if dry_run:
        return print_model(config)
    if export:
        from textattn.export import check_export_target

        check_export_target(export)
    # The data source is settled once, here: a wrong --data fails before TensorFlow is even imported.
    config = resolve_data(config, data)
    from textattn.backend import check_variant

    check_variant(config.model.variant)  # before anything is written
    if config.train.distribution == "multi_worker" and not (run_dir or resume):
        raise UserError(
            "train.distribution=multi_worker needs --run-dir PATH, the same on every worker "
            "(storage they all see): the chief writes the run there"
        )
    if config.train.distribution != "none" and export:
        raise UserError(
            "--export with train.distribution: export the finished run afterwards, "
            "with `textattn export RUN_DIR OUT_DIR`"
        )
    if not resume and not run_dir:
        runs.check_writable_dir(output_dir or "runs")

    from textattn import distributed
    from textattn.training import train

    session = distributed.start(config)  # joins the other workers (bounded wait) before anything is written
    if session.is_chief and run_dir:
        runs.check_writable_dir(os.path.dirname(os.path.abspath(run_dir)), "--run-dir's parent")
    run_dir = train(config, output_dir=output_dir, resume=resume, run_dir=run_dir, session=session).run_dir
    if export:
        from textattn.export import export_run

        export_run(run_dir, export)
    return 0


def print_model(config) -> int:
    """Build ``config``'s model, print its summary and parameter counts; no data is read."""
    from textattn.models import build_model, count_params

    model = build_model(config)
    model.summary()
    params = count_params(model)
    print(
        f"Total params: {params['total']:,}  trainable: {params['trainable']:,}  "
        f"non-embedding: {params['non_embedding']:,}"
    )
    return 0
