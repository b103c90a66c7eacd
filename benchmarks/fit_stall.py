"""The wait at the end of `fit` that tf.data's autotuning causes, with and without seqkit's pipeline options.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/fit_stall.py [FITS]   # default 6 fits per setting

Trains the char LM of `benchmarks/perf.py charlm` (LSTM 2×512, 8 batches of 32 × 256 per `fit`), alternating
between the window pipeline as seqkit builds it (autotuning off) and the same pipeline with autotuning back on.
For each `fit` it prints the total time, the time inside the batches, and the time between the last callback
(`on_train_end`) and `fit` returning, where deleting the iterator waits for the autotune thread.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from seqkit.data import text_windows  # noqa: E402
from seqkit.models import language_model  # noqa: E402


class Timer(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.in_batches += time.perf_counter() - self.batch_start

    def on_train_end(self, logs=None):
        self.train_end = time.perf_counter()


def main(argv):
    from perf import charlm_data

    fits = int(argv[0]) if argv else 6
    stream, vocabulary = charlm_data()
    keras.utils.set_random_seed(0)
    model = language_model.build_language_model(vocabulary.size, embedding_dim=64, units=512, num_layers=2,
                                                dropout=0.2, output_dropout=0.2)
    language_model.compile_language_model(model, learning_rate=3e-3, clipnorm=1.0)
    seqkit_pipeline = text_windows.window_dataset(stream, 256, 32, seed=0)
    autotuned = tf.data.Options()
    autotuned.autotune.enabled = True
    pipelines = {"seqkit (autotune off)": seqkit_pipeline, "autotune on": seqkit_pipeline.with_options(autotuned)}
    model.fit(seqkit_pipeline.take(2), epochs=1, verbose=0)  # Warm-up.
    timer = Timer()
    for _ in range(fits):
        for name, pipeline in pipelines.items():
            timer.in_batches = 0.0
            start = time.perf_counter()
            model.fit(pipeline.take(8), epochs=1, verbose=0, callbacks=[timer])
            end = time.perf_counter()
            print(f"{name:22s} fit {end - start:5.2f} s, batches {timer.in_batches:5.2f} s, "
                  f"after on_train_end {end - timer.train_end:5.2f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
