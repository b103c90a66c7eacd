"""The classic toy: a character RNN with 3 hidden units learns to spell "hello".

The vocabulary is h, e, l, o. Fed "hell" one character at a time, the network
must answer "ello": after the first "l" the next character is "l", after the
second it is "o", so only the hidden state can tell the two apart. The recipe
prints, for every step, the network's confidence in each character before and
after training, as a table: what the network believes at each step.

Usage:

    python recipes/hello.py                  # "hello", 3 hidden units
    python recipes/hello.py --text=banana --units=4
"""

import dataclasses
import json
import sys

import keras
import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit.layers import RecurrentStack


@dataclasses.dataclass
class Config:
    text: str = "hello"  # The word to learn: predict each next character from those before it.
    units: int = 3  # Hidden units of the SimpleRNN.
    steps: int = 300  # Training steps, each on the one sequence.
    learning_rate: float = 0.05  # Adam learning rate.
    seed: int = 0  # Seeds the initial weights.
    workdir: str = "runs/hello"  # metrics.json goes here.


def vocabulary_of(text):
    """The characters in order of first appearance: "hello" gives h, e, l, o."""
    return list(dict.fromkeys(text))


def encode(text, characters):
    """One-hot inputs (all characters but the last) and target ids (all but the first)."""
    ids = [characters.index(c) for c in text]
    inputs = np.eye(len(characters), dtype="float32")[ids[:-1]][None]
    return inputs, np.array([ids[1:]], dtype="int32")


def build_model(num_characters, units):
    inputs = keras.Input((None, num_characters), name="one_hot")
    hidden = RecurrentStack("simple", units=units, name="recurrent_stack")(inputs)
    outputs = keras.layers.Dense(num_characters, activation="softmax", name="next_character")(hidden)
    return keras.Model(inputs, outputs)


def cross_entropy(probabilities, target_ids):
    """Mean negative log-probability of the targets, in nats (the training loss)."""
    return float(-np.mean(np.log(probabilities[np.arange(len(target_ids)), target_ids])))


def confidence_table(probabilities, text, characters):
    """A table of each step's input, target and confidences; `*` marks a wrong guess."""
    header = "step  input  target | " + " ".join(f"{c!r:>6}" for c in characters) + " | guess"
    rows = [header, "-" * len(header)]
    for step, row in enumerate(probabilities):
        guess = characters[int(np.argmax(row))]
        mark = " " if guess == text[step + 1] else "*"
        cells = " ".join(f"{p:6.3f}" for p in row)
        rows.append(f"{step + 1:4d}  {text[step]!r:>5}  {text[step + 1]!r:>6} | {cells} | {guess!r}{mark}")
    return "\n".join(rows)


def run(config):
    if len(config.text) < 2:
        raise config_lib.ConfigError(f"--text needs at least 2 characters. Received: {config.text!r}")
    if config.units < 1 or config.steps < 0:
        raise config_lib.ConfigError(
            f"--units must be >= 1 and --steps >= 0. Received: units={config.units}, steps={config.steps}"
        )
    characters = vocabulary_of(config.text)
    inputs, targets = encode(config.text, characters)
    seqkit.set_seed(config.seed)
    model = build_model(len(characters), config.units)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy")
    before = model.predict(inputs, verbose=0)[0]
    loss_before = cross_entropy(before, targets[0])
    print(f"Vocabulary: {', '.join(characters)}. Input {config.text[:-1]!r}, target {config.text[1:]!r}; "
          f"a SimpleRNN with {config.units} hidden units.\n")
    print(f"Before training (random weights; loss {loss_before:.3f}):")
    print(confidence_table(before, config.text, characters))
    if config.steps:
        # One epoch of `steps` copies of the sequence, batch 1: one update per copy, without
        # Keras' per-epoch overhead.
        model.fit(np.repeat(inputs, config.steps, axis=0), np.repeat(targets, config.steps, axis=0), batch_size=1,
                  epochs=1, shuffle=False, verbose=0)
    after = model.predict(inputs, verbose=0)[0]
    loss_after = cross_entropy(after, targets[0])
    print(f"\nAfter {config.steps} steps (loss {loss_after:.3f}):")
    print(confidence_table(after, config.text, characters))
    correct = int(sum(characters[int(np.argmax(row))] == config.text[i + 1] for i, row in enumerate(after)))
    print(f"\n{correct} of {len(after)} next characters right.")
    metrics = {
        "text": config.text,
        "characters": characters,
        "loss_before": loss_before,
        "loss_after": loss_after,
        "correct_after": correct,
        "steps": len(after),
        "confidences_before": before.round(4).tolist(),
        "confidences_after": after.round(4).tolist(),
        "config": dataclasses.asdict(config),
    }
    workdir = seqkit.training.resolve_workdir(config.workdir)
    seqkit.training.record_config(workdir, config)
    workdir.mkdir(parents=True, exist_ok=True)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def main(argv=None):
    return config_lib.run_main(Config(), run, sys.argv[1:] if argv is None else argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
