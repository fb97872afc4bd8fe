"""``textattn prepare``: write labelled data as TFRecord shards that training streams.

    textattn prepare --data 'tickets/part-*.jsonl' --out prepared/tickets
    textattn prepare --data reviews.csv --out prepared/reviews --config configs/fast.yaml
    textattn train --config configs/fast.yaml --data prepared/tickets

The output directory (textattn/data/corpus.py) holds the examples split into
train, validation and test shards, a manifest.json, and with --config the
vocabularies that config trains with, fitted once on the training split: every
worker of a run on several machines then builds the same model from the same
files. CSV, TSV and JSONL inputs are read a line at a time, so memory does not
grow with the data; other sources (aclImdb, class folders, tfds:NAME) are read
whole and keep the splits a run makes of them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

from textattn.errors import UserError


def add_parser(commands) -> argparse.ArgumentParser:
    """Register ``prepare`` on ``commands`` (the parser's subparsers)."""
    parser = commands.add_parser(
        "prepare",
        help="write labelled data as TFRecord shards for streamed training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        required=True,
        help="CSV, TSV or JSONL file, a quoted glob of them ('part-*.jsonl'), class folders, "
        "aclImdb (directory or .tar.gz) or tfds:NAME",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="directory to create")
    parser.add_argument(
        "--config",
        help="also fit this config's vocabularies on the training split "
        "(its data.* settings and seed decide the splits too)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set data.validation_fraction=0.05 (repeatable)",
    )
    parser.add_argument(
        "--shard-examples", type=int, default=None, metavar="N", help="examples per shard file (default 100,000)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace DIR if it holds an earlier prepare")
    parser.set_defaults(handler=handle, interrupted="interrupted; nothing was written")
    return parser


def handle(args: argparse.Namespace) -> int:
    return run_prepare(
        args.data,
        args.out,
        config_path=args.config,
        overrides=args.overrides,
        shard_examples=args.shard_examples,
        overwrite=args.overwrite,
    )


def run_prepare(
    data: str,
    out: str,
    *,
    config_path: str | None = None,
    overrides=(),
    shard_examples: int | None = None,
    overwrite: bool = False,
) -> int:
    """Write ``data`` as a prepared directory ``out``; return the exit status."""
    from textattn.config import Config, apply_overrides, load_config
    from textattn.data import corpus
    from textattn.data.source import resolve_data

    if shard_examples is not None and shard_examples < 1:
        raise UserError(f"--shard-examples must be at least 1, got {shard_examples}")
    config = apply_overrides(load_config(config_path) if config_path else Config(), list(overrides))
    if config.data.multi_label:
        raise UserError(
            "textattn prepare writes single-label shards; train on the multi-label file itself "
            "(--data FILE --set data.multi_label=true)"
        )
    if os.path.exists(out) and not (overwrite and corpus.is_prepared(out)):
        hint = "pass --overwrite to replace it" if corpus.is_prepared(out) else "choose a new --out"
        raise UserError(f"{out!r} exists; {hint}")
    config = resolve_data(config, data)
    if config.data.source == "prepared":
        raise UserError(f"{data!r} is prepared already; train on it with --data {data}")

    from textattn.data import streamed

    finalize = None
    if config_path:

        def finalize(tmp, manifest):
            print(
                f"Fitting {config.name}'s vocabularies on {manifest.counts['train']:,} training examples...", flush=True
            )
            streamed.write_vocabularies(os.path.join(tmp, corpus.VOCABULARIES), manifest, config)

    start = time.perf_counter()
    target = out if not os.path.exists(out) else f"{out.rstrip(os.sep)}.new-{os.getpid()}"
    manifest = streamed.prepare_source(
        config.data, config.seed, target, shard_examples or corpus.DEFAULT_SHARD_EXAMPLES, finalize
    )
    if target != out:  # --overwrite: the old directory goes only once the new one is complete
        aside = f"{out.rstrip(os.sep)}.old-{os.getpid()}"
        os.rename(out, aside)
        os.rename(target, out)
        shutil.rmtree(aside, ignore_errors=True)
        manifest = corpus.read_manifest(out)
    for note in manifest.notes:
        print(f"warning: {note}", flush=True)
    counts = ", ".join(f"{manifest.counts[s]:,} {s}" for s in corpus.SPLITS)
    files = sum(len(manifest.files[s]) for s in corpus.SPLITS)
    print(
        f"Prepared {out}: {counts} examples of {len(manifest.class_names)} classes in {files} shard(s), "
        f"{time.perf_counter() - start:.1f}s",
        flush=True,
    )
    return 0
