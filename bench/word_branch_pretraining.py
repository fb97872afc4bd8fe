"""Does pretraining on IMDB's unlabelled reviews help a hybrid's word branch? (docs/reading.md, lever 2)

    python bench/word_branch_pretraining.py --data PATH --config configs/best.yaml --init mlm --mlm-epochs 4

Trains the config's word branch (a hybrid's ``model.hybrid.branch``; any word variant's own model)
on the training part as a run would (``train.*``, seeded) and prints its validation accuracy per
epoch, after one of these starts:

- ``random``: Keras' own initialisation, as every config trains today.
- ``ppmi`` / ``ppmi-frozen``: the token embedding starts from word vectors of the training part
  plus the 50,000 unlabelled reviews: co-occurrence counts in a +-5-token window (weight 1/distance),
  positive PMI with context smoothing 0.75 (Levy, Goldberg & Dagan 2015), a randomized SVD to
  ``model.embedding_dim`` dimensions, U * sqrt(S) scaled to a standard deviation of 0.05.
  ``ppmi-frozen`` keeps them fixed.
- ``mlm``: masked-token pretraining of everything below the pooling (embedding, positions, body) on
  the same reviews: ``--mlm-masks`` positions per review (words among the ``--mlm-targets`` most
  frequent) replaced by the OOV id, predicted by a Dense softmax from the body's states there
  (Adam 2e-3, batch 128), new positions each epoch; the classifier then fine-tunes all of it.

No validation or test text is read before the fine-tune's validation. The pretraining text is each
review's last ``data.sequence_length`` tokens, as the branch reads them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from textattn.startup import configure_process  # noqa: E402

INITS = ("random", "ppmi", "ppmi-frozen", "mlm")


def unlabelled_ids(config, data) -> np.ndarray:
    """int32 (N, sequence_length): the training part's token ids, then the unlabelled reviews'."""
    from textattn.data import pipeline, text
    from textattn.data.source import source_of

    unsup = pipeline.read_texts(source_of(config.data), ("unsup",), config.data.cache_dir, config.data.order)
    vectorizer = text.make_vectorizer(config.data.vocab_size, vocabulary=data.vocabulary, negation=config.data.negation)
    ids = text.texts_to_ids(vectorizer, unsup["unsup"][0], config.data.sequence_length, config.data.keep)
    return np.concatenate([data.tokens.x_train, ids])


def cooccurrences(ids: np.ndarray, vocab_size: int, window: int = 5) -> np.ndarray:
    """float64 (V, V): symmetric co-occurrence counts, weight 1/distance; padding (0) and OOV (1) left out."""
    counts = np.zeros(vocab_size * vocab_size, np.float64)
    for distance in range(1, window + 1):
        a, b = ids[:, :-distance].ravel(), ids[:, distance:].ravel()
        keep = (a > 1) & (b > 1)
        counts += np.bincount(a[keep].astype(np.int64) * vocab_size + b[keep], minlength=vocab_size**2) / distance
    counts = counts.reshape(vocab_size, vocab_size)
    return counts + counts.T


def ppmi_vectors(counts: np.ndarray, dim: int, smoothing: float = 0.75, seed: int = 0) -> np.ndarray:
    """float32 (V, dim): U * sqrt(S) of the positive PMI matrix's rank-``dim`` SVD, scaled to std 0.05."""
    from sklearn.utils.extmath import randomized_svd

    total = counts.sum()
    context = counts.sum(axis=0) ** smoothing
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / total) - np.log(counts.sum(axis=1) / total)[:, None] - np.log(context / context.sum())
    positive = np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0).astype(np.float32)
    u, s, _ = randomized_svd(positive, dim, n_iter=5, random_state=seed)
    vectors = u * np.sqrt(s)
    return (vectors / vectors.std() * 0.05).astype(np.float32)


