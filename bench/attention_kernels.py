"""Attention kernels on this CPU: the seed configs' dot-product attention computed four ways.

    python bench/attention_kernels.py                 # batch 512, 256 tokens, width 16: the seed configs' shapes
    python bench/attention_kernels.py --repeats 9
    python bench/attention_kernels.py --masked        # with a padding mask (IMDB-like lengths), as seed configs run

One training step's attention work, forward and backward (gradients of a sum of the output with
respect to query, key and value), compiled with tf.function, for:

- ``layers.Attention``: ``keras.layers.Attention(use_scale=True)``, what seed_attention runs
  (the (batch, T, T) score tensor is materialised);
- ``FoldedAttention``: ``textattn.layers.FoldedAttention(use_scale=True)``, the subclass the
  seed configs use: the scale multiplies the queries and the padding mask enters the score
  matmul as one more feature, instead of two more passes over the score tensor;
- ``ops.dot_product_attention``: ``keras.ops.dot_product_attention`` with one head, the query
  pre-multiplied by the same scale (what a fused kernel would be called through; on CPU
  TensorFlow it has none);
- ``micro-batches``: the same scores in slices of ``--chunk`` reviews inside one compiled step
  (``tf.map_fn``), so that each slice's score tensor is smaller (8 MB at 64 reviews instead of
  134 MB at 512) and may stay in cache.

Interleaved: every repeat times each kernel once, in turn; prints the median milliseconds per step
and each kernel's median ratio to ``layers.Attention`` in the same repeat (above 1: faster).
The outputs are checked to agree to 1e-4 before timing. With ``--masked`` each review gets a
padding mask (lengths drawn from 30 to 256 tokens) and only the two layers, which take masks, run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from textattn.startup import configure_process  # noqa: E402

configure_process()  # the allocator default and quiet start of the command line, before TensorFlow loads


def make_kernels(chunk: int, mask=None):
    import keras
    import tensorflow as tf

    from textattn.layers import FoldedAttention

    attention = keras.layers.Attention(use_scale=True)
    folded = FoldedAttention(use_scale=True)
    masks = None if mask is None else [mask, mask]

    def layer_attention(q, k, v):
        return attention([q, v, k], mask=masks)

    def folded_attention(q, k, v):
        return folded([q, v, k], mask=masks)

    def fused(q, k, v):
        scaled = q * attention.scale
        out = keras.ops.dot_product_attention(scaled[:, :, None, :], k[:, :, None, :], v[:, :, None, :], scale=1.0)
        return out[:, :, 0, :]

    def micro_batched(q, k, v):
        def one(args):
            qi, ki, vi = args
            scores = tf.matmul(qi * attention.scale, ki, transpose_b=True)
            return tf.matmul(tf.nn.softmax(scores, axis=-1), vi)

        batch = tf.shape(q)[0]
        shape = lambda x: tf.reshape(x, [batch // chunk, chunk, tf.shape(x)[1], tf.shape(x)[2]])  # noqa: E731
        out = tf.map_fn(one, (shape(q), shape(k), shape(v)), fn_output_signature=q.dtype)
        return tf.reshape(out, tf.shape(q))

    layers = {"layers.Attention": layer_attention, "FoldedAttention": folded_attention}
    if mask is not None:
        return [attention, folded], layers
    return [attention, folded], {
        **layers,
        "ops.dot_product_attention": fused,
        f"micro-batches of {chunk}": micro_batched,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="steps per timing")
    parser.add_argument("--masked", action="store_true", help="with a padding mask; only the layers run")
    args = parser.parse_args(argv)
    if args.batch % args.chunk:
        parser.error("--batch must be a multiple of --chunk")

    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    q, k, v = (tf.constant(rng.normal(size=(args.batch, args.tokens, args.width)).astype("float32")) for _ in range(3))
    mask = None
    if args.masked:
        lengths = rng.integers(min(30, args.tokens), args.tokens + 1, args.batch)
        mask = tf.constant(np.arange(args.tokens)[None, :] < lengths[:, None])
    layers, kernels = make_kernels(args.chunk, mask)
    for layer in layers:
        layer.build([q.shape, v.shape, k.shape])

    steps = {}
    for name, kernel in kernels.items():

        def step(q, k, v, kernel=kernel):
            with tf.GradientTape() as tape:
                tape.watch([q, k, v])
                out = kernel(q, k, v)
                total = tf.reduce_sum(out)
            return out, tape.gradient(total, [q, k, v])

        steps[name] = tf.function(step)

    reference = None
    for name, step in steps.items():
        out, _ = step(q, k, v)  # traces and warms up
        if reference is None:
            reference = out.numpy()
        else:
            np.testing.assert_allclose(out.numpy(), reference, atol=1e-4, err_msg=name)

    times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                out, grads = step(q, k, v)
                grads[0].numpy()
            times[name].append((time.perf_counter() - start) / args.steps * 1000)

    base = list(steps)[0]
    masked = ", padding masked" if args.masked else ""
    print(
        f"Attention kernels, batch {args.batch}, {args.tokens} tokens, width {args.width}{masked}, forward + backward; "
        f"{args.repeats} interleaved repeats of {args.steps} steps; load average before: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print("| kernel | ms per step, median (range) | speed-up against layers.Attention, median (range) |")
    print("|---|---|---|")
    for name, values in times.items():
        ratios = [b / t for b, t in zip(times[base], values)]
        print(
            f"| {name} | {statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f}) | "
            f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f}) |"
        )


if __name__ == "__main__":
    main()
