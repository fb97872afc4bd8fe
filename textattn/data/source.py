"""Where the reviews come from: chosen once per command, then carried by the config.

``resolve_data`` settles ``config.data``: ``source: local`` with the absolute
``path`` of an aclImdb copy, or ``source: tfds``. Everything after it (the
pipeline, a run's saved config.yaml, a resumed run, ``evaluate``) reads the
settled config and never looks at --data or $TEXTATTN_DATA again.
"""

from __future__ import annotations

import dataclasses
import os

from textattn.config import Config, DataConfig
from textattn.data import aclimdb, tfds_source
from textattn.errors import UserError

DATA_ENV = "TEXTATTN_DATA"


@dataclasses.dataclass(frozen=True)
class Source:
    kind: str  # "local" or "tfds"
    path: str | None = None

    def fingerprint(self) -> str:
        return aclimdb.fingerprint(self.path) if self.kind == "local" else tfds_source.fingerprint()

    def describe(self) -> str:
        return self.path if self.kind == "local" else f"tfds:{tfds_source.TFDS_NAME}"


def resolve_data(config: Config, cli_path: str | None = None) -> Config:
    """``config`` with its data source settled; a wrong path raises UserError.

    A local copy, in this order: ``cli_path`` (--data), the config's
    ``data.path`` (unless ``data.source`` is tfds), $TEXTATTN_DATA; TFDS when
    none is given (an error with ``data.source: local``).
    """
    data = config.data
    path = cli_path or (None if data.source == "tfds" else data.path or os.environ.get(DATA_ENV) or None)
    if path:
        aclimdb.check_path(path)
        settled = dataclasses.replace(data, source="local", path=os.path.abspath(path))
    elif data.source == "local":
        raise UserError(f"data.source is 'local' but no path was given; pass --data PATH or set {DATA_ENV}")
    else:
        settled = dataclasses.replace(data, source="tfds", path=None)
    return dataclasses.replace(config, data=settled)


def source_of(data: DataConfig) -> Source:
    """The Source of a settled data config (see ``resolve_data``)."""
    if data.source == "local" and data.path:
        return Source("local", data.path)
    if data.source == "tfds":
        return Source("tfds")
    raise ValueError(f"data source not settled (source {data.source!r}, path {data.path!r}); "
                     "pass the config through resolve_data first")
