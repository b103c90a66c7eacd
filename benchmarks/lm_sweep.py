"""Learning curves of char-LM configurations per training token, on any Keras backend.

Used to choose `recipes/textgen.py`'s defaults for the 45-minute CPU budget: the
loss after N training characters does not depend on the hardware, so configurations
can be compared quickly on a GPU (JAX backend, no TensorFlow needed) and the best
one then timed on the CPU. Windows and evaluation follow the recipe: `<bos>` +
window inputs, the first 90% of tiny-shakespeare trains, validation windows are
read from the start of the last 10%.

    KERAS_BACKEND=jax python benchmarks/lm_sweep.py input.txt "lstm,512,2,128,128,0.003,0.2" ...

Each config is `cell,units,layers,batch,sequence_length,learning_rate,dropout`;
one JSON line per evaluation goes to stdout. The learning rate halves whenever
the validation loss rises between evaluations.
"""

import json
import os
import sys
import time

import keras
import numpy as np

from seqkit.models.language_model import build_language_model

# Millions of training characters at which to evaluate; override with LM_SWEEP_CHECKPOINTS="2,4,8".
CHECKPOINTS = tuple(
    float(m) * 1e6 for m in os.environ.get("LM_SWEEP_CHECKPOINTS", "2,4,6,8,10,12,16,20").split(",")
)


def windows(ids, starts, length, bos=2):
    targets = np.stack([ids[s : s + length] for s in starts])
    inputs = np.concatenate([np.full((len(starts), 1), bos, "int32"), targets[:, :-1]], axis=1)
    return inputs, targets


def main(path, specs):
    text = open(path, encoding="utf-8").read()
    cut = int(len(text) * 0.9)
    chars = sorted(set(text[:cut]))
    index = {c: i + 4 for i, c in enumerate(chars)}
    ids = np.array([index.get(c, 1) for c in text], dtype="int32")
    train, val = ids[:cut], ids[cut:]
    for spec in specs:
        cell, units, layers, batch, length, lr, dropout = spec.split(",")
        units, layers, batch, length, lr, dropout = int(units), int(layers), int(batch), int(length), float(lr), float(dropout)
        keras.utils.set_random_seed(0)
        model = build_language_model(len(chars) + 4, embedding_dim=64, cell=cell, units=units, num_layers=layers,
                                     dropout=dropout, output_dropout=dropout)
        optimizer = keras.optimizers.Adam(lr, clipnorm=1.0)
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        val_starts = np.arange(0, len(val) - length, length)
        val_x, val_y = windows(val, val_starts, length)
        rng = np.random.default_rng(0)
        seen, best, start = 0, 9.0, time.time()
        for checkpoint in CHECKPOINTS:
            count = int((checkpoint - seen) // length)
            x, y = windows(train, rng.integers(0, len(train) - length, count), length)
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
            seen = checkpoint
            loss = float(model.evaluate(val_x, val_y, batch_size=256, verbose=0))
            if loss > best:  # Plateau: halve the rate, as the recipe's ReduceLROnPlateau does.
                optimizer.learning_rate.assign(optimizer.learning_rate * 0.5)
            best = min(best, loss)
            print(json.dumps({"config": spec, "tokens": seen, "val_loss": round(loss, 4),
                              "seconds": round(time.time() - start, 1)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
