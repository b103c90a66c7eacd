"""How close the language-model export's sampling loop is to what this CPU allows.

Usage (from the repository root):

    python benchmarks/generation_floor.py [STREAMS]   # default 64
    XLA_FLAGS=... python benchmarks/generation_floor.py 64 --loop-only
                                                      # only the hand-written XLA loop: XLA's CPU options
    python benchmarks/generation_floor.py 64 --dtypes # the step's matmul in float32, bfloat16 and int8

Builds the textgen recipe's default model (LSTM 2×512 over tiny-shakespeare's 69 characters; untrained, since a
character model never stops early and speed does not depend on the weights), exports it plain and with
`jit_compile=True`, and times, interleaved in one process (median of 5 calls of 500 new characters per stream):

- the two exports' `generate` signature, loaded with `tf.saved_model.load`;
- the same step written by hand: a `tf.while_loop` with raw matmuls, the LSTM gates and a categorical draw, run
  as a plain graph and compiled by XLA (the floor an in-graph sampler can aim for);
- one 64 × 512 × 2048 matmul, the step's unit of work (a step is three of them plus small ones).

`--dtypes` times only that matmul, in float32, bfloat16 and int8 (int8 × int8 → int32, what a dynamically
quantized export would run), plain and compiled by XLA: whether a lower precision is a faster path on this CPU.
"""

import os
import statistics
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

import seqkit
from seqkit.data import datasets
from seqkit.data.text_windows import build_lm_vocabulary, text_to_tokens
from seqkit.models.language_model import build_language_model

NEW_CHARS = 500
REPEATS = 5


