"""The serving computation: raw review text in, class probabilities and names out.

``make_serve`` builds it from a run's parts (``ServingParts``: config, vectorizers
with the run's vocabularies, temperature, class names); ``serving_function`` is
it as an in-process tf.function for a run directory, and ``textattn.export``
writes the same function into a SavedModel as its ``serve`` endpoint (the
export's docstring lists the outputs). ``open_model_path`` says what a MODEL
argument of predict and explain is: a run directory or an export.

TensorFlow is imported inside the functions, not here: ``predict`` (and
``train --export``, through ``textattn.export``) check their arguments before
any model is loaded, and a wrong path fails at once instead of after
TensorFlow's import.
"""

from __future__ import annotations

import os

import numpy as np

from textattn import backend, runs, thresholds, variants
from textattn.errors import UserError
from textattn.multilabel.serve import make_multi_label_serve

# Shared with textattn/multilabel/serve.py (textattn/serving_parts.py); callers name them serving.X too.
from textattn.serving_parts import (
    INPUT,
    KNOWN_TOKENS,
    OOV_ID,
    PROBABILITIES,
    ServingParts,
    empty_review_ids,
    model_token_ids,
    valid_utf8,
)

SERVE = "serve"
EXPLAIN = "explain"  # texts -> tokens, weights and serve's outputs (see textattn.explain.endpoint)
PROBABILITY = "probability"  # two-class models only: the second class's probability
LABEL = "label"
LABEL_ID = "label_id"
METADATA = "metadata.json"
SAVED_MODEL = "saved_model.pb"
# The answer without evidence: no class.
NO_LABEL_ID = -1
NO_LABEL = "unknown"
HALVED_BATCH = 256
"""``serve`` answers a batch of at least this many texts as two halves that run in parallel."""


def is_export_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, SAVED_MODEL))


def open_model_path(path: str):
    """What MODEL (of predict and explain) is: ("export", the loaded SavedModel) or ("run", None).

    Raises UserError, in one line, for a missing path, a file, a SavedModel that
    does not load, or a directory that is neither a run nor an export. Keep the
    loaded object referenced: its endpoints alone do not keep the variables alive.
    """
    import tensorflow as tf

    if not os.path.isdir(path):
        problem = "is not a directory" if os.path.exists(path) else "does not exist"
        raise UserError(
            f"model {path!r} {problem}; pass a run directory (runs/NAME-TIMESTAMP) "
            "or a directory written by `python -m textattn export`"
        )
    if is_export_dir(path):
        try:
            return "export", tf.saved_model.load(path)
        except Exception as exc:
            raise UserError(f"could not load the SavedModel in {path!r} ({type(exc).__name__}); re-export it") from None
    if runs.is_run_dir(path):
        return "run", None
    raise UserError(
        f"{path!r} is neither a run directory (config.yaml, model.keras) nor an exported "
        f"SavedModel ({SAVED_MODEL}); pass one of those"
    )


def export_endpoint(loaded, path: str, name: str, hint: str):
    """The endpoint ``name`` of the SavedModel ``loaded`` from ``path``; UserError, ending in ``hint``, when it
    has none."""
    function = getattr(loaded, name, None)
    if function is None:
        raise UserError(f"the SavedModel in {path!r} has no '{name}' endpoint{hint}")
    return function


def input_signature():
    """The serving input: one raw review per row, shape (batch,), tf.string."""
    import tensorflow as tf

    return [tf.TensorSpec([None], tf.string, name=INPUT)]


