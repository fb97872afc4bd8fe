"""Make KerasTuner's state files survive a kill in the middle of a write.

KerasTuner keeps a search's state in JSON files (``oracle.json``, each
``trial_*/trial.json``, ``tuner*.json``) and writes them all through one
private function (``textattn.compat.keras_tuner``), which overwrites the file in place. A
kill during that write leaves half a JSON document, and rerunning the search
then fails in ``Oracle.reload`` with a JSONDecodeError: the search cannot be
resumed. KerasTuner has no hook for how it writes, so this module swaps that
one function for a version that writes a temporary file beside the target and
renames it over the old one. Remote paths (``gs://`` and the like) are left to
KerasTuner's own writer.
"""

from __future__ import annotations

import functools
import json

from textattn.atomic_write import write_text_atomic
from textattn.compat import keras_tuner as keras_tuner_compat


def atomic_save_json(path, obj) -> str:
    """Write ``obj`` as JSON to ``path`` via a temporary file and a rename; return the JSON text."""
    text = json.dumps(obj)
    write_text_atomic(path, text)
    return text


def install() -> None:
    """Route KerasTuner's JSON state writes for local paths through :func:`atomic_save_json`. Idempotent.

    Where this KerasTuner has no such writer, nothing changes (``textattn.compat.keras_tuner`` warns).
    """
    keras_tuner_save_json = keras_tuner_compat.keras_tuners_save_json()
    if keras_tuner_save_json is None:
        keras_tuner_compat.replace_save_json(None)  # says what is missing, and changes nothing
        return
    if getattr(keras_tuner_save_json, "textattn_atomic", False):
        return

    @functools.wraps(keras_tuner_save_json)  # keeps KerasTuner's writer as save_json.__wrapped__
    def save_json(path, obj):
        if "://" in str(path):
            return keras_tuner_save_json(path, obj)
        return atomic_save_json(path, obj)

    save_json.textattn_atomic = True
    keras_tuner_compat.replace_save_json(save_json)
