"""Model builders: ``build_model(config)`` for every registered variant."""

from textattn.models import bodies  # noqa: F401  (registers the variants)
from textattn.models.params import count_params
from textattn.models.registry import build_model, variants

__all__ = ["build_model", "count_params", "variants"]