def make_serve(model, parts: ServingParts, call_model=None):
    """The serving computation: raw texts (batch,) -> {label, label_id, probabilities, known_tokens[, probability]}.

    ``model`` maps its input (token ids (batch, sequence_length); for ``ngram`` a
    multi-hot SparseTensor (batch, V); for ``hybrid`` a dict of both) to class
    probabilities, (batch, C) softmax or (batch, 1) sigmoid. The run's
    temperature is applied, and ``label_id`` is the class the run's decision
    rule picks (``parts.decision``: arg-max by default; -1, label ``NO_LABEL``,
    below its abstain floor), ``label`` its name (``parts.class_names``). ``known_tokens`` counts the evidence the
    model sees: in-vocabulary words inside the kept window for word models,
    distinct in-vocabulary n-grams for ``ngram`` and ``hybrid``. With none
    (empty, whitespace, only unknown words) the probabilities are exactly
    uniform (0.5 for two classes), label_id ``NO_LABEL_ID`` and label
    ``NO_LABEL``: no evidence, no verdict. Two-class models also answer
    ``probability``, the second class's (the positive review's for IMDB).

    With ``data.long_text: chunks`` the token ids reach further and the word
    model scores them in windows, pooled (``textattn.long_text``).

    ``call_model(inputs)`` replaces ``model(inputs, training=False)`` (see
    ``serving_function``: a model run by another backend than TensorFlow).
    Without it, a batch of ``HALVED_BATCH`` texts or more is answered as two
    halves that TensorFlow runs side by side, with the same answers.
    """
    import tensorflow as tf

    from textattn import long_text
    from textattn.data.text import truncate_and_pad

    if parts.config.data.multi_label:  # a set of labels per text: textattn/multilabel/serve.py
        return make_multi_label_serve(model, parts, call_model)
    # A model run by another backend (through tf.numpy_function) is called once per batch, never from two threads.
    halves = call_model is None
    call_model = call_model or (lambda inputs: model(inputs, training=False))

    config = parts.config
    if long_text.is_chunked(config):  # data.long_text: chunks reads the review in windows
        call_model = long_text.chunked_call(model, config, call_model)
    sequence_length, keep = long_text.input_length(config), config.data.keep
    variant = config.model.variant
    reads_ngrams = variants.variant(variant).reads_ngrams
    empty_review = empty_review_ids(sequence_length)
    inverse_temperature = 1.0 / float(parts.temperature)
    num_classes = len(parts.class_names)
    names = tf.constant(list(parts.class_names) + [NO_LABEL])  # NO_LABEL at index num_classes

    def serve_batch(texts):
        texts = valid_utf8(texts)
        n = tf.shape(texts)[0]
        if reads_ngrams:
            # Keras' sparse multi-hot output fails on a batch of 0 rows: add one row, drop it at the end.
            texts = tf.concat([texts, tf.constant([""])], axis=0)
        ids = truncate_and_pad(parts.vectorizer(texts), sequence_length, keep)
        known_words = tf.reduce_sum(tf.cast(ids > OOV_ID, tf.int32), axis=1)
        ids = model_token_ids(ids, empty_review)
        if reads_ngrams:
            bags = parts.ngram_vectorizer(texts)
            in_vocabulary = tf.cast(bags.indices[:, 1] > 0, tf.int32)  # column 0 is the OOV bucket
            known = tf.math.unsorted_segment_sum(
                in_vocabulary, tf.cast(bags.indices[:, 0], tf.int32), tf.shape(texts)[0]
            )
            inputs = bags if variant == "ngram" else {"token_ids": ids, "ngrams": bags}
        else:
            known, inputs = known_words, ids
        probabilities = tf.cast(call_model(inputs), tf.float32)
        if config.model.head == "sigmoid":
            probabilities = tf.concat([1.0 - probabilities, probabilities], axis=1)
        if inverse_temperature != 1.0:
            log_p = tf.math.log(tf.clip_by_value(probabilities, 1e-7, 1.0))
            probabilities = tf.nn.softmax(log_p * inverse_temperature, axis=1)
        no_evidence = tf.equal(known, 0)
        probabilities = tf.where(
            no_evidence[:, None], tf.fill(tf.shape(probabilities), 1.0 / num_classes), probabilities
        )
        # The run's decision rule (textattn/thresholds.py): arg-max, a cut or offsets, -1 below the abstain floor.
        label_id = tf.where(no_evidence, NO_LABEL_ID, thresholds.decide_tf(probabilities, parts.decision))
        label = tf.gather(names, tf.where(label_id == NO_LABEL_ID, num_classes, label_id))
        out = {LABEL: label[:n], LABEL_ID: label_id[:n], PROBABILITIES: probabilities[:n], KNOWN_TOKENS: known[:n]}
        if num_classes == 2:
            out[PROBABILITY] = probabilities[:n, 1]
        return out

    def serve(texts):
        # TensorFlow runs the text ops of one batch mostly one after another, on one core: the two halves
        # of a large batch are independent, so they run side by side (docs/reading.md, serving speed).
        n = tf.shape(texts)[0]

        def in_halves():
            first, second = serve_batch(texts[: n // 2]), serve_batch(texts[n // 2 :])
            return {key: tf.concat([first[key], second[key]], axis=0) for key in first}

        return tf.cond(n >= HALVED_BATCH, in_halves, lambda: serve_batch(texts))

    return serve if halves else serve_batch


def load_run(run_dir: str):
    """(config, model, vectorizer) of a finished run; the vectorizer holds the run's vocabulary."""
    parts, model = load_serving_parts(run_dir)
    return parts.config, model, parts.vectorizer


def load_serving_parts(run_dir: str):
    """(ServingParts, model) of a finished run: vectorizers with the run's vocabularies, its temperature and
    class names."""
    from textattn.data.text import make_vectorizer

    runs.check_run_dir(run_dir)
    config = runs.load_config(run_dir)
    vocabulary = runs.load_vocabulary(os.path.join(run_dir, runs.VOCAB))
    model = runs.load_model(run_dir)
    ngram_vectorizer = None
    if variants.variant(config.model.variant).reads_ngrams:
        from textattn.data.character_ngrams import serving_bag_vectorizer

        path = os.path.join(run_dir, runs.NGRAM_VOCAB)
        if not os.path.isfile(path):
            raise UserError(f"{run_dir!r} has no {runs.NGRAM_VOCAB}; retrain the run")
        ngrams = runs.load_vocabulary(path)
        ngram_vectorizer = serving_bag_vectorizer(ngrams, config.model.ngram.max_ngram, config.data.negation)
    class_names = runs.load_class_names(run_dir)
    width = int(model.output_shape[-1])
    if max(width, 2) != len(class_names):
        raise UserError(
            f"{run_dir!r}: the model has {width} outputs but {runs.CLASSES} names "
            f"{len(class_names)} classes; retrain the run"
        )
    label_thresholds = None
    if config.data.multi_label:
        from textattn.multilabel import thresholds as multi_label_thresholds

        label_thresholds = multi_label_thresholds.load(run_dir, class_names)
    parts = ServingParts(
        config,
        make_vectorizer(config.data.vocab_size, vocabulary, config.data.negation),
        ngram_vectorizer,
        runs.temperature(run_dir),
        class_names,
        thresholds.load_decision(run_dir),
        label_thresholds,
    )
    return parts, model


def serving_function(run_dir: str):
    """The run's serving computation as an in-process tf.function (same as the export's ``serve``).

    Under another Keras backend than TensorFlow (word-sequence variants only)
    the text processing around the model stays TensorFlow code, and the model
    itself is run by its backend, through ``tf.numpy_function``.
    """
    import tensorflow as tf

    parts, model = load_serving_parts(run_dir)
    call_model = None
    if not backend.is_tensorflow():
        backend.check_variant(parts.config.model.variant)
        call_model = backend_model_call(model)
    serve = make_serve(model, parts, call_model)
    return tf.function(serve, input_signature=input_signature(), autograph=False)


def backend_model_call(model):
    """``inputs -> probabilities`` for a tf.function, running ``model`` eagerly on its own backend
    (its compiled predict step) through NumPy arrays."""
    import tensorflow as tf

    classes = int(model.output_shape[-1])

    def predict(ids):
        if len(ids) == 0:
            return np.zeros((0, classes), np.float32)
        return np.asarray(model.predict_on_batch(ids), np.float32)

    def call(ids):
        probabilities = tf.numpy_function(predict, [ids], tf.float32, stateful=False)
        return tf.ensure_shape(probabilities, [None, classes])

    return call
