"""Serving speed of a run with each n-gram vectorizer, interleaved: Keras' TextVectorization against
KeyedNgramVectorizer (textattn/data/ngram_keys.py, what serving and exports use).

Both serving functions are the run's ``serve`` (``serving.make_serve``), built in one process from the
same model and vocabularies; only the n-gram vectorizer differs. Each round times both sides'
throughput with ``measure_serving`` (what ``textattn evaluate`` reports: reviews/s over 8 batches of
512), in alternating order, then 100 single reviews, each served by both sides in alternating order
(batch-1 latency: a difference of a tenth of a millisecond needs the two sides timed call by call).
The answers are checked equal first.

    python bench/serving_ngrams.py RUN_DIR [--rounds 10] [--data ../shared/data/aclImdb.tar.gz]

RUN_DIR is a finished run that reads n-grams (``ngram`` or ``hybrid``, e.g. configs/default.yaml's).
The texts are 512 IMDB test reviews from the archive, drawn with a fixed seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time

from textattn.startup import configure_process


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--data", default="../shared/data/aclImdb.tar.gz")
    args = parser.parse_args(argv)
    configure_process()
    import numpy as np
    import tensorflow as tf

    from textattn import serving
    from textattn.data import pipeline
    from textattn.data.ngrams import make_ngram_vectorizer
    from textattn.data.source import Source
    from textattn.evaluation.speed import measure_serving

    parts, model = serving.load_serving_parts(args.run_dir)
    if parts.ngram_vectorizer is None:
        print(f"{args.run_dir} reads no n-grams", file=sys.stderr)
        return 2
    config, vocabulary = parts.config, parts.ngram_vectorizer.get_vocabulary()
    text_vectorizer = make_ngram_vectorizer(
        len(vocabulary), config.model.ngram.max_ngram, vocabulary, config.data.negation
    )
    signature = serving.input_signature()
    sides = {
        "TextVectorization": dataclasses.replace(parts, ngram_vectorizer=text_vectorizer),
        type(parts.ngram_vectorizer).__name__: parts,
    }
    serve = {name: tf.function(serving.make_serve(model, p), input_signature=signature) for name, p in sides.items()}
    texts = random.Random(0).sample(pipeline.read_texts(Source("local", args.data), ("test",))["test"][0], 512)
    answers = [f(tf.constant(texts))[serving.PROBABILITIES].numpy() for f in serve.values()]
    print(f"max |difference| between the sides' probabilities: {np.abs(answers[0] - answers[1]).max():.1e}")

    names = list(serve)
    rates = {name: [] for name in names}
    latencies_ms = {name: [] for name in names}
    singles = [tf.constant([text]) for text in texts[:100]]
    for single in singles[:5]:  # warm-up
        for name in names:
            serve[name](single)[serving.LABEL_ID].numpy()
    for round_index in range(args.rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            rates[name].append(
                measure_serving(serve[name], texts, batch1_calls=0, batches=8)["throughput_reviews_per_s"]
            )
        for i, single in enumerate(singles):
            for name in order if i % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                serve[name](single)[serving.LABEL_ID].numpy()
                latencies_ms[name].append((time.perf_counter() - start) * 1000.0)
    base_rate = statistics.median(rates[names[0]])
    base_latency = statistics.median(latencies_ms[names[0]])
    print(f"\n{args.rounds} interleaved rounds, {len(texts)} IMDB test reviews, run {args.run_dir}\n")
    print("| n-gram vectorizer | reviews/s at 512: median (range) | ratio | batch-1 p50 ms | p95 ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name in names:
        rate, latency = statistics.median(rates[name]), statistics.median(latencies_ms[name])
        p95 = sorted(latencies_ms[name])[int(0.95 * len(latencies_ms[name]))]
        print(
            f"| {name} | {rate:,.0f} ({min(rates[name]):,.0f}-{max(rates[name]):,.0f}) | {rate / base_rate:.2f} | "
            f"{latency:.2f} | {p95:.2f} | {latency / base_latency:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
