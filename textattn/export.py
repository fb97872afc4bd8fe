"""Export a run as a TensorFlow SavedModel that classifies raw review text.

    OUT_DIR/
      saved_model.pb, variables/, assets/, fingerprint.pb   the SavedModel
      metadata.json                                          what was exported, and how to call it

The ``serve`` endpoint (also ``serving_default``; the computation is
``textattn.serving.make_serve``) takes a batch of UTF-8
strings, shape (batch,), and returns, for a model of C classes (the run's
class names, metadata.json ``class_names``; label id i is class i)::

    label          string  (batch,)    the predicted class name
    label_id       int32   (batch,)    its index: the run's decision rule's pick (arg-max by default)
    probabilities  float32 (batch, C)  temperature-calibrated class probabilities
    known_tokens   int32   (batch,)    how much evidence the model saw
    probability    float32 (batch,)    2 classes only: probabilities[:, 1], as format 1 exports had

With no evidence (known_tokens 0: empty, whitespace, only unknown words) the
answer is uniform probabilities (0.5 each for two classes), label_id -1 and
label "unknown". A run trained with ``train.threshold`` / ``train.abstain`` serves its decision rule
(metadata.json ``decision``, textattn/thresholds.py): a cut or per-class offsets fitted on validation,
and label_id -1, label "unknown" where the top probability is below the abstain floor. Standardization, the vocabulary and truncation/padding live
inside the artifact, so it loads and runs with TensorFlow alone::

    tf.saved_model.load(OUT_DIR).serve(tf.constant(["a great film"]))

The ``explain`` endpoint takes the same input and returns, besides ``serve``'s
outputs, ``tokens`` string (batch, T) and ``weights`` float32 (batch, T): which
tokens the answer rests on (``textattn.explain.endpoint``; metadata.json says
what a weight is for this model).

A multi-label run (``data.multi_label``) answers the set of labels instead:
textattn/multilabel/serve.py lists its outputs.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile

from textattn import backend, runs
from textattn.atomic_write import exchange, write_json
from textattn.errors import UserError
from textattn.explain.meaning import describe
from textattn.serving import (
    EXPLAIN,
    INPUT,
    METADATA,
    NO_LABEL,
    NO_LABEL_ID,
    SAVED_MODEL,
    SERVE,
    ServingParts,
    input_signature,
    is_export_dir,
    load_serving_parts,
    make_serve,
)
from textattn.thresholds import describe as describe_decision
from textattn.versions import versions

FORMAT_VERSION = 2  # 1: label was the int class id, no label_id / probabilities


def check_export_target(out_dir: str, overwrite: bool = False) -> None:
    """Raise UserError unless ``out_dir`` can be (re)written by an export.

    An existing ``out_dir`` is refused without ``overwrite``; with it, only an
    earlier export (or an empty directory) may be replaced.
    """
    out_dir = os.fspath(out_dir)
    parent = os.path.dirname(os.path.abspath(out_dir))
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise UserError(f"cannot export to {out_dir!r}: {parent!r} is a file; choose another OUT_DIR")
    if not os.path.lexists(out_dir):
        return
    if not os.path.isdir(out_dir) or os.path.islink(out_dir):
        raise UserError(f"export target {out_dir!r} exists and is not a directory; choose another OUT_DIR")
    if not overwrite:
        raise UserError(
            f"export directory {out_dir!r} already exists; pass --overwrite to replace it, or choose another OUT_DIR"
        )
    if os.listdir(out_dir) and not is_export_dir(out_dir):
        raise UserError(
            f"{out_dir!r} is not an exported model (no {SAVED_MODEL}); refusing to replace it "
            "even with --overwrite; choose another OUT_DIR"
        )


def export_run(run_dir: str, out_dir: str, overwrite: bool = False) -> str:
    """Export the run in ``run_dir`` to the SavedModel directory ``out_dir``; return ``out_dir``.

    The export is built in a temporary sibling directory and renamed into
    place, so ``out_dir`` is either absent, the previous export, or complete.
    A SavedModel is TensorFlow's: under another Keras backend the export runs
    in a child process with ``KERAS_BACKEND=tensorflow``.
    """
    runs.check_run_dir(run_dir)
    check_export_target(out_dir, overwrite)
    if not backend.is_tensorflow():
        return _export_under_tensorflow(run_dir, out_dir, overwrite)
    target = os.path.abspath(out_dir)
    parent, name = os.path.split(target)
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    except OSError as exc:
        raise UserError(f"cannot write to {parent!r} ({exc.strerror}); choose another OUT_DIR") from None
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; servers may run as another user
        write_export(run_dir, staging)
        _move_into_place(staging, target, overwrite)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _export_under_tensorflow(run_dir: str, out_dir: str, overwrite: bool) -> str:
    """``python -m textattn export`` in a child process on the TensorFlow backend; its error line becomes ours."""
    cmd = [sys.executable, "-m", "textattn", "export", os.path.abspath(run_dir), os.path.abspath(out_dir)]
    env = {**os.environ, "KERAS_BACKEND": backend.TENSORFLOW}
    result = subprocess.run(cmd + (["--overwrite"] if overwrite else []), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        detail = errors[-1][len("error: ") :] if errors else (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"export under KERAS_BACKEND={backend.TENSORFLOW} failed: {detail}")
    return out_dir


def write_export(run_dir: str, directory: str) -> dict:
    """Write the SavedModel and metadata.json into the existing empty ``directory``; return the metadata."""
    import keras  # here, not at the top: ``train --export`` checks its target before TensorFlow loads

    from textattn.explain.endpoint import make_explain

    parts, model = load_serving_parts(run_dir)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for vectorizer in (parts.vectorizer, parts.ngram_vectorizer):
        if vectorizer is not None:
            vectorizer.build()  # a vocabulary-given layer is usable but not marked built
            archive.track(vectorizer)  # its lookup table is a resource, not a variable
    serve = archive.add_endpoint(SERVE, make_serve(model, parts), input_signature=input_signature())
    explain = make_explain(model, parts)
    for resource in explain.trackables:
        archive.track(resource)
    explain = archive.add_endpoint(EXPLAIN, explain, input_signature=input_signature())
    archive.write_out(directory, verbose=False)
    metadata = build_metadata(run_dir, parts, serve, explain)
    write_json(os.path.join(directory, METADATA), metadata)
    return metadata


def build_metadata(run_dir: str, parts: ServingParts, serve, explain=None) -> dict:
    config = parts.config
    metrics_path = os.path.join(run_dir, runs.METRICS)
    metrics = runs.read_json(metrics_path) if os.path.isfile(metrics_path) else {}
    concrete = serve.get_concrete_function()
    spec = input_signature()[0]
    metadata = {
        "format": "textattn-savedmodel",
        "format_version": FORMAT_VERSION,
        "name": config.name,
        "variant": config.model.variant,
        "head": config.model.head,
        "vocab_size": int(parts.vectorizer.vocabulary_size()),
        "ngram_vocab_size": int(parts.ngram_vectorizer.vocabulary_size()) if parts.ngram_vectorizer else None,
        "temperature": parts.temperature,
        "known_tokens": (
            "distinct in-vocabulary n-grams" if parts.ngram_vectorizer else "in-vocabulary words in the kept window"
        )
        + f"; 0 means no evidence: uniform probabilities, label_id {NO_LABEL_ID}, label {NO_LABEL!r}",
        "sequence_length": config.data.sequence_length,
        "keep": config.data.keep,
        "long_text": long_text_metadata(config.data),
        "test_accuracy": metrics.get("test_accuracy"),
        "class_names": list(parts.class_names),
        "labels": {str(i): name for i, name in enumerate(parts.class_names)},
        "no_evidence": {"label_id": NO_LABEL_ID, "label": NO_LABEL, "probabilities": "uniform"},
        "decision": {**(parts.decision or {}), "served": describe_decision(parts.decision)},
        "run_dir": os.path.abspath(run_dir),
        "exported_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": versions(),
        "signature": {
            "endpoint": SERVE,
            "aliases": ["serving_default"],
            "inputs": {INPUT: _describe(spec)},
            "outputs": {key: _describe(t) for key, t in sorted(concrete.structured_outputs.items())},
        },
        "endpoints": [SERVE] + ([EXPLAIN] if explain is not None else []),
    }
    if config.data.multi_label:
        from textattn.multilabel.serve import metadata as multi_label_metadata

        metadata.update(multi_label_metadata(parts, metrics))
    if explain is not None:
        outputs = explain.get_concrete_function().structured_outputs
        metadata["explain"] = {
            "endpoint": EXPLAIN,
            "inputs": {INPUT: _describe(spec)},
            "outputs": {key: _describe(t) for key, t in sorted(outputs.items())},
            "weights": describe(config),
        }
    return metadata


def long_text_metadata(data) -> dict:
    """How a review longer than sequence_length is read (docs/long_documents.md)."""
    if data.long_text == "cut":
        return {"mode": "cut"}
    return {
        "mode": "chunks",
        "chunk_overlap": data.chunk_overlap,
        "max_chunks": data.max_chunks,
        "pooling": "mean of the windows' log-probabilities",
    }


def _describe(tensor) -> dict:
    return {"dtype": tensor.dtype.name, "shape": tensor.shape.as_list()}


def _move_into_place(staging: str, target: str, overwrite: bool) -> None:
    """Rename ``staging`` to ``target``; an old ``target`` is removed only after the swap.

    The swap is one atomic exchange where the system has one, so ``target``
    never goes missing; elsewhere it is two renames with ``target`` briefly absent.
    """
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    check_export_target(target, overwrite)  # it may have appeared while we were exporting
    if exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now the old export
        return
    parent, name = os.path.split(target)
    old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
    os.rename(target, os.path.join(old, name))
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(os.path.join(old, name), target)
        os.rmdir(old)
        raise
    shutil.rmtree(old, ignore_errors=True)
