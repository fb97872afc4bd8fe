"""Train an IMDB sentiment model from a YAML config.

    python train.py --config configs/seed_attention.yaml --data ../shared/data/aclImdb.tar.gz
    python train.py --config configs/transformer.yaml --set model.transformer.num_heads=4 --epochs 3
    python train.py --config configs/seed_mha.yaml --dry-run
    python train.py --resume runs/seed_mha-20260101-120000

Data: --data PATH (an aclImdb directory or .tar.gz), else $TEXTATTN_DATA,
else TensorFlow Datasets (needs a network the first time).
"""

import argparse
import sys

import textattn  # noqa: F401  (quiets TensorFlow's start-up logging)
from textattn.config import apply_overrides, load_config
from textattn.errors import UserError, run_cli

DEFAULT_CONFIG = "configs/default.yaml"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"YAML config (default: {DEFAULT_CONFIG})")
    parser.add_argument("--data", help="aclImdb directory or .tar.gz (default: $TEXTATTN_DATA, else TFDS)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. --set train.batch_size=256 (repeatable)")
    parser.add_argument("--epochs", type=int, help="shorthand for --set train.epochs=N")
    parser.add_argument("--output-dir", help="parent of the run directory (default: runs/)")
    parser.add_argument("--dry-run", action="store_true", help="build the model, print its summary and parameter counts, exit")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a killed run from its last finished epoch")
    parser.add_argument("--export", metavar="OUT_DIR", help="export the trained model as a SavedModel to OUT_DIR")
    tune = parser.add_argument_group("hyperparameter search (--tune)")
    tune.add_argument("--tune", action="store_true", help="run a KerasTuner search over the config's search space")
    tune.add_argument("--tuner", choices=("hyperband", "bayesian", "random"), help="search algorithm (default: from the config)")
    tune.add_argument("--max-trials", type=int, help="number of trials (default: from the config)")
    tune.add_argument("--directory", help="tuner directory (default: from the config)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return run_cli(run, parse_args(argv), "interrupted; continue with --resume RUN_DIR")


def run(args) -> int:
    if args.tune:
        # configs/tune.yaml holds a search space, not a single run's config.
        from textattn.tuning.search import run_search

        return run_search(args)
    overrides = list(args.overrides)
    if args.epochs is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if args.resume:
        if overrides:
            raise UserError("--resume continues a run with its saved config; drop --set/--epochs")
        config = None
    else:
        config = apply_overrides(load_config(args.config), overrides)

    if args.dry_run:
        return dry_run(config)
    if args.export:
        from textattn.export import check_export_target

        check_export_target(args.export)
    if config is not None:
        # A wrong --data fails here, before TensorFlow is even imported.
        from textattn.data.pipeline import resolve_source

        resolve_source(config.data, args.data)

    from textattn.training import train

    run_dir = train(config, data_path=args.data, output_dir=args.output_dir, resume=args.resume)
    if args.export:
        from textattn.export import export_run

        export_run(run_dir, args.export)
    return 0


def dry_run(config) -> int:
    from textattn.models import build_model, count_params

    model = build_model(config)
    model.summary()
    params = count_params(model)
    print(f"Total params: {params['total']:,}  trainable: {params['trainable']:,}  "
          f"non-embedding: {params['non_embedding']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
