import itertools

import keras
import numpy as np
import pytest

from seqkit.layers import CELLS, PRESETS, RecurrentStack, fused_path_blockers, get_initializer, stack_preset
from seqkit.testing import run_layer_test

COMBINATIONS = list(itertools.product(CELLS, (False, True), (1, 2)))


def constant(value):
    return {"class_name": "Constant", "config": {"value": value}}


@pytest.mark.parametrize("cell,bidirectional,num_layers", COMBINATIONS)
def test_shapes_and_serialization(cell, bidirectional, num_layers):
    inputs = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    width = 4 * (2 if bidirectional else 1)
    run_layer_test(
        RecurrentStack,
        {"cell": cell, "units": 4, "num_layers": num_layers, "bidirectional": bidirectional},
        inputs,
        (2, 5, width),
    )


@pytest.mark.parametrize("cell,bidirectional,num_layers", COMBINATIONS)
def test_padding_changes_nothing(cell, bidirectional, num_layers):
    rng = np.random.default_rng(1)
    short = rng.normal(size=(1, 3, 3)).astype("float32")
    # The same sequence padded with junk (not zeros): the mask alone must hide it.
    padded = np.concatenate([short, rng.normal(size=(1, 4, 3)).astype("float32") * 10], axis=1)
    mask = np.array([[True] * 3 + [False] * 4])
    for return_sequences in (True, False):
        stack = RecurrentStack(cell, units=5, num_layers=num_layers, bidirectional=bidirectional,
                               return_sequences=return_sequences)
        expected = keras.ops.convert_to_numpy(stack(short))
        actual = keras.ops.convert_to_numpy(stack(padded, mask=mask))
        if return_sequences:
            actual = actual[:, :3]
        np.testing.assert_allclose(actual, expected, atol=1e-5)


@pytest.mark.parametrize("cell,bidirectional", list(itertools.product(CELLS, (False, True))))
def test_return_state(cell, bidirectional):
    stack = RecurrentStack(cell, units=[6, 4], bidirectional=bidirectional, return_sequences=False, return_state=True)
    outputs = stack(np.ones((2, 5, 3), "float32"))
    per_direction = 2 if cell in ("lstm", "peephole") else 1
    assert len(outputs) == 1 + per_direction * (2 if bidirectional else 1)
    assert tuple(outputs[0].shape) == (2, 8 if bidirectional else 4)
    assert all(tuple(state.shape) == (2, 4) for state in outputs[1:])
    # The final forward hidden state is the forward half of the output.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs[0])[:, :4], keras.ops.convert_to_numpy(outputs[1]), atol=1e-6)


def test_merge_modes_and_units_list():
    inputs = np.ones((2, 4, 3), "float32")
    assert RecurrentStack("gru", units=[8, 6], bidirectional=True, merge_mode="sum")(inputs).shape == (2, 4, 6)
    assert RecurrentStack("gru", units=[8, 6], bidirectional=True)(inputs).shape == (2, 4, 12)
    assert RecurrentStack("gru", units=7, num_layers=3).num_layers == 3


def test_simple_rnn_known_values():
    # h1 = tanh(0.1 * 1), h2 = tanh(0.1 * 2 + 0.2 * h1), zero bias.
    stack = RecurrentStack("simple", units=1, kernel_initializer=constant(0.1), recurrent_initializer=constant(0.2))
    output = keras.ops.convert_to_numpy(stack(np.array([[[1.0], [2.0]]], "float32")))
    h1 = np.tanh(0.1)
    np.testing.assert_allclose(output.ravel(), [h1, np.tanh(0.2 + 0.2 * h1)], rtol=1e-6)


def test_relu_identity_rnn_known_values():
    # IRNN: relu with an identity recurrent matrix sums its inputs.
    stack = RecurrentStack("simple", units=1, activation="relu", kernel_initializer=constant(1.0),
                           recurrent_initializer="identity")
    output = keras.ops.convert_to_numpy(stack(np.array([[[1.0], [2.0], [3.0]]], "float32")))
    np.testing.assert_allclose(output.ravel(), [1.0, 3.0, 6.0], rtol=1e-6)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_lstm_known_values():
    stack = RecurrentStack("lstm", units=1, kernel_initializer=constant(0.5), recurrent_initializer=constant(0.5))
    inputs = [1.0, -2.0]
    output = keras.ops.convert_to_numpy(stack(np.array([[[x] for x in inputs]], "float32"))).ravel()
    h = c = 0.0
    expected = []
    for x in inputs:
        z = 0.5 * x + 0.5 * h
        i, f, g, o = sigmoid(z), sigmoid(z + 1.0), np.tanh(z), sigmoid(z)  # Keras' unit forget bias is 1.
        c = f * c + i * g
        h = o * np.tanh(c)
        expected.append(h)
    np.testing.assert_allclose(output, expected, rtol=1e-5)


