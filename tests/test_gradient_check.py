"""Autodiff against central finite differences, in float64, for every custom layer."""

import keras
import numpy as np
import pytest

from seqkit.layers import (
    CRF,
    AttentionDecoder,
    AttentionPooling,
    BahdanauAttention,
    CharacterEncoder,
    DecoderBridge,
    Embedding,
    LuongAttention,
    MaskedPooling,
    NgramEmbedding,
    PeepholeLSTMCell,
    RecurrentStack,
    bio_constraints,
)
from seqkit.testing import gradient_check

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.normal(size=shape)


def assert_checked(errors, expected_weights):
    assert len(errors) == expected_weights
    assert max(errors.values()) < 1e-5


def test_peephole_cell():
    layer = keras.layers.RNN(PeepholeLSTMCell(3), return_sequences=True)
    errors = gradient_check(layer, normal(2, 5, 4), check_inputs=True)
    assert_checked(errors, 6 + 1)  # kernel, recurrent kernel, bias, three peepholes; the input.
    assert any(name.endswith("forget_peephole") for name in errors)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_peephole_stack_deep_bidirectional_with_mask():
    stack = RecurrentStack("peephole", units=3, num_layers=2, bidirectional=True)
    mask = np.array([[True] * 4, [True, True, False, False]])
    errors = gradient_check(stack, normal(2, 4, 3), call_kwargs={"mask": mask}, max_entries_per_weight=2)
    assert_checked(errors, 2 * 2 * 6)


@pytest.mark.parametrize("constrained", [False, True])
def test_crf_log_likelihood(constrained):
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    kwargs = {}
    if constrained:
        allowed, start, end = bio_constraints(tags)
        kwargs = {"allowed_transitions": allowed, "allowed_start": start, "allowed_end": end}
    crf = CRF(len(tags), **kwargs)
    crf.build((None, None, len(tags)))
    gold = np.array([[1, 2, 0, 3], [3, 4, 4, 0]])
    mask = np.array([[True] * 4, [True, True, True, False]])
    errors = gradient_check(
        crf, (normal(2, 4, 5), gold, mask), forward=lambda layer, e, t, m: layer.log_likelihood(e, t, m),
        check_inputs=True,
    )
    assert_checked(errors, 3 + 1)  # Transitions, start, end; the emissions.


def test_bahdanau_attention():
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    errors = gradient_check(BahdanauAttention(4), (normal(2, 3), normal(2, 5, 6)), call_kwargs={"mask": mask},
                            check_inputs=True)
    assert_checked(errors, 4 + 2)  # Query and key projections, key bias, score vector; query and values.


@pytest.mark.parametrize("score,weights", [("dot", 0), ("general", 1)])
def test_luong_attention(score, weights):
    errors = gradient_check(LuongAttention(score), (normal(2, 6), normal(2, 5, 6)), check_inputs=True)
    assert_checked(errors, weights + 2)


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole"])
@pytest.mark.parametrize("attention", ["bahdanau", "luong_general", "luong_dot", "none"])
def test_attention_decoder(cell, attention):
    # Gradients reach the encoder states through the attention (and the bridge, below).
    # Two layers for the LSTM; one for the others keeps the suite short (every step's cell is the same code).
    decoder = AttentionDecoder(cell, units=4, num_layers=2 if cell == "lstm" else 1, attention=attention,
                               attention_units=3, input_feeding=attention != "none")
    values = normal(2, 5, 4)
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    errors = gradient_check(
        decoder, (normal(2, 3, 3), values), call_kwargs={"source_mask": mask}, check_inputs=True,
        max_entries_per_weight=4,
    )
    assert max(errors.values()) < 1e-5
    assert errors["input_1"] < 1e-5  # "none" reads the encoder states through its summary.


@pytest.mark.parametrize("mode", ["final", "backward_first"])
def test_decoder_bridge(mode):
    bridge = DecoderBridge(mode, units=3, num_layers=2, states_per_layer=2, bidirectional=True)
    mask = np.array([[True] * 4, [True, True, False, False]])
    errors = gradient_check(bridge, (normal(2, 4, 6), mask), check_inputs=True)
    assert_checked(errors, 4 + 1)


def test_attention_pooling():
    mask = np.array([[True] * 4, [True, True, False, False]])
    errors = gradient_check(AttentionPooling(hidden_dim=3), normal(2, 4, 5), call_kwargs={"mask": mask},
                            check_inputs=True)
    assert max(errors.values()) < 1e-5


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_masked_pooling(mode):
    mask = np.array([[True] * 4, [True, True, False, False]])
    errors = gradient_check(MaskedPooling(mode), normal(2, 4, 3), call_kwargs={"mask": mask}, check_inputs=True)
    assert_checked(errors, 1)


def test_embeddings():
    ids = np.array([[5, 7, 9, 0], [3, 3, 8, 2]])
    assert_checked(gradient_check(Embedding(12, 3), ids), 1)  # The TensorFlow fast path's sparse gradient.
    ngrams = NgramEmbedding(12, 3, orders=(1, 2, 3), num_buckets=50)
    assert_checked(gradient_check(ngrams, ids), 1)


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_character_encoder(encoder):
    chars = np.array([[[3, 4, 5, 0], [6, 0, 0, 0]], [[7, 8, 9, 10], [0, 0, 0, 0]]])
    layer = CharacterEncoder(12, encoder=encoder, embedding_dim=3, hidden_dim=2, kernel_size=2)
    errors = gradient_check(layer, chars, max_entries_per_weight=4)
    assert max(errors.values()) < 1e-5


class _StoppedWeight(keras.layers.Layer):
    """A layer whose autodiff gradient is wrong on purpose: its weight's path is cut."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, inputs):
        return inputs * keras.ops.stop_gradient(self.scale)


def test_a_wrong_gradient_fails_loudly():
    with pytest.raises(AssertionError, match=r"scale: relative error 1 .*autodiff 0"):
        gradient_check(_StoppedWeight(), normal(2, 3))


def test_tolerance_and_entries():
    layer = keras.layers.Dense(4)
    errors = gradient_check(layer, normal(3, 5), max_entries_per_weight=None)
    assert set(errors) == {layer.kernel.path, layer.bias.path}
    # The original layer keeps float32 weights: the check works on a float64 copy.
    assert layer.kernel.dtype == "float32"
    with pytest.raises(AssertionError, match="tolerance 0"):
        gradient_check(layer, normal(3, 5), tolerance=0.0, epsilon=1e-1, loss_fn=lambda y: keras.ops.sum(y**4))
