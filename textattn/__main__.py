"""The command line: ``textattn COMMAND ...``, the same as ``python -m textattn COMMAND ...``.

    textattn train [--config CONFIG] [--data PATH] [--set KEY=VALUE ...] [--resume RUN_DIR] [--export OUT_DIR]
    textattn prepare --data PATH --out DIR [--config CONFIG]
    textattn tune [--config configs/tune.yaml] [--data PATH] [--tuner KIND] [--max-trials N]
    textattn evaluate RUN_DIR [...] [--split test|validation] [--markdown|--csv|--json FILE] [--plots DIR]
    textattn export RUN_DIR OUT_DIR [--overwrite]
    textattn predict MODEL [TEXT ...] [--file PATH] [--jsonl] [--output OUT.jsonl] [--shard I/N]
    textattn explain MODEL [TEXT ...] [--file PATH] [--html OUT.html] [--top K] [--jsonl]

``textattn COMMAND --help`` describes each. Every command comes from textattn/commands/.
"""

from __future__ import annotations

import argparse
import sys

from textattn.commands import evaluate, explain, export, predict, prepare, train, tune
from textattn.errors import run_cli
from textattn.quiet import add_verbose_flag, enable_verbose
from textattn.startup import configure_process

# In the order ``textattn --help`` lists them.
COMMANDS = (train, prepare, tune, evaluate, export, predict, explain)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="textattn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        add_verbose_flag(command.add_parser(commands))
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    configure_process()  # before anything imports TensorFlow
    if "--verbose" in argv:  # before the parser is built: that may import TensorFlow
        enable_verbose()
    args = build_parser().parse_args(argv)
    return run_cli(args.handler, args, getattr(args, "interrupted", "interrupted"))


if __name__ == "__main__":
    sys.exit(main())