def test_peephole_known_values():
    # Gers & Schmidhuber 2000: the input and forget gates see c_{t-1}, the output gate sees c_t.
    stack = RecurrentStack("peephole", units=1, kernel_initializer=constant(0.5), recurrent_initializer=constant(0.5))
    stack.build((1, 2, 1))
    cell = stack.recurrent_layers[0].cell
    for weight, value in zip(cell.peephole_weights, (0.3, -0.2, 0.7)):
        weight.assign(np.full((1,), value, "float32"))
    inputs = [1.0, -2.0]
    output = keras.ops.convert_to_numpy(stack(np.array([[[x] for x in inputs]], "float32"))).ravel()
    h = c = 0.0
    expected = []
    for x in inputs:
        z = 0.5 * x + 0.5 * h
        i, f = sigmoid(z + 0.3 * c), sigmoid(z + 1.0 - 0.2 * c)  # Keras' unit forget bias is 1.
        c = f * c + i * np.tanh(z)
        h = sigmoid(z + 0.7 * c) * np.tanh(c)
        expected.append(h)
    np.testing.assert_allclose(output, expected, rtol=1e-5)
    # With zero peepholes it is exactly Keras' LSTM.
    lstm = RecurrentStack("lstm", units=3)
    peephole = RecurrentStack("peephole", units=3)
    sequence = np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32")
    lstm(sequence), peephole(sequence)
    peephole_cell = peephole.recurrent_layers[0].cell
    for source, target in zip(lstm.recurrent_layers[0].cell.weights, peephole_cell.weights):
        target.assign(source)
    for weight in peephole_cell.peephole_weights:
        weight.assign(np.zeros((3,), "float32"))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(peephole(sequence)), keras.ops.convert_to_numpy(lstm(sequence)), atol=1e-6
    )


def test_peephole_step_matches_call():
    stack = RecurrentStack("peephole", units=4, num_layers=2)
    sequence = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    states = stack.initial_states(2)
    assert len(states) == 4
    for t in range(3):
        output, states = stack.step(sequence[:, t], states)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(output), keras.ops.convert_to_numpy(stack(sequence)[:, -1]), atol=1e-5
    )


def test_presets():
    assert set(PRESETS) >= {"irnn", "uniform_lstm"}
    irnn = RecurrentStack(units=5, **stack_preset("irnn"))
    irnn(np.ones((1, 3, 4), "float32"))
    cell = irnn.recurrent_layers[0].cell
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.recurrent_kernel), np.eye(5))
    assert cell.activation.__name__ == "relu"
    assert np.abs(keras.ops.convert_to_numpy(cell.kernel)).max() < 0.01  # N(0, 0.001) input weights.
    restored = RecurrentStack.from_config(irnn.get_config())
    assert restored.activation == "relu" and restored.recurrent_initializer == "identity"
    uniform = RecurrentStack(units=16, **stack_preset("uniform_lstm", num_layers=2))
    uniform(np.ones((1, 2, 8), "float32"))
    assert uniform.num_layers == 2
    kernel = keras.ops.convert_to_numpy(uniform.recurrent_layers[1].cell.recurrent_kernel)
    assert 0.07 < np.abs(kernel).max() <= 0.08
    with pytest.raises(ValueError, match="irnn"):
        stack_preset("irnm")


def test_gru_known_values():
    stack = RecurrentStack("gru", units=1, kernel_initializer=constant(0.5), recurrent_initializer=constant(0.5))
    inputs = [1.0, -2.0]
    output = keras.ops.convert_to_numpy(stack(np.array([[[x] for x in inputs]], "float32"))).ravel()
    h, expected = 0.0, []
    for x in inputs:
        z = sigmoid(0.5 * x + 0.5 * h)
        r = sigmoid(0.5 * x + 0.5 * h)
        candidate = np.tanh(0.5 * x + r * (0.5 * h))  # reset_after=True, Keras' (and cuDNN's) default.
        h = z * h + (1 - z) * candidate
        expected.append(h)
    np.testing.assert_allclose(output, expected, rtol=1e-5)


def test_uniform_initializer_range():
    stack = RecurrentStack("lstm", units=16, kernel_initializer="uniform:0.05", recurrent_initializer="uniform:0.05")
    stack(np.ones((1, 2, 8), "float32"))
    kernel = keras.ops.convert_to_numpy(stack.recurrent_layers[0].cell.kernel)
    assert np.abs(kernel).max() <= 0.05 and np.abs(kernel).max() > 0.04
    assert stack.get_config()["kernel_initializer"] == "uniform:0.05"


def test_dropout_only_in_training():
    stack = RecurrentStack("gru", units=4, dropout=0.5, recurrent_dropout=0.3)
    inputs = np.ones((2, 5, 3), "float32")
    inference = [keras.ops.convert_to_numpy(stack(inputs, training=False)) for _ in range(2)]
    np.testing.assert_allclose(inference[0], inference[1])
    training = keras.ops.convert_to_numpy(stack(inputs, training=True))
    assert not np.allclose(training, inference[0])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cell": "transformer"}, "`cell` must be one of"),
        ({"units": 0}, "at least 1 unit"),
        ({"units": "64"}, "`units` must be an int"),
        ({"num_layers": 0}, "`num_layers` must be a positive int"),
        ({"merge_mode": "max"}, "`merge_mode` must be one of"),
        ({"activation": "sigmoid"}, "`activation` must be one of"),
        ({"dropout": 1.0}, "`dropout` must be in"),
        ({"kernel_initializer": "uniform:-1"}, "uniform"),
        ({"kernel_initializer": "no_such_initializer"}, "Initializers are Keras names"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RecurrentStack(**kwargs)


def test_fused_path_blockers():
    assert fused_path_blockers("lstm") == []
    assert fused_path_blockers("gru", activation="tanh", recurrent_dropout=0.0) == []
    assert len(fused_path_blockers("simple", activation="relu", recurrent_dropout=0.1)) == 3


def test_get_initializer_passthrough():
    assert isinstance(get_initializer("orthogonal"), keras.initializers.Orthogonal)
