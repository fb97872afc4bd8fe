"""Evaluate trained runs on the test (or validation) split and compare them in one table.

    python evaluate.py runs/seed_attention-* runs/seed_mha-* --data ../shared/data/aclImdb.tar.gz
    python evaluate.py runs/* --markdown report.md --csv report.csv --json report.json --plots plots/
    python evaluate.py runs/seed_mha-20260101-120000 --split validation --force
    python evaluate.py --params-only --configs configs/seed_attention.yaml configs/seed_mha.yaml
    python evaluate.py runs/fast-* --explain 3 --html explain/    # explanation page per run

Each run's results are cached in RUN_DIR/evaluation.json (per split) and reused
while its model.keras is unchanged; --force re-evaluates. A run that cannot be
evaluated gets one "error: RUN_DIR: ..." line on stderr; the others are still
reported and the exit status is 1.
"""

import argparse
import os
import sys

import textattn  # noqa: F401  (quiets TensorFlow's start-up logging)
from textattn.errors import UserError, run_cli
from textattn.evaluation.speed import LATENCY_CALLS

EXIT_RUN_FAILED = 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories written by train.py")
    parser.add_argument("--data", help="aclImdb directory or .tar.gz (default: the run's data.path, $TEXTATTN_DATA, else TFDS)")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="test: the 25,000 test reviews (default); validation: the run's validation split")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    parser.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    parser.add_argument("--json", metavar="FILE", help="also write the table (and errors) as JSON")
    parser.add_argument("--plots", metavar="DIR", help="write PNG plots (validation curves, accuracy vs parameters)")
    parser.add_argument("--force", action="store_true", help="re-evaluate even where RUN_DIR/evaluation.json has results")
    parser.add_argument("--latency-calls", type=int, default=LATENCY_CALLS, metavar="N",
                        help=f"batch-1 calls whose median is the latency (default: {LATENCY_CALLS})")
    parser.add_argument("--explain", type=int, metavar="N",
                        help="with --html DIR: write DIR/RUN_NAME.html explaining, per class, the N most confident "
                             "correct and the N most confident wrong reviews of the split")
    parser.add_argument("--html", metavar="DIR", help="directory for the --explain pages (created if missing)")
    parser.add_argument("--params-only", action="store_true",
                        help="print parameter counts of --configs (builds the models; no data, no runs)")
    parser.add_argument("--configs", nargs="+", metavar="CONFIG", help="YAML configs for --params-only")
    args = parser.parse_args(argv)
    if args.params_only:
        if not args.configs:
            parser.error("--params-only needs --configs configs/NAME.yaml [...]")
        if args.run_dirs:
            parser.error("--params-only takes --configs, not run directories")
    elif args.configs:
        parser.error("--configs is only used with --params-only")
    elif not args.run_dirs:
        parser.error("give at least one RUN_DIR (or --params-only --configs ...)")
    if args.latency_calls < 1:
        parser.error("--latency-calls must be at least 1")
    if (args.explain is None) != (args.html is None):
        parser.error("--explain N and --html DIR go together")
    if args.explain is not None and args.explain < 1:
        parser.error("--explain must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = (lambda a: params_only(a.configs)) if args.params_only else evaluate
    return run_cli(command, args, "interrupted; finished runs are cached in their evaluation.json")


def params_only(config_paths) -> int:
    from textattn.evaluation.params import format_params, params_rows

    print(format_params(params_rows(config_paths)), end="")
    return 0


def write_outputs(args, rows, errors) -> None:
    from textattn import runs
    from textattn.evaluation import report

    outputs = [(args.markdown, lambda: report.format_markdown(rows)),
               (args.csv, lambda: report.format_csv(rows)),
               (args.json, lambda: report.format_json(rows, args.split, errors))]
    for path, render in outputs:
        if path:
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                raise UserError(f"cannot write {path!r}: directory {parent!r} does not exist")
            runs.write_text_atomic(path, render())
            print(f"Wrote {path}")
    if args.plots and rows:
        from textattn.evaluation.plots import write_plots

        for path in write_plots(rows, args.plots, args.split):
            print(f"Wrote {path}")


def evaluate(args) -> int:
    from textattn.evaluation import report
    from textattn.evaluation.run import evaluate_run

    rows, errors = [], []
    for run_dir in args.run_dirs:
        try:
            result, cached = evaluate_run(run_dir, args.split, args.data, args.force, args.latency_calls)
        except UserError as exc:
            message = str(exc)
        except Exception as exc:  # a broken run must not hide the others' results
            message = f"evaluation failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        else:
            if cached:
                print(f"{run_dir}: cached {args.split} results (evaluation.json; --force re-evaluates)")
            rows.append(report.make_row(run_dir, result))
            continue
        errors.append({"run_dir": run_dir, "error": message})
        print(f"error: {run_dir}: {message}", file=sys.stderr, flush=True)

    rows = report.sort_rows(rows)
    if rows:
        print(f"\n{args.split.capitalize()} split, best accuracy first:")
        print(report.format_terminal(rows), end="", flush=True)
    write_outputs(args, rows, errors)
    if args.explain:
        failed = {e["run_dir"] for e in errors}
        errors += write_explain_pages(args, [run_dir for run_dir in args.run_dirs if run_dir not in failed])
    return EXIT_RUN_FAILED if errors else 0


def write_explain_pages(args, run_dirs) -> list[dict]:
    """One page per run (see textattn.evaluation.explain_pages); returns the runs that failed."""
    from textattn.evaluation.explain_pages import write_explain_page

    errors = []
    for run_dir in run_dirs:
        try:
            print(f"Wrote {write_explain_page(run_dir, args.html, args.explain, args.split, args.data)}", flush=True)
        except UserError as exc:
            message = str(exc)
        except Exception as exc:  # one run's failure must not hide the other pages
            message = f"explain page failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        else:
            continue
        errors.append({"run_dir": run_dir, "error": message})
        print(f"error: {run_dir}: {message}", file=sys.stderr, flush=True)
    return errors


if __name__ == "__main__":
    sys.exit(main())
