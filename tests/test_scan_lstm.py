"""`ScanLSTM`: Keras' LSTM with a hand-written CPU backward pass; it must match `keras.layers.LSTM`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.layers import RecurrentStack, ScanLSTM, lstm_sequence
from seqkit.testing import gradient_check

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 7, 5)).astype("float32")


def twins(units=4, **kwargs):
    """A `ScanLSTM` and a `keras.layers.LSTM` with the same weights."""
    fast, plain = ScanLSTM(units, **kwargs), keras.layers.LSTM(units, **kwargs)
    fast.build(X.shape), plain.build(X.shape)
    # Non-zero biases, so that a dropped bias would show.
    weights = [w + RNG.normal(scale=0.1, size=w.shape).astype("float32") for w in fast.get_weights()]
    fast.set_weights(weights), plain.set_weights(weights)
    return fast, plain


def as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_sequences": True},
        {"return_sequences": False, "return_state": True},
        {"return_sequences": True, "go_backwards": True},
    ],
)
@pytest.mark.parametrize("training", [False, True])  # `lstm_sequence_forward`, `lstm_sequence`.
def test_matches_keras_lstm(kwargs, training):
    fast, plain = twins(**kwargs)
    initial = [RNG.normal(size=(3, 4)).astype("float32") for _ in range(2)]
    assert fast._scan_eligible()
    got = fast(X, initial_state=initial, training=training)
    for got, expected in zip(as_list(got), as_list(plain(X, initial_state=initial))):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_gradients_match_keras_lstm():
    # A bidirectional layer (its backward copy runs `go_backwards`) under a second layer.
    def model(layer_class):
        inputs = keras.Input((7, 5))
        x = keras.layers.Bidirectional(layer_class(6, return_sequences=True))(inputs)
        x = layer_class(4, return_sequences=True)(x)
        return keras.Model(inputs, keras.layers.Dense(2)(x))

    fast, plain = model(ScanLSTM), model(keras.layers.LSTM)
    plain.set_weights(fast.get_weights())
    targets = RNG.normal(size=(3, 7, 2)).astype("float32")
    x = tf.constant(X)

    def gradients(model):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean((model(x, training=True) - targets) ** 2)
        return tape.gradient(loss, [*model.trainable_variables, x])

    for got, expected in zip(gradients(fast), gradients(plain)):
        np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("masked", [False, True])
def test_finite_differences(masked):
    layer = ScanLSTM(3, return_sequences=True, return_state=True)
    call_kwargs = {"training": True}  # The hand-written backward pass (inference differentiates the loop).
    if masked:
        call_kwargs["mask"] = np.array([[True] * 5, [True, True, True, False, False]])
    errors = gradient_check(layer, RNG.normal(size=(2, 5, 4)), call_kwargs=call_kwargs, check_inputs=True)
    assert len(errors) == 3 + 1 and max(errors.values()) < 1e-5  # kernel, recurrent kernel, bias; the input.


def test_lstm_sequence_known_values():
    # Zero weights: every gate is sigmoid(0) = 0.5 and the candidate tanh(0) = 0, so c halves each
    # step and h = 0.5 * tanh(c).
    units, c0 = 2, np.array([[1.0, -2.0]], "float32")
    hidden, cell = lstm_sequence(
        np.zeros((3, 1, 4 * units), "float32"), np.zeros((units, 4 * units), "float32"),
        np.zeros((1, units), "float32"), c0,
    )
    expected_cell = np.stack([c0 * 0.5**t for t in (1, 2, 3)])
    np.testing.assert_allclose(cell, expected_cell, rtol=1e-6)
    np.testing.assert_allclose(hidden, 0.5 * np.tanh(expected_cell), rtol=1e-6)


MASK = np.array([[True] * 7, [True] * 4 + [False] * 3, [True] * 2 + [False] * 5])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_sequences": True},
        {"return_sequences": True, "zero_output_for_mask": True},
        {"return_sequences": False, "return_state": True, "go_backwards": True},
    ],
)
@pytest.mark.parametrize("training", [False, True])
def test_masks_match_keras_lstm(kwargs, training):
    fast, plain = twins(**kwargs)
    for got, expected in zip(as_list(fast(X, mask=MASK, training=training)), as_list(plain(X, mask=MASK))):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_masked_gradients_match_keras_lstm():
    def model(layer_class):
        inputs = keras.Input((7, 5))
        mask = keras.Input((7,), dtype="bool")
        x = keras.layers.Bidirectional(layer_class(6, return_sequences=True))(inputs, mask=mask)
        x = layer_class(4)(x, mask=mask)
        return keras.Model([inputs, mask], keras.layers.Dense(2)(x))

    fast, plain = model(ScanLSTM), model(keras.layers.LSTM)
    plain.set_weights(fast.get_weights())
    targets = RNG.normal(size=(3, 2)).astype("float32")
    x = tf.constant(X)

    def gradients(model):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean((model([x, tf.constant(MASK)], training=True) - targets) ** 2)
        return tape.gradient(loss, [*model.trainable_variables, x])

    for got, expected in zip(gradients(fast), gradients(plain)):
        np.testing.assert_allclose(got, expected, atol=1e-6)
    # Nothing reaches the padded inputs.
    assert np.abs(gradients(fast)[-1].numpy()[~MASK]).max() == 0.0


def test_options_outside_the_scan_use_keras_loop():
    assert not ScanLSTM(4, recurrent_dropout=0.1)._scan_eligible()
    assert not ScanLSTM(4, activation="relu")._scan_eligible()
    assert not ScanLSTM(4, use_bias=False)._scan_eligible()


def test_dropout_one_mask_for_every_step():
    # Identical input steps, no recurrence and a closed forget gate: each step's output depends
    # only on that step's dropped-out input, so one mask for the sequence gives equal steps.
    layer = ScanLSTM(8, dropout=0.5, return_sequences=True, seed=3)
    x = np.repeat(RNG.normal(size=(2, 1, 5)).astype("float32"), 6, axis=1)
    layer.build(x.shape)
    layer.cell.recurrent_kernel.assign(np.zeros((8, 32), "float32"))
    layer.cell.bias.assign(np.concatenate([np.zeros(8), np.full(8, -100.0), np.zeros(16)]).astype("float32"))
    training, inference = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=False))
    assert not np.allclose(training, inference)
    np.testing.assert_allclose(training, np.repeat(training[:, :1], 6, axis=1), atol=1e-6)


def test_stack_uses_it_and_saves(tmp_path):
    inputs = keras.Input((None, 5))
    stack = RecurrentStack("lstm", units=4, num_layers=2, bidirectional=True)
    model = keras.Model(inputs, stack(inputs))
    assert all(isinstance(layer.forward_layer, ScanLSTM) for layer in stack.recurrent_layers)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored(X), model(X), atol=1e-6)
