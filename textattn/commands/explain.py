"""``textattn explain MODEL TEXT... [--file PATH|-] [--html OUT.html] [--top K] [--jsonl]``.

The computation is ``textattn.explain`` (``Explainer``); this module parses the
command and prints or writes what it answers.
"""

from __future__ import annotations

import argparse
import os
import sys

from textattn.atomic_write import write_output_file
from textattn.errors import UserError
from textattn.explain.meaning import help_text  # light: building the parser loads no TensorFlow

DEFAULT_TOP = 5


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``explain`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "explain",
        help="show which tokens a model's answer rests on (terminal and HTML)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=help_text(),
        description="For each review print the label, its probability and known_tokens, the\n"
        "review with each token shaded by its weight (ANSI colour on a terminal; plain text with\n"
        "the weights when not a terminal or NO_COLOR is set), and the top-K tokens.",
    )
    parser.add_argument("model", metavar="MODEL", help="a run directory or an exported SavedModel directory")
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="review text (quote it)")
    parser.add_argument("--file", metavar="PATH", help="read one review per line from PATH (- for stdin)")
    parser.add_argument(
        "--html",
        metavar="OUT.html",
        help="also write one self-contained HTML page (inline CSS, no scripts) with a block per review",
    )
    parser.add_argument(
        "--top", metavar="K", type=int, default=DEFAULT_TOP, help=f"list the K heaviest tokens (default {DEFAULT_TOP})"
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help='print one JSON object per review: {"text", "label", "label_id", "probability", '
        '"known_tokens", "tokens", "weights", "top", "weights_meaning"[, "ngrams"]}',
    )
    parser.set_defaults(handler=handle)
    return parser


def handle(args: argparse.Namespace) -> int:
    return run_explain(args.model, args.texts, file=args.file, html=args.html, top=args.top, jsonl=args.jsonl)


def run_explain(
    model: str,
    texts: list[str],
    file: str | None = None,
    html: str | None = None,
    top: int = DEFAULT_TOP,
    jsonl: bool = False,
    out=None,
) -> int:
    """Print each review's label, probability, shaded tokens and top tokens; optionally write an HTML page."""
    # Here, not at the top: they load TensorFlow, which --help and a wrong argument do without.
    from textattn.explain.explainer import Explainer
    from textattn.explain.html import render_page
    from textattn.explain.terminal import format_jsonl, format_review, use_colour
    from textattn.predict import read_reviews

    out = out or sys.stdout
    if not texts and file is None:
        raise UserError("no reviews given; pass TEXT arguments or --file PATH (--file - reads stdin)")
    if top < 0:
        raise UserError(f"--top must be 0 or more, got {top}")
    reviews = [os.fsencode(t) for t in texts]  # the exact bytes, even of an argument that is not UTF-8
    if file is not None:
        reviews += read_reviews(file)
    explainer = Explainer(model)
    explanations = explainer(reviews)
    if jsonl:
        for e in explanations:
            print(format_jsonl(e, top, explainer.meaning), file=out)
    else:
        colour = use_colour(out)
        print(f"weights: {explainer.meaning}", file=out)
        for e in explanations:
            print(format_review(e, top, colour), file=out)
    if html:
        name = os.path.basename(os.path.normpath(model))
        write_output_file(html, render_page(explanations, f"What {name} reads", explainer.meaning, top=max(top, 10)))
        print(f"Wrote {html}", file=sys.stderr if jsonl else out)
    out.flush()
    return 0
