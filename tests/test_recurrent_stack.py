import itertools

import keras
import numpy as np
import pytest

from seqkit.layers import RecurrentStack, fused_path_blockers, get_initializer
from seqkit.testing import run_layer_test

COMBINATIONS = list(itertools.product(("simple", "lstm", "gru"), (False, True), (1, 2)))


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


@pytest.mark.parametrize("cell,bidirectional", list(itertools.product(("simple", "lstm", "gru"), (False, True))))
def test_return_state(cell, bidirectional):
    stack = RecurrentStack(cell, units=[6, 4], bidirectional=bidirectional, return_sequences=False, return_state=True)
    outputs = stack(np.ones((2, 5, 3), "float32"))
    per_direction = 2 if cell == "lstm" else 1
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
