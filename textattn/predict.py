"""Classify raw reviews with a run directory or an exported SavedModel.

    python -m textattn predict MODEL "a great film" "dull and far too long"
    python -m textattn predict MODEL --file reviews.txt --jsonl
    cat reviews.txt | python -m textattn predict MODEL --file -
    python -m textattn predict MODEL --file big.jsonl --output scores.jsonl

MODEL is either a run directory (the serving computation is built in-process,
the same one ``export`` writes) or a directory written by ``export``. Each
line of ``--file`` is one review (plain text, or a JSON object for .jsonl, see
``review_stream``); an empty line is an (empty) review too, so output line i
always belongs to input line i. The file is read, scored and written in chunks
of ``CHUNK_LINES`` reviews, so memory does not grow with its length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import sys
import time
from typing import Iterator

import numpy as np

from textattn import review_stream, runs, serving, thresholds
from textattn.atomic_write import open_atomic
from textattn.errors import UserError, defer_interrupts, termination_requested
from textattn.multilabel import predictions as multi_label

BATCH_SIZE = 256  # reviews per call of the serving function
CHUNK_LINES = review_stream.CHUNK_LINES
PREVIEW_CHARS = 60
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


@dataclasses.dataclass
class Predictions:
    """What ``serve`` answered for n reviews of a C-class model.

    ``probabilities`` float32 (n, C); ``label_ids`` int32 (n,), -1 where the model
    saw no evidence; ``labels`` the class names (``serving.NO_LABEL`` where -1);
    ``known_tokens`` int32 (n,) (-1 from an export made before that output existed).
    """

    class_names: list[str]
    probabilities: np.ndarray
    label_ids: np.ndarray
    labels: list[str]
    known_tokens: np.ndarray

    @property
    def confidence(self) -> np.ndarray:
        """float32 (n,): the probability of each predicted class (1/C where there is none)."""
        rows = np.arange(len(self.label_ids))
        return np.where(
            self.label_ids >= 0,
            self.probabilities[rows, np.maximum(self.label_ids, 0)],
            np.float32(1.0 / len(self.class_names)),
        ).astype(np.float32)


class Predictor:
    """Raw reviews -> class probabilities and names, from a run directory or an exported SavedModel.

    ``predictor(texts)`` takes a list of review bytes (or str) and returns ``Predictions``.
    """

    def __init__(self, path: str):
        kind, self._loaded = serving.open_model_path(path)
        if kind == "export":
            self._serve = serving.export_endpoint(
                self._loaded, path, serving.SERVE, "; export it with `python -m textattn export`"
            )
        else:
            self._serve = serving.serving_function(path)
        self.class_names = class_names_of(kind, path)
        # The decision rule the model serves (textattn/thresholds.py); None or arg-max for most models.
        self.decision = (
            runs.read_json(os.path.join(path, serving.METADATA)).get("decision")
            if kind == "export"
            else thresholds.load_decision(path)
        )
        self.multi_label = multi_label.is_multi_label(kind, path)

    def __call__(self, texts, batch_size: int = BATCH_SIZE) -> Predictions:
        import tensorflow as tf

        if self.multi_label:
            return multi_label.collect(self._serve, texts, batch_size, self.class_names)

        parts = {key: [] for key in ("probabilities", "label_ids", "known_tokens")}
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out = self._serve(tf.constant(batch, dtype=tf.string))
            probabilities, label_ids = answer_arrays(out)
            parts["probabilities"].append(probabilities)
            parts["label_ids"].append(label_ids)
            parts["known_tokens"].append(
                out[serving.KNOWN_TOKENS].numpy() if serving.KNOWN_TOKENS in out else np.full(len(batch), -1, np.int32)
            )
        c = len(self.class_names)
        probabilities = np.concatenate(parts["probabilities"]) if texts else np.zeros((0, c), np.float32)
        label_ids = np.concatenate(parts["label_ids"]) if texts else np.zeros(0, np.int32)
        known = np.concatenate(parts["known_tokens"]) if texts else np.zeros(0, np.int32)
        labels = [self.class_names[i] if i >= 0 else serving.NO_LABEL for i in label_ids]
        return Predictions(self.class_names, probabilities, label_ids, labels, known)


def answer_arrays(out) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 (n, C), label ids int32 (n,)) from a serve answer, of either export format.

    A format 1 export answered ``probability`` (positive class) and an int ``label``
    (0 also when it saw no evidence: known_tokens 0).
    """
    if serving.PROBABILITIES in out:
        return out[serving.PROBABILITIES].numpy(), out[serving.LABEL_ID].numpy()
    p = out[serving.PROBABILITY].numpy()
    label_ids = out[serving.LABEL].numpy().astype(np.int32)
    if serving.KNOWN_TOKENS in out:
        label_ids = np.where(out[serving.KNOWN_TOKENS].numpy() == 0, serving.NO_LABEL_ID, label_ids)
    return np.stack([1.0 - p, p], axis=1).astype(np.float32), label_ids


