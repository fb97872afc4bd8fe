"""``textattn tune``: a KerasTuner search over the variants declared in a search-space file.

    textattn tune --config configs/tune.yaml --data aclImdb_v1.tar.gz
    textattn tune --config configs/tune.yaml --tuner bayesian --max-trials 24 --epochs 2

Rerun the same command after a kill to resume the search. With KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set it runs as the chief (a tuner id
containing "chief") or as a worker of a distributed search. ``python train.py --tune``
is the same command.
"""

from __future__ import annotations

import argparse

from textattn.commands.options import add_config_options

DEFAULT_CONFIG = "configs/tune.yaml"


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``tune`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "tune",
        help="search hyperparameters and variants with KerasTuner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_options(
        parser,
        DEFAULT_CONFIG,
        "search-space file (base config, search, tuner)",
        epochs="epochs per trial (default: the file's tuner.epochs)",
    )
    parser.add_argument(
        "--tuner", choices=("hyperband", "bayesian", "random"), help="search algorithm (default: the file's tuner.kind)"
    )
    parser.add_argument("--max-trials", type=int, help="number of trials (default: the file's tuner.max_trials)")
    parser.add_argument("--directory", help="where the search is kept (default: the file's tuner.directory)")
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    from textattn.tuning.search import run_search

    return run_search(
        args.config,
        data=args.data,
        overrides=args.overrides,
        tuner=args.tuner,
        max_trials=args.max_trials,
        epochs=args.epochs,
        directory=args.directory,
    )
