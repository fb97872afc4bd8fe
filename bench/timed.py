"""Run a training script unchanged, with each epoch's wall and CPU seconds recorded.

    python bench/timed.py [--import MODULE[:FUNCTION]] SCRIPT [ARG ...]

Used for both sides of a comparison (the reference script seed_reference.py and
train.py), so both are timed by the same code: one Keras callback is added to
every ``fit`` the script makes, timing each epoch from its begin to its end
(validation included) in wall seconds and in this process's CPU seconds (user
+ system, all threads). After each fit it prints one line,
``{"epoch_seconds": [...], "epoch_cpu_seconds": [...]}``. Nothing else about
the script changes: same model, data, flags and allocator. ``--import MODULE``
imports MODULE (from the script's directory) before Keras, and
``--import MODULE:FUNCTION`` also calls FUNCTION(), as the script would:
``textattn.startup:configure_process`` sets textattn's allocator default
before TensorFlow loads, as train.py does first.

CPU seconds stand up to a loaded machine better than wall seconds: another
job's use of the cores delays this process without adding to its CPU time.
"""

import importlib
import json
import os
import runpy
import sys
import time


def main():
    argv = sys.argv[1:]
    first = None
    if argv[:1] == ["--import"]:
        first, argv = argv[1], argv[2:]
    script, args = os.path.abspath(argv[0]), argv[1:]
    sys.path.insert(0, os.path.dirname(script))  # as running the script itself would
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as both scripts set it, before TensorFlow loads
    if first:
        module, _, function = first.partition(":")
        module = importlib.import_module(module)
        if function:
            getattr(module, function)()
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            self.wall.append(time.perf_counter() - self._start[0])
            self.cpu.append(time.process_time() - self._start[1])

    plain_fit = keras.Model.fit

    def timed_fit(self, *a, callbacks=None, **kw):
        timer = EpochTimes()
        history = plain_fit(self, *a, callbacks=[*(callbacks or []), timer], **kw)
        print(
            json.dumps(
                {
                    "epoch_seconds": [round(s, 3) for s in timer.wall],
                    "epoch_cpu_seconds": [round(s, 3) for s in timer.cpu],
                }
            ),
            flush=True,
        )
        return history

    keras.Model.fit = timed_fit
    sys.argv = [script, *args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