def class_names_of(kind: str, path: str) -> list[str]:
    """The class names of MODEL (``kind`` from ``serving.open_model_path``): a run's, or an export's metadata.json
    (format 1: its "labels")."""
    if kind != "export":
        return runs.load_class_names(path)
    try:
        metadata = runs.read_json(os.path.join(path, serving.METADATA))
    except (OSError, ValueError):
        raise UserError(f"{path!r} has no readable {serving.METADATA}; re-export the run") from None
    names = metadata.get("class_names")
    if names is None and isinstance(metadata.get("labels"), dict):
        names = [metadata["labels"][key] for key in sorted(metadata["labels"], key=int)]
    if not names:
        raise UserError(f"{serving.METADATA} in {path!r} names no classes; re-export the run")
    return [str(name) for name in names]


def read_reviews(path: str) -> list[bytes]:
    """One review per line of ``path`` ("-": stdin), as raw bytes (the model copes with any encoding damage).

    Holds the whole file; ``predict`` streams instead (``review_stream``).
    """
    source = review_stream.ReviewFile(path)
    try:
        return [line for _, line in source.lines()]
    finally:
        source.close()


def format_plain(text: str, label: str, probability: float) -> str:
    """The class name, its probability and the start of the review."""
    preview = " ".join(text.split())
    if len(preview) > PREVIEW_CHARS:
        preview = preview[: PREVIEW_CHARS - 3] + "..."
    return f"{label:<8}  {probability:.4f}  {preview}"


def prediction_fields(predictions: Predictions) -> list[dict]:
    """Per review: {"label", "label_id", "probability" (the predicted class's), "probabilities" (by class
    name), "known_tokens" (left out for an export made before it existed)}."""
    names = predictions.class_names
    rows = zip(
        predictions.labels,
        predictions.label_ids.tolist(),
        predictions.confidence.tolist(),
        predictions.probabilities.tolist(),
        predictions.known_tokens.tolist(),
    )
    fields = []
    for label, label_id, confidence, probabilities, known in rows:
        row = {
            "label": label,
            "label_id": label_id,
            "probability": confidence,
            "probabilities": dict(zip(names, probabilities)),
        }
        if known >= 0:
            row["known_tokens"] = known
        fields.append(row)
    return fields


@dataclasses.dataclass
class OutputStyle:
    """How scored reviews are written: to a JSONL file (``to_file``) or stdout, plain or JSON."""

    text_field: str = review_stream.DEFAULT_TEXT_FIELD
    to_file: bool = False
    jsonl: bool = False  # stdout only; a file is always JSONL
    include_text: bool = False  # file only; stdout always shows the text

    def lines(self, records: list[dict], predictions: Predictions) -> list[str]:
        """One output line (no newline) per review of a scored chunk."""
        if isinstance(predictions, multi_label.MultiLabelPredictions):
            return multi_label.output_lines(self, records, predictions)
        if not (self.to_file or self.jsonl):
            return [
                format_plain(record.get(self.text_field, ""), p["label"], p["probability"])
                for record, p in zip(records, prediction_fields(predictions))
            ]
        include_text = self.include_text or not self.to_file
        return [
            review_stream.dumps_line(review_stream.output_record(record, p, self.text_field, include_text))
            for record, p in zip(records, prediction_fields(predictions))
        ]


def score_stream(
    predictor: Predictor,
    reviews: Iterator[tuple[bytes, dict]],
    write,
    style: OutputStyle,
    chunk_lines: int = CHUNK_LINES,
) -> int:
    """Score ``reviews`` ((bytes, record) pairs) ``chunk_lines`` at a time and ``write(text)`` each chunk's
    lines before reading the next; return how many were scored.

    Memory holds one chunk, whatever the input's length.
    """
    count = 0
    while True:
        chunk = list(itertools.islice(reviews, chunk_lines))
        if not chunk:
            return count
        predictions = predict_between_safe_points(predictor, [text for text, _ in chunk])
        write("".join(line + "\n" for line in style.lines([record for _, record in chunk], predictions)))
        count += len(chunk)


def predict_between_safe_points(predictor: Predictor, texts: list) -> Predictions:
    """``predictor(texts)``, with a SIGTERM that arrives meanwhile raised only once it has returned.

    An interrupt raised inside TensorFlow's C++ code can crash the process
    (``errors.defer_interrupts``); while reading input (a blocked stdin, say)
    it is raised at once.
    """
    defer_interrupts(True)
    try:
        predictions = predictor(texts)
    finally:
        defer_interrupts(False)
    if termination_requested():
        raise KeyboardInterrupt
    return predictions


def check_options(input_format: str, text_field: str | None, output: str | None, chunk_lines: int) -> str:
    """Raise UserError for options that do not fit together; return the text field to read."""
    if text_field is not None and input_format != review_stream.JSONL:
        raise UserError(
            "--text-field names the review's field in JSONL input; pass a .jsonl file or --input-format jsonl"
        )
    text_field = review_stream.DEFAULT_TEXT_FIELD if text_field is None else text_field
    if text_field in review_stream.PREDICTION_FIELDS:
        raise UserError(
            f"--text-field {text_field!r} is a field predict writes itself; "
            f"these are taken: {', '.join(review_stream.PREDICTION_FIELDS)}"
        )
    if output == "-":
        raise UserError("--output - is not supported; leave --output out (and add --jsonl) to print to stdout")
    if output is not None and os.path.isdir(output):
        raise UserError(f"--output {output!r} is a directory; name the file to write")
    if chunk_lines < 1:
        raise UserError(f"--batch-size must be 1 or more, got {chunk_lines}")
    return text_field


