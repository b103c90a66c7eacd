"""Training-step time with a large n-gram table: Keras' Embedding + Adam against seqkit's Embedding + LazyAdam.

Usage (from the repository root):

    python benchmarks/embedding_step.py

Prints milliseconds per training step (median of 3 repeats of 60 steps, batch 32, 24 tokens) and writes
`benchmarks/results/embedding_step.json`.
"""

import json
import statistics
import time
from pathlib import Path

import keras
import numpy as np

import seqkit
from seqkit.layers import Embedding
from seqkit.optimizers import LazyAdam

ROWS, WIDTH, STEPS, BATCH = 217_500, 64, 60, 32


def step_milliseconds(model, optimizer, inputs, targets, loss="binary_crossentropy", repeats=3):
    model.compile(optimizer=optimizer, loss=loss)
    model.fit(inputs[: 2 * BATCH], targets[: 2 * BATCH], batch_size=BATCH, verbose=0)  # Trace and warm up.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(inputs, targets, batch_size=BATCH, verbose=0)
        times.append((time.perf_counter() - start) / STEPS * 1000)
    return statistics.median(times)


def main():
    rng = np.random.default_rng(0)
    inputs = rng.integers(1, 17_000, (BATCH * STEPS, 24)).astype("int32")
    targets = rng.integers(0, 2, BATCH * STEPS).astype("float32")
    results = {}

    def table_only(layer):
        token_ids = keras.Input((None,), dtype="int32")
        pooled = keras.layers.GlobalAveragePooling1D()(layer(token_ids))
        return keras.Model(token_ids, keras.layers.Dense(1, activation="sigmoid")(pooled))

    results["table_only_keras_embedding_adam"] = step_milliseconds(
        table_only(keras.layers.Embedding(ROWS, WIDTH)), keras.optimizers.Adam(), inputs, targets)
    results["table_only_seqkit_embedding_lazyadam"] = step_milliseconds(
        table_only(Embedding(ROWS, WIDTH)), LazyAdam(), inputs, targets)

    def classifier(ngram_dim):
        seqkit.set_seed(0)
        return seqkit.build_classifier(17_500, ngram_dim=ngram_dim, ngram_buckets=ROWS - 17_500, units=64)

    results["bilstm_without_ngram_table"] = step_milliseconds(classifier(0), LazyAdam(clipnorm=1.0), inputs, targets)
    results["bilstm_with_ngram_table_lazyadam"] = step_milliseconds(classifier(WIDTH), LazyAdam(clipnorm=1.0), inputs, targets)
    results["bilstm_with_ngram_table_keras_adam"] = step_milliseconds(
        classifier(WIDTH), keras.optimizers.Adam(clipnorm=1.0), inputs, targets)
    for name, value in results.items():
        print(f"{name}: {value:.1f} ms/step")
    output = Path(__file__).resolve().parent / "results" / "embedding_step.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps({"milliseconds_per_step": results, "command": "python benchmarks/embedding_step.py",
                                  "date": time.strftime("%Y-%m-%d")}, indent=2))


if __name__ == "__main__":
    main()
