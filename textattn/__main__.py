"""The command line: ``textattn COMMAND ...``, the same as ``python -m textattn COMMAND ...``.

    textattn train [--config CONFIG] [--data PATH] [--set KEY=VALUE ...] [--resume RUN_DIR] [--export OUT_DIR]
    textattn prepare --data PATH --out DIR [--config CONFIG]
    textattn tune [--config configs/tune.yaml] [--data PATH] [--tuner KIND] [--max-trials N]
    textattn evaluate RUN_DIR [...] [--split test|validation] [--markdown|--csv|--json FILE] [--plots DIR]
    textattn export RUN_DIR OUT_DIR [--overwrite]
    textattn predict MODEL [TEXT ...] [--file PATH] [--jsonl] [--output OUT.jsonl] [--shard I/N]
    textattn explain MODEL [TEXT ...] [--file PATH] [--html OUT.html] [--top K] [--jsonl]

``textattn COMMAND --help`` describes each. train, prepare, tune and evaluate come from
textattn/commands/; export, predict and explain are registered here.
"""

from __future__ import annotations

import argparse
import sys

import textattn  # noqa: F401  (quiets TensorFlow's start-up logging)
from textattn.commands import evaluate as evaluate_command
from textattn.commands import prepare as prepare_command
from textattn.commands import train as train_command
from textattn.commands import tune as tune_command
from textattn.errors import run_cli
from textattn.quiet import add_verbose_flag, enable_verbose


def cmd_export(args) -> int:
    from textattn.export import export_run

    out_dir = export_run(args.run_dir, args.out_dir, overwrite=args.overwrite)
    print(f"Exported {args.run_dir} to {out_dir} (SavedModel, endpoints 'serve' and 'explain'; see {out_dir}/metadata.json)")
    return 0


def cmd_predict(args) -> int:
    from textattn.predict import run_predict

    return run_predict(args.model, args.texts, file=args.file, jsonl=args.jsonl, output=args.output,
                       input_format=args.input_format, text_field=args.text_field,
                       include_text=args.include_text, chunk_lines=args.batch_size, shard=args.shard)


def cmd_explain(args) -> int:
    from textattn.explain.command import run_explain

    return run_explain(args.model, args.texts, file=args.file, html=args.html, top=args.top, jsonl=args.jsonl)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textattn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train_command.add_parser(commands)
    prepare_command.add_parser(commands)
    tune_command.add_parser(commands)
    evaluate_command.add_parser(commands)

    export = commands.add_parser(
        "export", help="write a run as a TensorFlow SavedModel that classifies raw text",
        description="Write RUN_DIR's model, vocabulary and text preprocessing as a SavedModel in OUT_DIR. "
                    "Its 'serve' endpoint takes a batch of strings and returns 'label' (the class name), "
                    "'label_id', 'probabilities' (batch, classes), 'known_tokens' and, for two classes, "
                    "'probability' (of the second class); it needs only TensorFlow to load.")
    export.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (runs/NAME-TIMESTAMP)")
    export.add_argument("out_dir", metavar="OUT_DIR", help="directory to create")
    export.add_argument("--overwrite", action="store_true", help="replace OUT_DIR if it holds an earlier export")
    export.set_defaults(handler=cmd_export)

    # Light: building the parser loads no TensorFlow.
    from textattn.review_stream import CHUNK_LINES, INPUT_FORMATS

    predict = commands.add_parser(
        "predict", help="classify reviews with a run directory or an exported SavedModel",
        description="Print the predicted class name and its probability for each review, or write them as "
                    "JSON lines to --output. --file is streamed: read, scored and written --batch-size lines "
                    "at a time, so memory does not grow with its length. With --file or --output a last "
                    "line on stderr gives the reviews scored, the seconds and reviews/s.")
    predict.add_argument("model", metavar="MODEL", help="a run directory or an exported SavedModel directory")
    predict.add_argument("texts", metavar="TEXT", nargs="*", help="review text (quote it)")
    predict.add_argument("--file", metavar="PATH",
                         help="read one review per line from PATH (- for stdin): plain text, or JSON objects "
                              "for a .jsonl/.ndjson file (see --input-format)")
    predict.add_argument("--input-format", choices=INPUT_FORMATS,
                         help="text: each line is a review; jsonl: each line is a JSON object whose "
                              "--text-field holds the review and whose other fields are copied to the output "
                              "(a blank line is an empty review). Default: jsonl for .jsonl/.ndjson, else text")
    predict.add_argument("--text-field", metavar="NAME",
                         help="the JSONL field that holds the review (default: text)")
    predict.add_argument("--jsonl", action="store_true",
                         help='print one JSON object per review: {"text", "label", "label_id", "probability", '
                              '"probabilities", "known_tokens"} (and a JSONL input\'s other fields)')
    predict.add_argument("--output", metavar="OUT.jsonl",
                         help="write one JSON object per input line, in input order, to OUT.jsonl instead of "
                              "printing: the input's fields and the prediction's. Written to a temporary "
                              "file beside it and renamed at the end: a failed or interrupted run leaves "
                              "no OUT.jsonl (and an earlier one as it was)")
    predict.add_argument("--include-text", action="store_true",
                         help="with --output, keep each review's text in its record (left out by default, "
                              "to keep the file small)")
    predict.add_argument("--batch-size", metavar="N", type=int, default=CHUNK_LINES,
                         help=f"reviews read, scored and written at a time (default {CHUNK_LINES})")
    predict.add_argument("--shard", metavar="I/N",
                         help="score only part I of N of --file (0 <= I < N): the lines that begin in its I-th "
                              "N-th by bytes. Run N processes, 0/N to N-1/N, each with its own --output; "
                              "`cat` of those files in order I = 0..N-1 is the whole file's output")
    predict.set_defaults(handler=cmd_predict)

    from textattn.explain.command import DEFAULT_TOP
    from textattn.explain.meaning import help_text

    explain = commands.add_parser(
        "explain", help="show which tokens a model's answer rests on (terminal and HTML)",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=help_text(),
        description="For each review print the label, its probability and known_tokens, the\n"
                    "review with each token shaded by its weight (ANSI colour on a terminal; plain text with\n"
                    "the weights when not a terminal or NO_COLOR is set), and the top-K tokens.")
    explain.add_argument("model", metavar="MODEL", help="a run directory or an exported SavedModel directory")
    explain.add_argument("texts", metavar="TEXT", nargs="*", help="review text (quote it)")
    explain.add_argument("--file", metavar="PATH", help="read one review per line from PATH (- for stdin)")
    explain.add_argument("--html", metavar="OUT.html",
                         help="also write one self-contained HTML page (inline CSS, no scripts) with a block per review")
    explain.add_argument("--top", metavar="K", type=int, default=DEFAULT_TOP,
                         help=f"list the K heaviest tokens (default {DEFAULT_TOP})")
    explain.add_argument("--jsonl", action="store_true",
                         help='print one JSON object per review: {"text", "label", "label_id", "probability", '
                              '"known_tokens", "tokens", "weights", "top", "weights_meaning"[, "ngrams"]}')
    explain.set_defaults(handler=cmd_explain)
    for command in commands.choices.values():
        add_verbose_flag(command)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--verbose" in argv:  # before the parser is built: that may import TensorFlow
        enable_verbose()
    args = build_parser().parse_args(argv)
    return run_cli(args.handler, args, getattr(args, "interrupted", "interrupted"))


if __name__ == "__main__":
    sys.exit(main())
