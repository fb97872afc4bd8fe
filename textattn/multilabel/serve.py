"""The serving computation of a multi-label run: raw texts (batch,) -> the set of labels and their probabilities.

Outputs, for a run of L labels (metadata.json ``class_names``; column l is label l)::

    labels         string  (batch, L)  the predicted labels' names, most probable first, "" after them
    predicted      bool    (batch, L)  label l is predicted: its probability is at least its threshold
    probabilities  float32 (batch, L)  each label's own sigmoid probability (they need not sum to 1)
    label_count    int32   (batch,)    how many labels are predicted (the non-empty entries of ``labels``)
    known_tokens   int32   (batch,)    in-vocabulary words in the kept window

The thresholds (fitted on validation, thresholds.json) are constants of the
computation. With no evidence (known_tokens 0) no label is predicted; the
probabilities are still the model's. Plain TensorFlow reads it::

    out = tf.saved_model.load(EXPORT).serve(tf.constant(["a long and wonderful film"]))
    [[n.decode() for n in row if n] for row in out["labels"].numpy()]
"""

from __future__ import annotations

from textattn import serving_parts

LABELS, PREDICTED, LABEL_COUNT = "labels", "predicted", "label_count"


def make_multi_label_serve(model, parts: serving_parts.ServingParts, call_model=None):
    """texts string (batch,) -> the outputs above. ``model``: token ids (batch, length) -> (batch, L) sigmoids;
    ``call_model`` as in ``textattn.serving.make_serve``."""
    import tensorflow as tf

    from textattn.data.text import truncate_and_pad

    call_model = call_model or (lambda inputs: model(inputs, training=False))
    config = parts.config
    sequence_length, keep = config.data.sequence_length, config.data.keep
    empty_review = serving_parts.empty_review_ids(sequence_length)
    names = tf.constant(list(parts.class_names))
    thresholds = tf.constant(parts.label_thresholds, tf.float32)

    def serve(texts):
        ids = truncate_and_pad(parts.vectorizer(serving_parts.valid_utf8(texts)), sequence_length, keep)
        known = tf.reduce_sum(tf.cast(ids > serving_parts.OOV_ID, tf.int32), axis=1)
        probabilities = tf.cast(call_model(serving_parts.model_token_ids(ids, empty_review)), tf.float32)
        predicted = tf.logical_and(probabilities >= thresholds[None, :], (known > 0)[:, None])
        # Predicted labels first, by probability; the others (scored -1) after them, blanked.
        order = tf.argsort(tf.where(predicted, probabilities, -1.0), axis=1, direction="DESCENDING", stable=True)
        labels = tf.where(tf.gather(predicted, order, batch_dims=1), tf.gather(names, order), "")
        return {
            LABELS: labels,
            PREDICTED: predicted,
            serving_parts.PROBABILITIES: probabilities,
            LABEL_COUNT: tf.reduce_sum(tf.cast(predicted, tf.int32), axis=1),
            serving_parts.KNOWN_TOKENS: known,
        }

    return serve


def metadata(parts: serving_parts.ServingParts, metrics: dict) -> dict:
    """What metadata.json says of a multi-label export, beyond what every export says."""
    return {
        "multi_label": True,
        "thresholds": {name: float(t) for name, t in zip(parts.class_names, parts.label_thresholds)},
        "known_tokens": "in-vocabulary words in the kept window; 0 means no evidence: no label predicted",
        "no_evidence": {"labels": [], "probabilities": "the model's"},
        "test_micro_f1": metrics.get("test_micro_f1"),
        "test_macro_f1": metrics.get("test_macro_f1"),
        "test_subset_accuracy": metrics.get("test_subset_accuracy"),
    }
