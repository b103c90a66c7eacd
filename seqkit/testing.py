"""Test helpers that every seqkit layer and builder test calls.

Examples:
>>> import numpy as np
>>> from seqkit.layers import MaskedPooling
>>> outputs = run_layer_test(MaskedPooling, {"mode": "max"}, np.ones((2, 3, 4), "float32"), (2, 4))
"""

import os
import tempfile

import keras
import numpy as np


def run_layer_test(
    layer_class,
    init_kwargs,
    input_data,
    expected_output_shape,
    mask=None,
    expected_num_trainable_weights=None,
    atol=1e-6,
):
    """Checks a layer's output shape, config round-trip and `.keras` round-trip.

    Args:
        layer_class: the layer class to test.
        init_kwargs: constructor arguments.
        input_data: a NumPy input batch.
        expected_output_shape: the expected output shape (a tuple; a list of tuples
            for layers with several outputs).
        mask: an optional boolean mask passed to the layer.
        expected_num_trainable_weights: if given, the count of trainable weights.
        atol: tolerance of the round-trip comparisons.

    Returns:
        The layer's output on `input_data`, as NumPy.
    """
    layer = layer_class(**init_kwargs)
    call_kwargs = {} if mask is None else {"mask": mask}
    output = layer(input_data, **call_kwargs)
    outputs = output if isinstance(output, (list, tuple)) else [output]
    expected = expected_output_shape if isinstance(expected_output_shape, list) else [expected_output_shape]
    actual = [tuple(o.shape) for o in outputs]
    if actual != [tuple(s) for s in expected]:
        raise AssertionError(f"{layer_class.__name__}: expected output shapes {expected}, got {actual}")
    if expected_num_trainable_weights is not None and len(layer.trainable_weights) != expected_num_trainable_weights:
        raise AssertionError(
            f"{layer_class.__name__}: expected {expected_num_trainable_weights} trainable weights, "
            f"got {len(layer.trainable_weights)}"
        )

    # Config round-trip: the same config and weights give the same output.
    config = layer.get_config()
    clone = layer_class.from_config(config)
    clone(input_data, **call_kwargs)
    clone.set_weights(layer.get_weights())
    if clone.get_config() != config:
        raise AssertionError(f"{layer_class.__name__}: get_config() changed after from_config()")
    _assert_close(outputs, clone(input_data, **call_kwargs), atol, "from_config round-trip")

    # `.keras` round-trip inside a functional model.
    if mask is None:
        inputs = keras.Input(shape=input_data.shape[1:], dtype=str(input_data.dtype))
        model = keras.Model(inputs, layer(inputs))
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            model.save(path)
            restored = keras.saving.load_model(path)
        _assert_close(outputs, restored(input_data), atol, ".keras round-trip")
    return [keras.ops.convert_to_numpy(o) for o in outputs] if len(outputs) > 1 else keras.ops.convert_to_numpy(outputs[0])


def _assert_close(expected, actual, atol, what):
    actual = actual if isinstance(actual, (list, tuple)) else [actual]
    for e, a in zip(expected, actual):
        e, a = keras.ops.convert_to_numpy(e), keras.ops.convert_to_numpy(a)
        if not np.allclose(e, a, atol=atol):
            raise AssertionError(f"{what}: outputs differ by up to {np.abs(e - a).max():.3g}")
