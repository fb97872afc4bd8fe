"""Model builders: ``build_model(config)`` for every variant registered in textattn/variants.py."""

from textattn.models.build import build_model
from textattn.models.params import count_params

__all__ = ["build_model", "count_params"]
