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


def gradient_check(
    layer_or_model,
    inputs,
    loss_fn=None,
    forward=None,
    call_kwargs=None,
    check_inputs=False,
    epsilon=1e-5,
    tolerance=1e-5,
    max_entries_per_weight=12,
    seed=0,
):
    """Compares autodiff gradients with central finite differences, in float64.

    A float64 copy of the layer (rebuilt from its config, with its weights) is
    differentiated twice: by the backend's autodiff, and by `(L(w + e) - L(w - e)) / 2e`
    for up to `max_entries_per_weight` entries of every trainable weight. The
    relative error of an entry is `|autodiff - numeric| / max(|autodiff|, |numeric|,
    floor)`, with `floor = 1e-5 * max(1, |L|)`, above the numeric gradient's
    round-off (`|L| * 1e-16 / epsilon`).

    Args:
        layer_or_model: a built layer or model, or one that `forward` builds.
        inputs: one array or a tuple of arrays: the call's positional arguments.
            Float arrays are cast to float64; integer and boolean ones are kept.
        loss_fn: `loss_fn(outputs) -> scalar`. Default: the sum of every float
            output times fixed random weights (so no gradient cancels by symmetry).
        forward: `forward(layer, *inputs) -> outputs`, for a method other than
            `__call__` (e.g. `lambda crf, e, t: crf.log_likelihood(e, t)`).
        call_kwargs: extra keyword arguments of the call (default `forward`).
        check_inputs: also check the gradients of the float inputs.
        epsilon: the finite-difference step.
        tolerance: the largest relative error allowed.
        max_entries_per_weight: entries checked per weight, drawn with `seed`
            (None: all).
        seed: seeds the entries and the default loss's weights.

    Returns:
        A dict `{weight path: max relative error}` (`input_<i>` for inputs).

    Raises:
        AssertionError: naming every weight past `tolerance`, with the worst entry.

    Examples:
    >>> import numpy as np
    >>> layer = keras.layers.GRU(3, return_sequences=True)
    >>> errors = gradient_check(layer, np.random.default_rng(0).normal(size=(2, 4, 5)))
    >>> max(errors.values()) < 1e-5
    True
    """
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            raise ValueError("gradient_check on JAX needs float64: set JAX_ENABLE_X64=1 before starting Python.")
    call_kwargs = dict(call_kwargs or {})
    forward = forward or (lambda layer, *args: layer(*args, **call_kwargs))
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    inputs64 = tuple(_as_float64(x) for x in inputs)
    rng = np.random.default_rng(seed)

    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        if not layer_or_model.built:
            forward(layer_or_model, *inputs)
        config = _float64_config(layer_or_model.get_config())
        clone = layer_or_model.__class__.from_config(config)
        if not clone.built:
            clone.build_from_config(layer_or_model.get_build_config())
        clone.set_weights([np.asarray(w, dtype="float64") for w in layer_or_model.get_weights()])

        if loss_fn is None:
            projections = {}

            def loss_fn(outputs):
                total = 0.0
                for index, output in enumerate(keras.tree.flatten(outputs)):
                    if output is None or "float" not in str(keras.backend.standardize_dtype(output.dtype)):
                        continue
                    if index not in projections:
                        projections[index] = rng.normal(size=tuple(output.shape))
                    total = total + keras.ops.sum(keras.ops.cast(output, "float64") * projections[index])
                return total

        variables = list(clone.trainable_variables)
        checked_inputs = [i for i, x in enumerate(inputs64) if check_inputs and x.dtype == np.float64]

        def loss_at(input_values=None):
            args = list(inputs64)
            for i, value in zip(checked_inputs, input_values or []):
                args[i] = value
            return float(keras.ops.convert_to_numpy(loss_fn(forward(clone, *args))))

        analytic = _autodiff(variables, inputs64, checked_inputs, lambda *args: loss_fn(forward(clone, *args)))
        loss = loss_at()
        floor = 1e-5 * max(1.0, abs(loss))
        errors, failures = {}, []
        targets = [(v.path, v, None) for v in variables] + [(f"input_{i}", None, i) for i in checked_inputs]
        for (name, variable, input_index), gradient in zip(targets, analytic):
            values = keras.ops.convert_to_numpy(variable) if variable is not None else inputs64[input_index]
            size = values.size
            count = size if max_entries_per_weight is None else min(size, max_entries_per_weight)
            worst, worst_entry = 0.0, None
            for flat in rng.choice(size, count, replace=False):
                numeric = []
                for sign in (1.0, -1.0):
                    shifted = values.copy().reshape(-1)
                    shifted[flat] += sign * epsilon
                    shifted = shifted.reshape(values.shape)
                    if variable is not None:
                        variable.assign(shifted)
                        numeric.append(loss_at())
                    else:
                        numeric.append(loss_at([shifted if i == input_index else inputs64[i] for i in checked_inputs]))
                if variable is not None:
                    variable.assign(values)
                numeric = (numeric[0] - numeric[1]) / (2 * epsilon)
                auto = float(np.asarray(gradient).reshape(-1)[flat])
                error = abs(auto - numeric) / max(abs(auto), abs(numeric), floor)
                if error >= worst:
                    worst, worst_entry = error, (int(flat), auto, numeric)
            errors[name] = worst
            if worst > tolerance:
                flat, auto, numeric = worst_entry
                failures.append(
                    f"{name}: relative error {worst:.3g} at flat index {flat} (autodiff {auto:.6g}, numeric {numeric:.6g})"
                )
    finally:
        keras.config.set_dtype_policy(previous_policy)
    if failures:
        raise AssertionError(
            f"Gradient check of {layer_or_model.__class__.__name__} failed (tolerance {tolerance}):\n  "
            + "\n  ".join(failures)
        )
    return errors


def _as_float64(value):
    value = np.asarray(keras.ops.convert_to_numpy(value))
    return value.astype("float64") if np.issubdtype(value.dtype, np.floating) else value


def _float64_config(config):
    """`config` with every float32 dtype (policies included) made float64."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float64"}}
        return {key: _float64_config(value) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return type(config)(_float64_config(value) for value in config)
    return "float64" if config in ("float32", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16") else config


def _autodiff(variables, inputs, checked_inputs, loss_of_inputs):
    """Gradients of the loss for `variables`, then for `inputs[i]`, i in `checked_inputs`."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        args = [tf.constant(x) for x in inputs]
        with tf.GradientTape() as tape:
            for i in checked_inputs:
                tape.watch(args[i])
            loss = loss_of_inputs(*args)
        gradients = tape.gradient(loss, variables + [args[i] for i in checked_inputs])
        return [np.zeros(tuple(t.shape)) if g is None else tf.convert_to_tensor(g).numpy() for g, t in
                zip(gradients, variables + [args[i] for i in checked_inputs])]
    if backend == "jax":
        import jax

        def loss(values, input_values):
            args = list(inputs)
            for i, value in zip(checked_inputs, input_values):
                args[i] = value
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return loss_of_inputs(*args)

        values = [v.value for v in variables]
        grads, input_grads = jax.grad(loss, argnums=(0, 1))(values, [inputs[i] for i in checked_inputs])
        return [np.asarray(g) for g in list(grads) + list(input_grads)]
    raise NotImplementedError(f"gradient_check supports the tensorflow and jax backends. Received: {backend!r}")
