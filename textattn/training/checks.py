"""What a run needs of its config and data before it trains: UserError, before anything is written, otherwise."""

from __future__ import annotations

from textattn.config import Config
from textattn.data.streamed import STREAMED_KINDS
from textattn.errors import UserError


def check_validation(config: Config, n_validation: int) -> None:
    """A run chooses its epoch, blend and temperature on validation: UserError when there is none."""
    if n_validation == 0:
        raise UserError(
            f"the validation part of {config.data.path or config.data.source} is empty "
            f"(data.validation_size={config.data.validation_size}, data.validation_fraction="
            f"{config.data.validation_fraction}); a run picks its epoch and calibrates on validation: add "
            "examples, raise data.validation_fraction, or mark validation rows in the split column "
            "(train.final_fit retrains on them afterwards)"
        )


def check_streamed(config: Config) -> None:
    """What a run on streamed data (textattn/data/streamed.py) cannot do yet: UserError before anything is read."""
    if config.data.source in STREAMED_KINDS and config.train.final_fit:
        raise UserError(
            "train.final_fit retrains on train + validation in memory; streamed data "
            f"({config.data.path}) keeps its validation split: --set train.final_fit=false"
        )
