"""cell="peephole" in every builder: it trains, survives `.keras` save/load, and exports."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import seqkit
from seqkit.layers import PeepholeLSTMCell
from seqkit.models import language_model, seq2seq

RNG = np.random.default_rng(0)
IDS = np.where(np.arange(6)[None] < np.array([[6], [4], [2]]), RNG.integers(4, 20, (3, 6)), 0).astype("int32")


def numpy(value):
    return keras.ops.convert_to_numpy(value)


def assert_round_trip(model, inputs, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(numpy(restored(inputs)), numpy(model(inputs)), atol=1e-6)
    cells = [layer for layer in _all_layers(restored) if isinstance(getattr(layer, "cell", None), PeepholeLSTMCell)]
    assert cells or any(isinstance(c, PeepholeLSTMCell) for layer in _all_layers(restored)
                        for c in getattr(layer, "cells", []))


def _all_layers(model):
    for layer in model._flatten_layers():
        yield layer


def test_cell_layer_contract(tmp_path):
    # RecurrentStack(cell="peephole") goes through run_layer_test in test_recurrent_stack.py; here the
    # cell itself inside Keras' RNN layer: config and `.keras` round-trips keep its outputs.
    sequence = RNG.normal(size=(2, 4, 5)).astype("float32")
    layer = keras.layers.RNN(PeepholeLSTMCell(3, peephole_initializer="ones"), return_sequences=True)
    expected = numpy(layer(sequence))
    clone = keras.layers.RNN.from_config(layer.get_config())
    clone(sequence)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(clone(sequence)), expected, atol=1e-6)
    assert_round_trip(keras.Sequential([keras.Input((4, 5)), layer]), sequence, tmp_path)
    cell = PeepholeLSTMCell(3, peephole_initializer="zeros")
    assert PeepholeLSTMCell.from_config(cell.get_config()).get_config() == cell.get_config()
    with pytest.raises(ValueError, match="implementation=2"):
        PeepholeLSTMCell(3, implementation=1)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_classifier(tmp_path):
    model = seqkit.build_classifier(20, num_classes=3, cell="peephole", units=4, embedding_dim=5, num_layers=2,
                                    bidirectional=True)
    seqkit.compile_classifier(model)
    model.fit(IDS, np.array([0, 1, 2]), epochs=1, verbose=0)
    assert_round_trip(model, IDS, tmp_path)


def test_tagger(tmp_path):
    model = seqkit.build_tagger(20, ["O", "B-X", "I-X"], cell="peephole", units=4, word_embedding_dim=5,
                                char_encoder=None, casing_dim=0)
    inputs = {"words": IDS}
    assert_round_trip(model, inputs, tmp_path)


def test_seq2seq(tmp_path):
    model = seq2seq.build_seq2seq(20, 12, cell="peephole", embedding_dim=5, units=4, attention_units=4,
                                  decoder_layers=2)
    inputs = {"source_ids": IDS, "target_ids": IDS % 12}
    assert_round_trip(model, inputs, tmp_path)
    # One step at a time reproduces teacher forcing, as for the other cells.
    values, keys, source_mask, carry = seq2seq.encode(model, IDS)
    steps = []
    for t in range(IDS.shape[1]):
        logits, _, carry = seq2seq.decode_step(model, IDS[:, t] % 12, carry, values, keys, source_mask)
        steps.append(numpy(logits))
    np.testing.assert_allclose(np.stack(steps, 1), numpy(model(inputs)), atol=1e-5)


SERVE = """
import json, sys
sys.modules["seqkit"] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](prompts=tf.constant(["ab", ""]))
score = model.signatures["score"](text=tf.constant(["abc"]))
print(json.dumps({"text": [t.decode() for t in out["text"].numpy()], "log_prob": score["log_prob"].numpy().tolist()}))
"""


@pytest.mark.slow  # LSTM LM export is covered by default; ~16 s.
def test_language_model_exports_and_serves_without_seqkit(tmp_path):
    keras.utils.set_random_seed(0)
    vocabulary = seqkit.Vocabulary.build([list("abcdefg")])
    model = language_model.build_language_model(vocabulary.size, embedding_dim=4, cell="peephole", units=6,
                                                num_layers=2)
    path = seqkit.export_language_model(model, vocabulary, strategy="greedy", max_new_tokens=5,
                                        export_root=tmp_path, name="peephole")
    result = subprocess.run([sys.executable, "-c", SERVE, str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    expected = language_model.generate(model, vocabulary, ["ab"], max_new_tokens=5, strategy="greedy")
    assert served["text"][0] == expected[0]
    python_score = language_model.score(model, vocabulary, ["abc"])[0]["log_prob"]
    assert served["log_prob"][0] == pytest.approx(python_score, abs=1e-4)
