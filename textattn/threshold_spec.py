"""``train.threshold`` as written in a config: the decision rule's name and its target, parsed and checked.

The rules themselves (fitting, deciding, serving) are in textattn/thresholds.py; this part is what the
config checks, so it imports nothing of the project beyond its errors.
"""

from __future__ import annotations

import dataclasses

from textattn.errors import UserError

ARGMAX = "argmax"
MACRO_F1 = "macro_f1"
PRECISION = "precision"


@dataclasses.dataclass(frozen=True)
class ThresholdSpec:
    """A parsed ``train.threshold``."""

    rule: str
    precision: float | None = None


def parse_spec(text: str) -> ThresholdSpec:
    """``argmax``, ``macro_f1`` or ``precision=P`` (0 < P <= 1) as a ThresholdSpec; anything else raises UserError."""
    text = str(text).strip()
    if text in (ARGMAX, MACRO_F1):
        return ThresholdSpec(text)
    name, sep, value = text.partition("=")
    if sep and name.strip() == PRECISION:
        try:
            target = float(value)
        except ValueError:
            target = None
        if target is not None and 0.0 < target <= 1.0:
            return ThresholdSpec(PRECISION, target)
    raise UserError(
        f"train.threshold must be argmax, macro_f1 or precision=P with 0 < P <= 1 (e.g. precision=0.95), got {text!r}"
    )
