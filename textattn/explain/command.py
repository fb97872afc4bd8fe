"""``python -m textattn explain MODEL TEXT... [--file PATH|-] [--html OUT.html] [--top K] [--jsonl]``."""

from __future__ import annotations

import os
import sys

from textattn.errors import UserError

DEFAULT_TOP = 5


def write_page(path: str, page: str) -> None:
    from textattn.atomic_write import write_text_atomic

    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UserError(f"cannot write {path!r}: directory {parent!r} does not exist")
    write_text_atomic(path, page)


def run_explain(model: str, texts: list[str], file: str | None = None, html: str | None = None,
                top: int = DEFAULT_TOP, jsonl: bool = False, out=None) -> int:
    """Print each review's label, probability, shaded tokens and top tokens; optionally write an HTML page."""
    from textattn.explain.explainer import Explainer
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
        from textattn.explain.html import render_page

        name = os.path.basename(os.path.normpath(model))
        write_page(html, render_page(explanations, f"What {name} reads", explainer.meaning, top=max(top, 10)))
        print(f"Wrote {html}", file=sys.stderr if jsonl else out)
    out.flush()
    return 0
