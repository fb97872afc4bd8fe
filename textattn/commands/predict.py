"""``textattn predict MODEL [TEXT ...] [--file PATH] [--jsonl] [--output OUT.jsonl] [--shard I/N]``.

The scoring itself is ``textattn.predict.run_predict``.
"""

from __future__ import annotations

import argparse

from textattn.review_stream import CHUNK_LINES, INPUT_FORMATS  # light: building the parser loads no TensorFlow


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``predict`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "predict",
        help="classify reviews with a run directory or an exported SavedModel",
        description="Print the predicted class name and its probability for each review, or write them as "
        "JSON lines to --output. --file is streamed: read, scored and written --batch-size lines "
        "at a time, so memory does not grow with its length. With --file or --output a last "
        "line on stderr gives the reviews scored, the seconds and reviews/s.",
    )
    parser.add_argument("model", metavar="MODEL", help="a run directory or an exported SavedModel directory")
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="review text (quote it)")
    parser.add_argument(
        "--file",
        metavar="PATH",
        help="read one review per line from PATH (- for stdin): plain text, or JSON objects "
        "for a .jsonl/.ndjson file (see --input-format)",
    )
    parser.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        help="text: each line is a review; jsonl: each line is a JSON object whose "
        "--text-field holds the review and whose other fields are copied to the output "
        "(a blank line is an empty review). Default: jsonl for .jsonl/.ndjson, else text",
    )
    parser.add_argument("--text-field", metavar="NAME", help="the JSONL field that holds the review (default: text)")
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help='print one JSON object per review: {"text", "label", "label_id", "probability", '
        '"probabilities", "known_tokens"} (and a JSONL input\'s other fields)',
    )
    parser.add_argument(
        "--output",
        metavar="OUT.jsonl",
        help="write one JSON object per input line, in input order, to OUT.jsonl instead of "
        "printing: the input's fields and the prediction's. Written to a temporary "
        "file beside it and renamed at the end: a failed or interrupted run leaves "
        "no OUT.jsonl (and an earlier one as it was)",
    )
    parser.add_argument(
        "--include-text",
        action="store_true",
        help="with --output, keep each review's text in its record (left out by default, to keep the file small)",
    )
    parser.add_argument(
        "--batch-size",
        metavar="N",
        type=int,
        default=CHUNK_LINES,
        help=f"reviews read, scored and written at a time (default {CHUNK_LINES})",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="score only part I of N of --file (0 <= I < N): the lines that begin in its I-th "
        "N-th by bytes. Run N processes, 0/N to N-1/N, each with its own --output; "
        "`cat` of those files in order I = 0..N-1 is the whole file's output",
    )
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    from textattn.predict import run_predict

    return run_predict(
        args.model,
        args.texts,
        file=args.file,
        jsonl=args.jsonl,
        output=args.output,
        input_format=args.input_format,
        text_field=args.text_field,
        include_text=args.include_text,
        chunk_lines=args.batch_size,
        shard=args.shard,
    )
