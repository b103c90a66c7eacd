"""Training speed of the char LM's model (LSTM 2x512, batch 32 x 256) on the current Keras backend.

    KERAS_BACKEND=tensorflow python benchmarks/lstm_backends.py
    KERAS_BACKEND=jax python benchmarks/lstm_backends.py
    KERAS_BACKEND=jax python benchmarks/lstm_backends.py keras   # with keras.layers.LSTM instead of ScanLSTM

Builds `recipes/textgen.py`'s default model with `build_language_model`, compiles
it as the recipe does (`compile_language_model`: Adam, clipping, jit "auto"),
and times `fit` on 6 batches of random characters after a warm-up. Prints one
JSON line: backend, layer, characters per second.
"""

import json
import sys
import time

import keras
import numpy as np

from seqkit.models.language_model import build_language_model, compile_language_model


def main(layer="scan", batches=6, batch_size=32, sequence_length=256, vocabulary_size=69):
    if layer == "keras":
        from perf import use_keras_lstm  # benchmarks/perf.py, beside this script.

        use_keras_lstm()
    keras.utils.set_random_seed(0)
    model = build_language_model(vocabulary_size, embedding_dim=64, cell="lstm", units=512, num_layers=2,
                                 dropout=0.2, output_dropout=0.2)
    compile_language_model(model, learning_rate=3e-3, clipnorm=1.0)
    rng = np.random.default_rng(0)
    inputs = rng.integers(4, vocabulary_size, (batch_size * batches, sequence_length)).astype("int32")
    targets = rng.integers(4, vocabulary_size, (batch_size * batches, sequence_length)).astype("int32")
    model.fit(inputs[: 2 * batch_size], targets[: 2 * batch_size], batch_size=batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(inputs, targets, batch_size=batch_size, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    print(json.dumps({"backend": keras.backend.backend(), "layer": layer, "characters_per_second": round(inputs.size / seconds, 1),
                      "batches": batches, "batch_size": batch_size, "sequence_length": sequence_length}))


if __name__ == "__main__":
    main(*sys.argv[1:2])