def hand_written_loop(model, jit_compile):
    """The model's generation step with raw TensorFlow ops, in one `tf.while_loop`."""
    weights = {weight.path: weight for weight in model.weights}
    embedding = weights["token_embedding/embeddings"]
    layers = [
        [weights[f"recurrent_stack/lstm_{i}/lstm_cell/{name}"] for name in ("kernel", "recurrent_kernel", "bias")]
        for i in range(2)
    ]
    output_kernel, output_bias = weights["logits/kernel"], weights["logits/bias"]
    units = layers[0][1].shape[0]

    def cell(inputs, h, c, kernel, recurrent_kernel, bias):
        i, f, g, o = tf.split(tf.matmul(inputs, kernel) + tf.matmul(h, recurrent_kernel) + bias, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    @tf.function(jit_compile=jit_compile)
    def generate(tokens):
        zeros = tf.zeros([tf.shape(tokens)[0], units])

        def body(t, tokens, h1, c1, h2, c2, written):
            h1, c1 = cell(tf.gather(embedding, tokens), h1, c1, *layers[0])
            h2, c2 = cell(h1, h2, c2, *layers[1])
            logits = (tf.matmul(h2, output_kernel) + output_bias) / 0.8
            tokens = tf.cast(tf.random.stateless_categorical(logits, 1, [t, 0])[:, 0], tf.int32)
            return t + 1, tokens, h1, c1, h2, c2, written.write(t, tokens)

        loop_vars = (0, tokens, zeros, zeros, zeros, zeros, tf.TensorArray(tf.int32, NEW_CHARS))
        return tf.while_loop(lambda t, *_: t < NEW_CHARS, body, loop_vars)[-1].stack()

    return generate


def interleaved_times(calls, rounds):
    """Seconds per call of each of `calls` (a dict of no-argument functions), `rounds` times, after a warm-up."""
    for call in calls.values():
        call()  # Warm-up and compilation.
    times = {key: [] for key in calls}
    for _ in range(rounds):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
    return times


def matmul_dtypes(streams, rounds=5, repeats=200):
    """Milliseconds per `(streams, 512) x (512, 2048)` matmul by dtype, plain and XLA (median of interleaved rounds)."""
    rng = np.random.default_rng(0)
    operands = {
        "float32": [rng.normal(size=shape).astype("float32") for shape in ((streams, 512), (512, 2048))],
        "bfloat16": [tf.cast(rng.normal(size=shape), tf.bfloat16) for shape in ((streams, 512), (512, 2048))],
        "int8": [rng.integers(-127, 128, size=shape).astype("int8") for shape in ((streams, 512), (512, 2048))],
    }
    calls = {}
    for dtype, (a, b) in operands.items():
        a, b = tf.constant(a), tf.constant(b)
        output_type = tf.int32 if dtype == "int8" else None

        def loop(a, b, output_type=output_type):
            # `repeats` matmuls in one call, so the dispatch cost is shared. The left operand is rolled each step and
            # the whole product summed, so that XLA can neither hoist the matmul out of the loop nor slice it.
            def body(i, a, total):
                product = tf.matmul(a, b, output_type=output_type) if output_type else tf.matmul(a, b)
                return i + 1, tf.roll(a, shift=1, axis=1), total + tf.cast(tf.reduce_sum(product), tf.float32)

            return tf.while_loop(lambda i, a, total: i < repeats, body, (0, a, 0.0))[2]

        for jit_compile in (False, True):
            function = tf.function(loop, jit_compile=jit_compile)
            calls[(dtype, "XLA" if jit_compile else "plain")] = lambda f=function, a=a, b=b: f(a, b).numpy()
    return {key: statistics.median(seconds) / repeats * 1e3 for key, seconds in interleaved_times(calls, rounds).items()}


def main(argv):
    loop_only = "--loop-only" in argv
    if "--dtypes" in argv:
        streams = int(argv[0]) if argv[0] != "--dtypes" else 64
        print(f"{streams} × 512 × 2048 matmul, ms (GFLOP/s), median of 5 interleaved rounds of 200:")
        for (dtype, mode), milliseconds in matmul_dtypes(streams).items():
            gigaflops = 2 * streams * 512 * 2048 / milliseconds / 1e6
            print(f"  {dtype:8s} {mode:5s} {milliseconds:7.3f} ms  ({gigaflops:5.0f})")
        return
    argv = [arg for arg in argv if arg != "--loop-only"]
    streams = int(argv[0]) if argv else 64
    text = (datasets.locate("tinyshakespeare") / "input.txt").read_text(encoding="utf-8")
    vocabulary = build_lm_vocabulary(text_to_tokens(text, "char"))
    model = build_language_model(vocabulary.size, embedding_dim=64, units=512, num_layers=2)
    model(np.zeros((1, 2), "int32"))
    prompts = tf.constant(["ROMEO:"] * streams)
    start_tokens = tf.fill([streams], vocabulary.token_to_id("R"))
    calls = {}
    exports = () if loop_only else (("export, plain", False), ("export, jit_compile=True", True))
    loops = (("hand-written loop, XLA", True),) if loop_only else (
        ("hand-written loop, plain", False), ("hand-written loop, XLA", True))
    with tempfile.TemporaryDirectory() as root:
        for name, jit_compile in exports:
            path = seqkit.export_language_model(model, vocabulary, export_root=root, name="lm", jit_compile=jit_compile)
            generate = tf.saved_model.load(str(path)).signatures["generate"]
            calls[name] = lambda generate=generate: generate(
                prompts=prompts, max_new_tokens=tf.constant(NEW_CHARS), temperature=tf.constant(0.8),
                seed=tf.constant(0),
            )["continuation"].numpy()
    for name, jit_compile in loops:
        calls[name] = lambda loop=hand_written_loop(model, jit_compile): loop(start_tokens).numpy()
    times = interleaved_times(calls, REPEATS)
    print(f"{streams} stream(s), {NEW_CHARS} new characters each, median of {REPEATS} interleaved calls"
          f"{' (XLA_FLAGS=' + repr(os.environ.get('XLA_FLAGS', '')) + ')' if loop_only else ''}:")
    for name, elapsed in times.items():
        rates = sorted(streams * NEW_CHARS / t for t in elapsed)
        print(f"  {name:26s} {statistics.median(rates):8,.0f} chars/s  (min {rates[0]:,.0f}, max {rates[-1]:,.0f})")
    if loop_only:
        return

    a, b = tf.random.normal([streams, 512]), tf.random.normal([512, 2048])

    @tf.function
    def matmuls(a, b):
        return tf.while_loop(lambda i, x: i < 200, lambda i, x: (i + 1, x + tf.matmul(a, b)[0, 0]), (0, 0.0))[1]

    matmuls(a, b)
    start = time.perf_counter()
    matmuls(a, b).numpy()
    seconds = (time.perf_counter() - start) / 200
    print(f"  matmul {streams} × 512 × 2048: {seconds * 1e3:.3f} ms, {2 * streams * 512 * 2048 / seconds / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main(sys.argv[1:])
