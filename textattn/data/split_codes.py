"""Which split an example was given in, as an int8 code: what labelled sources, carving and label sets share."""

from __future__ import annotations

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_CODES = {None: TRAIN, "train": TRAIN, "validation": VALIDATION, "test": TEST}
"""A source's split value (None: not given) -> its code."""
