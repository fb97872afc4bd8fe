"""``textattn evaluate``: evaluate trained runs on the test (or validation) split and compare them in one table.

    textattn evaluate runs/seed_attention-* runs/seed_mha-* --data aclImdb_v1.tar.gz
    textattn evaluate runs/* --markdown report.md --csv report.csv --json report.json --plots plots/
    textattn evaluate runs/seed_mha-20260101-120000 --split validation --force
    textattn evaluate --params-only --configs configs/seed_attention.yaml configs/seed_mha.yaml
    textattn evaluate runs/fast-* --explain 3 --html explain/    # explanation page per run

Each run's results are cached in RUN_DIR/evaluation.json (per split) and reused
while its model.keras is unchanged; --force re-evaluates. A run that cannot be
evaluated gets one "error: RUN_DIR: ..." line on stderr; the others are still
reported and the exit status is 1. ``python evaluate.py`` is the same command.
"""

from __future__ import annotations

import argparse
import sys

from textattn.atomic_write import write_output_file
from textattn.errors import UserError
from textattn.evaluation.speed import LATENCY_CALLS

EXIT_RUN_FAILED = 1
INTERRUPTED = "interrupted; finished runs are cached in their evaluation.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories written by textattn train")
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="labelled data: CSV, TSV, JSONL, a folder of class folders, aclImdb (directory "
        "or .tar.gz) or tfds:NAME (default: the run's data source)",
    )
    parser.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="test: the run's test split (default); validation: its validation split",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    parser.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    parser.add_argument("--json", metavar="FILE", help="also write the table (and errors) as JSON")
    parser.add_argument(
        "--plots",
        metavar="DIR",
        help="write PNG plots (validation curves, accuracy vs parameters, one confusion matrix per run)",
    )
    parser.add_argument(
        "--force", action="store_true", help="re-evaluate even where RUN_DIR/evaluation.json has results"
    )
    parser.add_argument(
        "--latency-calls",
        type=int,
        default=LATENCY_CALLS,
        metavar="N",
        help=f"batch-1 calls whose median is the latency (default: {LATENCY_CALLS})",
    )
    parser.add_argument(
        "--explain",
        type=int,
        metavar="N",
        help="with --html DIR: write DIR/RUN_NAME.html explaining, per class, the N most confident "
        "correct and the N most confident wrong reviews of the split",
    )
    parser.add_argument("--html", metavar="DIR", help="directory for the --explain pages (created if missing)")
    parser.add_argument(
        "--params-only",
        action="store_true",
        help="print parameter counts of --configs (builds the models; no data, no runs)",
    )
    parser.add_argument("--configs", nargs="+", metavar="CONFIG", help="YAML configs for --params-only")


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``evaluate`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "evaluate",
        help="score runs on the test split and compare them in one table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=handle, interrupted=INTERRUPTED)
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    """Raise UserError for a combination of options that does not make a command."""
    if args.params_only:
        if not args.configs:
            raise UserError("--params-only needs --configs configs/NAME.yaml [...]")
        if args.run_dirs:
            raise UserError("--params-only takes --configs, not run directories")
    elif args.configs:
        raise UserError("--configs is only used with --params-only")
    elif not args.run_dirs:
        raise UserError("give at least one RUN_DIR (or --params-only --configs ...)")
    if args.latency_calls < 1:
        raise UserError("--latency-calls must be at least 1")
    if (args.explain is None) != (args.html is None):
        raise UserError("--explain N and --html DIR go together")
    if args.explain is not None and args.explain < 1:
        raise UserError("--explain must be at least 1")


def handle(args: argparse.Namespace) -> int:
    check_arguments(args)
    if args.params_only:
        return params_only(args.configs)
    return run_evaluate(
        args.run_dirs,
        split=args.split,
        data=args.data,
        force=args.force,
        latency_calls=args.latency_calls,
        markdown=args.markdown,
        csv=args.csv,
        json=args.json,
        plots=args.plots,
        explain=args.explain,
        html=args.html,
    )


def params_only(config_paths: list[str]) -> int:
    """Print each config's parameter counts (builds the models; no data, no training)."""
    from textattn.evaluation.params import format_params, params_rows

    print(format_params(params_rows(config_paths)), end="")
    return 0


def run_evaluate(
    run_dirs: list[str],
    *,
    split: str = "test",
    data: str | None = None,
    force: bool = False,
    latency_calls: int = LATENCY_CALLS,
    markdown: str | None = None,
    csv: str | None = None,
    json: str | None = None,
    plots: str | None = None,
    explain: int | None = None,
    html: str | None = None,
) -> int:
    """Evaluate ``run_dirs`` on ``split``, print one table and write the files asked for; return the exit status.

    With ``explain`` N and ``html`` DIR, each run that could be evaluated also gets an explanation page.
    """
    from textattn.evaluation import report
    from textattn.evaluation.coverage import format_curves, imbalanced
    from textattn.evaluation.run import evaluate_run
    from textattn.multilabel.evaluate import evaluate_multi_label, is_multi_label_run
    from textattn.multilabel.metrics import format_table

    rows, errors = [], []
    for run_dir in run_dirs:
        try:
            if is_multi_label_run(run_dir):  # its own table: per-label F1, not one accuracy
                print(
                    f"\n{run_dir} ({split} split, multi-label):\n"
                    + format_table(evaluate_multi_label(run_dir, split, data)),
                    flush=True,
                )
                continue
            result, cached = evaluate_run(run_dir, split, data, force, latency_calls)
        except UserError as exc:
            message = str(exc)
        except Exception as exc:  # a broken run must not hide the others' results
            message = f"evaluation failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        else:
            if cached:
                print(f"{run_dir}: cached {split} results (evaluation.json; --force re-evaluates)")
            rows.append(report.make_row(run_dir, result))
            continue
        errors.append({"run_dir": run_dir, "error": message})
        print(f"error: {run_dir}: {message}", file=sys.stderr, flush=True)

    rows = report.sort_rows(rows)
    # Two balanced classes: the main table's columns say it all; imbalanced ones get per-class recall up front.
    many_classes = [row for row in rows if row["classes"] > 2 or imbalanced(row)]
    if rows:
        print(f"\n{split.capitalize()} split, best accuracy first:")
        print(report.format_terminal(rows), end="", flush=True)
        if many_classes:
            print(f"\nPer class ({split} split):\n" + report.format_per_class(many_classes), end="", flush=True)
        if format_curves(rows):
            print(
                f"\nDecision rule and coverage ({split} split; accuracy on the surest share):\n" + format_curves(rows),
                end="",
                flush=True,
            )
    outputs = [
        (
            markdown,
            lambda: (
                report.format_markdown(rows)
                + ("\n" + report.format_per_class(many_classes, markdown=True) if many_classes else "")
            ),
        ),
        (csv, lambda: report.format_csv(rows)),
        (json, lambda: report.format_json(rows, split, errors)),
    ]
    write_outputs(outputs)
    if plots and rows:
        from textattn.evaluation.coverage_plot import plot_coverage
        from textattn.evaluation.plots import write_plots

        for path in write_plots(rows, plots, split) + [p for p in [plot_coverage(rows, plots, split)] if p]:
            print(f"Wrote {path}")
    if explain:
        failed = {e["run_dir"] for e in errors}
        errors += write_explain_pages(
            [run_dir for run_dir in run_dirs if run_dir not in failed], html, explain, split, data
        )
    return EXIT_RUN_FAILED if errors else 0


def write_explain_pages(run_dirs: list[str], html: str, n: int, split: str, data: str | None) -> list[dict]:
    """One page per run (see textattn.evaluation.explain_pages); returns the runs that failed."""
    from textattn.evaluation.explain_pages import write_explain_page
    from textattn.multilabel.evaluate import is_multi_label_run

    errors = []
    for run_dir in run_dirs:
        try:
            if is_multi_label_run(run_dir):
                raise UserError(
                    "--explain pages pick right and wrong answers per class, which a multi-label run "
                    "does not give; explain its reviews with textattn explain RUN_DIR TEXT..."
                )
            print(f"Wrote {write_explain_page(run_dir, html, n, split, data)}", flush=True)
        except UserError as exc:
            message = str(exc)
        except Exception as exc:  # one run's failure must not hide the other pages
            message = (
                f"explain page failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
            )
        else:
            continue
        errors.append({"run_dir": run_dir, "error": message})
        print(f"error: {run_dir}: {message}", file=sys.stderr, flush=True)
    return errors


def write_outputs(outputs) -> None:
    """Write each (path, render) whose path is given: ``render()`` is the file's text."""
    for path, render in outputs:
        if path:
            write_output_file(path, render())
            print(f"Wrote {path}")
