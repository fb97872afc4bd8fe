"""Keras 3's TensorFlow trainer under MultiWorkerMirroredStrategy: two fixes for ``model.fit``.

Both bite only in multi-worker mode (a TF_CONFIG naming more than one task);
MirroredStrategy on one machine is untouched. Checked on Keras 3.15.1 with
TensorFlow 2.21 (pyproject.toml pins ``keras>=3.15,<3.16``):

1. ``TensorFlowTrainer._maybe_symbolic_build`` builds the model from the
   first batch, which it first averages over the workers with
   ``strategy.reduce("MEAN", batch, axis=None)``. MultiWorkerMirroredStrategy
   cannot reduce a nested (inputs, labels) structure and fit fails with
   "Attempt to convert a value (PerReplica:{...}) with an unsupported type".
   The build needs only the batch's shapes and dtypes: this worker's own
   replica's part is used, which needs no collective at all. (No upstream
   issue found for it at the time of writing.)
2. ``reduce_per_replica`` reduces every metric with
   ``strategy.reduce("MEAN", v, axis=0)``; metrics are scalars, so fit fails
   with "Invalid reduction dimension 0 for input with 0 dimensions"
   (keras-team/keras#20585, tensorflow/tensorflow#72388). Here the mean over
   the replicas is taken with ``axis=None``, the reduction that issue proposes;
   it is still a collective, which every worker runs in the same step.

``apply()`` patches the two functions of ``keras.src.backend.tensorflow.trainer``
once, only when they are still there and Keras is a version the fix was tested
on; tests/test_distributed.py fails as soon as Keras changes either function,
so the fix is then re-checked or dropped.
"""

from __future__ import annotations

import inspect
import sys

import keras

TESTED_KERAS = ("3.15.",)
_applied = False


def _trainer_module():
    from keras.src.backend.tensorflow import trainer

    return trainer


def applicable() -> bool:
    """True when Keras is a tested version and has the two functions this module replaces."""
    if not keras.__version__.startswith(TESTED_KERAS):
        return False
    try:
        trainer = _trainer_module()
    except ImportError:
        return False
    return (
        hasattr(trainer, "reduce_per_replica")
        and hasattr(trainer, "_collective_all_reduce_multi_worker")
        and hasattr(getattr(trainer, "TensorFlowTrainer", None), "_maybe_symbolic_build")
    )


def upstream_sources() -> tuple[str, str]:
    """The source of the two functions as Keras ships them (for the test that says when this can go)."""
    trainer = _trainer_module()
    build = getattr(
        trainer.TensorFlowTrainer._maybe_symbolic_build, "__wrapped__", trainer.TensorFlowTrainer._maybe_symbolic_build
    )
    reduce = getattr(trainer.reduce_per_replica, "__wrapped__", trainer.reduce_per_replica)
    return inspect.getsource(build), inspect.getsource(reduce)


def apply() -> bool:
    """Patch Keras' TensorFlow trainer (idempotent); False, with one warning line, when not applicable."""
    global _applied
    if _applied:
        return True
    if not applicable():
        print(
            f"warning: textattn's MultiWorkerMirroredStrategy fixes (textattn/compat/keras_distribute.py) "
            f"were tested on Keras {'/'.join(v + 'x' for v in TESTED_KERAS)}, not {keras.__version__}; "
            "not applied",
            file=sys.stderr,
        )
        return False
    import tensorflow as tf

    trainer = _trainer_module()
    multi_worker = trainer._collective_all_reduce_multi_worker
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def local_part(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and strategy is not None and multi_worker(strategy):
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(lambda v: local_part(strategy, v), next(batches))
                break
            iterator = None
        return original_build(self, iterator=iterator, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction)

    _maybe_symbolic_build.__wrapped__ = original_build
    reduce_per_replica.__wrapped__ = original_reduce
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    _applied = True
    return True