def open_output(stack: contextlib.ExitStack, path: str):
    """``atomic_write.open_atomic(path)`` entered on ``stack``, with a UserError where its directory cannot
    take the file."""
    try:
        return stack.enter_context(open_atomic(path))
    except OSError as exc:
        parent = os.path.dirname(os.path.abspath(path))
        raise UserError(
            f"cannot write {path!r} ({exc.strerror}); choose an --output in a writable directory "
            f"({parent!r} is not one)"
        ) from None


def file_writer(sink):
    """``write(text)`` for a binary file: UTF-8."""

    def write(text: str) -> None:
        sink.write(text.encode("utf-8"))
        sink.flush()  # the .partial file shows the progress, a chunk at a time

    return write


def stdout_writer(out):
    """``write(text)`` for a text stream, flushed so that each chunk shows as soon as it is scored."""

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    return write


def run_predict(
    model: str,
    texts: list[str],
    file: str | None = None,
    jsonl: bool = False,
    out=None,
    output: str | None = None,
    input_format: str | None = None,
    text_field: str | None = None,
    include_text: bool = False,
    chunk_lines: int = CHUNK_LINES,
    shard: str | None = None,
) -> int:
    """Classify the TEXT arguments, then each line of ``file``, streaming: a chunk is written before the next is read.

    Without ``output`` each review prints its class name, its probability and the
    review (JSON with ``jsonl``). With ``output`` each review is one JSON object
    in that file, input order kept: the input record's fields (the review only with
    ``include_text``) and the prediction's; the file is renamed into place at the
    end, so a failed or interrupted run leaves no ``output`` (and an earlier one
    unchanged). A review without evidence (no in-vocabulary token) is ``unknown``
    with probability 1/C (0.5 for two classes); in JSON its label_id is -1. With
    ``file`` or ``output`` a last line on stderr gives the count, the seconds and
    reviews/s (scoring and writing; loading the model is not counted).

    ``shard`` ("I/N") scores only the I-th of N byte ranges of ``file``
    (``review_stream.ReviewFile``): N processes, one per shard, each writing its
    own ``output``, whose files ``cat`` joins in shard order into the whole
    file's scores.
    """
    out = out or sys.stdout
    if not texts and file is None:
        raise UserError("no reviews given; pass TEXT arguments or --file PATH (--file - reads stdin)")
    shard = (0, 1) if shard is None else review_stream.parse_shard(shard)
    if shard != (0, 1) and (texts or file is None):
        raise UserError("--shard splits --file PATH among processes; pass no TEXT arguments with it")
    input_format = review_stream.input_format_of(file, input_format)
    text_field = check_options(input_format, text_field, output, chunk_lines)
    style = OutputStyle(text_field, to_file=output is not None, jsonl=jsonl, include_text=include_text)
    # os.fsencode restores the exact bytes of an argument that is not valid UTF-8.
    arguments = [os.fsencode(t) for t in texts]
    reviews = iter([(text, {text_field: text.decode("utf-8", errors="replace")}) for text in arguments])
    with contextlib.ExitStack() as stack:
        if file is not None:  # opened before the model loads: a wrong path fails at once
            source = review_stream.ReviewFile(file, shard)
            stack.callback(source.close)
            reviews = itertools.chain(reviews, review_stream.iter_reviews(source, input_format, text_field))
        write = file_writer(open_output(stack, output)) if output is not None else stdout_writer(out)
        predictor = Predictor(model)
        if predictor.decision and thresholds.describe(predictor.decision) != thresholds.describe(None):
            print(f"Decision rule: {thresholds.describe(predictor.decision)}", file=sys.stderr)
        started = time.perf_counter()
        try:
            count = score_stream(predictor, reviews, write, style, chunk_lines)
        except BrokenPipeError:
            if output is not None:
                raise
            return reader_gone(out)
    seconds = time.perf_counter() - started
    if file is not None or output is not None:
        print(throughput_line(count, seconds), file=sys.stderr)
    return 0


def reader_gone(out) -> int:
    """What predict does when the reader of its stdout has gone (``| head``): stop without a traceback and
    exit as a process killed by SIGPIPE would (141)."""
    if out is sys.stdout:
        # Python flushes stdout once more on exit; a closed pipe would fail again there.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def throughput_line(count: int, seconds: float) -> str:
    """``scored N reviews in S s (R reviews/s)``."""
    rate = count / seconds if seconds > 0 else 0.0
    return f"scored {count:,} review{'s' if count != 1 else ''} in {seconds:.2f} s ({rate:,.0f} reviews/s)"
