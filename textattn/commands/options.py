"""Options that ``train`` and ``tune`` share: which config, which data, which overrides."""

from __future__ import annotations

import argparse


def add_config_options(parser: argparse.ArgumentParser, default_config: str, what: str, epochs: str) -> None:
    """--config (``what``, default ``default_config``), --data, --set KEY=VALUE (repeatable), --epochs N (``epochs``)."""
    parser.add_argument("--config", default=default_config, help=f"{what} (default: {default_config})")
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="labelled data: CSV, TSV, JSONL, a folder of class folders, aclImdb (directory "
        "or .tar.gz) or tfds:NAME (default: the config's data.path, $TEXTATTN_DATA, "
        "else TFDS imdb_reviews)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.batch_size=256 (repeatable)",
    )
    parser.add_argument("--epochs", type=int, metavar="N", help=epochs)