def pretrain_masked_tokens(model, ids: np.ndarray, epochs: int, masks: int, targets: int, seed: int) -> None:
    """Masked-token pretraining of ``model``'s layers below its pooling, in place."""
    import keras
    from keras import ops

    class PickPositions(keras.layers.Layer):
        """(states (B, L, D), positions (B, K)) -> the states at those positions, (B, K, D)."""

        def call(self, states, positions):
            return ops.take_along_axis(states, ops.expand_dims(positions, -1), axis=1)

    states = body_output(model)
    below = keras.Model(model.inputs, states)
    tokens = keras.Input(model.input_shape[1:], dtype="int32")
    positions = keras.Input((masks,), dtype="int32")
    logits = keras.layers.Dense(targets, name="masked_token")(PickPositions()(below(tokens), positions))
    pretrainer = keras.Model([tokens, positions], logits)
    pretrainer.compile(
        keras.optimizers.Adam(2e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["accuracy"],
        jit_compile=True,
    )
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        scores = rng.random(ids.shape, dtype=np.float32)
        scores[(ids < 2) | (ids >= targets)] = -1.0  # only known, frequent words are masked
        at = np.argpartition(-scores, masks, axis=1)[:, :masks].astype(np.int32)
        valid = np.take_along_axis(scores, at, 1) >= 0  # a short review has fewer maskable words
        answers = np.take_along_axis(ids, at, 1)
        masked = ids.copy()
        np.put_along_axis(masked, at, np.where(valid, 1, answers), 1)
        start = time.perf_counter()
        history = pretrainer.fit(
            [masked, at], answers, sample_weight=valid.astype("float32"), batch_size=128, epochs=1, verbose=0
        )
        print(
            f"masked-token epoch {epoch + 1}/{epochs}: loss {history.history['loss'][0]:.3f}, "
            f"accuracy {history.history['accuracy'][0]:.3f}, {time.perf_counter() - start:.0f} s",
            flush=True,
        )


def body_output(model):
    """The (batch, length, width) states the model pools: the input of its pooling layer."""
    for layer in model.layers:
        if layer.name in ("attention_pool", "average_pool", "max_pool", "bahdanau_pool"):
            inputs = layer.input if layer.name != "bahdanau_pool" else layer.input[1]
            return inputs
    raise SystemExit(f"error: {model.name} has no pooling layer to pretrain below")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="aclImdb archive or directory (the unlabelled reviews are read)")
    parser.add_argument("--config", default="configs/best.yaml")
    parser.add_argument("--init", choices=INITS, default="random")
    parser.add_argument("--mlm-epochs", type=int, default=4)
    parser.add_argument("--mlm-masks", type=int, default=32, help="masked positions per review")
    parser.add_argument("--mlm-targets", type=int, default=5000, help="the most frequent words that may be masked")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    configure_process()
    import keras

    from textattn.config import apply_overrides, load_config
    from textattn.data.run_data import load_data
    from textattn.data.source import resolve_data
    from textattn.models.bag_models import word_branch_config
    from textattn.models.token_model import TOKEN_EMBEDDING
    from textattn.training.compile import compile_model, new_word_model

    config = resolve_data(apply_overrides(load_config(args.config), args.set), args.data)
    data = load_data(config)
    word = word_branch_config(config) if config.model.variant == "hybrid" else config
    model = new_word_model(word, data)
    start = time.perf_counter()
    if args.init != "random":
        ids = unlabelled_ids(config, data)
        print(f"pretraining text: {len(ids):,} reviews", flush=True)
    if args.init.startswith("ppmi"):
        embedding = model.get_layer(TOKEN_EMBEDDING)
        vectors = ppmi_vectors(cooccurrences(ids, config.data.vocab_size), config.model.embedding_dim, seed=config.seed)
        vectors[:2] = embedding.get_weights()[0][:2]  # padding and OOV keep their random rows
        embedding.set_weights([vectors])
        if args.init == "ppmi-frozen":
            embedding.trainable = False
            compile_model(model, word)
    if args.init == "mlm":
        pretrain_masked_tokens(model, ids, args.mlm_epochs, args.mlm_masks, args.mlm_targets, config.seed)
        keras.utils.set_random_seed(config.seed)
    pretrain_seconds = time.perf_counter() - start
    start = time.perf_counter()
    history = model.fit(
        data.dataset(word, "train", for_fit=True),
        validation_data=data.dataset(word, "val", for_fit=True),
        epochs=word.train.epochs,
        verbose=0,
    )
    accuracies = history.history["val_accuracy"]
    best = int(np.argmax(accuracies))
    print("| config | init | pretrain s | fine-tune s | val acc per epoch | best val acc (epoch) |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {config.name} | {args.init}{args.mlm_epochs if args.init == 'mlm' else ''} | {pretrain_seconds:.0f} | "
        f"{time.perf_counter() - start:.0f} | {' '.join(f'{a:.4f}' for a in accuracies)} | "
        f"{accuracies[best]:.4f} ({best + 1}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
