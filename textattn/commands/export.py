"""``textattn export RUN_DIR OUT_DIR [--overwrite]``: write a run as a SavedModel (``textattn.export``)."""

from __future__ import annotations

import argparse


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``export`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "export",
        help="write a run as a TensorFlow SavedModel that classifies raw text",
        description="Write RUN_DIR's model, vocabulary and text preprocessing as a SavedModel in OUT_DIR. "
        "Its 'serve' endpoint takes a batch of strings and returns 'label' (the class name), "
        "'label_id', 'probabilities' (batch, classes), 'known_tokens' and, for two classes, "
        "'probability' (of the second class); it needs only TensorFlow to load.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (runs/NAME-TIMESTAMP)")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="directory to create")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it holds an earlier export")
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    from textattn.export import export_run

    out_dir = export_run(args.run_dir, args.out_dir, overwrite=args.overwrite)
    print(
        f"Exported {args.run_dir} to {out_dir} (SavedModel, endpoints 'serve' and 'explain'; see {out_dir}/metadata.json)"
    )
    return 0
