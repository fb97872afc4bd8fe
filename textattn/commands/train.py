"""``textattn train``: train an IMDB sentiment model from a YAML config.

    textattn train --config configs/seed_attention.yaml --data ../shared/data/aclImdb.tar.gz
    textattn train --config configs/transformer.yaml --set model.transformer.num_heads=4 --epochs 3
    textattn train --config configs/seed_mha.yaml --dry-run
    textattn train --resume runs/seed_mha-20260101-120000

Data: --data PATH (CSV, TSV, JSONL, class folders, aclImdb or tfds:NAME; README, Data), else
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
    parser.add_argument("--dry-run", action="store_true",
                        help="build the model, print its summary and parameter counts, exit")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run from its last finished epoch")
    parser.add_argument("--export", metavar="OUT_DIR", help="export the trained model as a SavedModel to OUT_DIR")


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``train`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser("train", help="train a model from a YAML config and write a run directory",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(handler=handle, interrupted=INTERRUPTED)
    return parser


def handle(args: argparse.Namespace) -> int:
    return run_train(args.config, data=args.data, overrides=args.overrides, epochs=args.epochs,
                     output_dir=args.output_dir, dry_run=args.dry_run, resume=args.resume, export=args.export)


def run_train(config_path: str = DEFAULT_CONFIG, *, data: str | None = None, overrides=(), epochs: int | None = None,
              output_dir: str | None = None, dry_run: bool = False, resume: str | None = None,
              export: str | None = None) -> int:
    """Train ``config_path`` (with ``overrides``, KEY=VALUE strings) or continue the run ``resume``; return the exit status.

    ``dry_run`` only builds the model and prints its parameter counts;
    ``export`` writes the finished run as a SavedModel to that directory.
    """
    from textattn import runs
    from textattn.config import apply_overrides, load_config
    from textattn.data.source import resolve_data

    overrides = list(overrides)
    if epochs is not None:
        overrides.append(f"train.epochs={epochs}")
    if resume:
        if overrides:
            raise UserError("--resume continues a run with its saved config; drop --set/--epochs")
        if not os.path.isfile(os.path.join(resume, runs.CONFIG)):
            raise UserError(f"--resume {resume!r} is not a run directory (no {runs.CONFIG}); "
                            "pass the RUN_DIR of the killed run")
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
    if not resume:
        runs.check_writable_dir(output_dir or "runs")

    from textattn.training import train

    run_dir = train(config, output_dir=output_dir, resume=resume)
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
    print(f"Total params: {params['total']:,}  trainable: {params['trainable']:,}  "
          f"non-embedding: {params['non_embedding']:,}")
    return 0
