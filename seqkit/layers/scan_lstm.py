"""An LSTM whose CPU training loop does only the recurrent products.

Why our own: on CPU, Keras' `LSTM` runs the generic `backend.rnn` loop, and
automatic differentiation of that loop computes every step's input projection
and weight gradients inside the loop, as small `(batch, units)` products. cuDNN
and PyTorch's CPU LSTM instead project the inputs of all steps in one matmul
before the loop and form the weight gradients in one matmul after it; only
`h @ recurrent_kernel` (forward) and `dz @ recurrent_kernelᵀ` (backward) stay
in the loop. No maintained Keras 3 library does this on CPU (keras-hub has no
recurrent layers), so `lstm_sequence` writes that backward pass by hand with
`keras.ops.custom_gradient` and `keras.ops.scan`, which keeps it
backend-agnostic (TensorFlow and JAX).
"""

import functools

import keras
from keras import ops


def _lstm_step(h, c, inputs, recurrent_kernel, masked):
    """One step over `inputs` (the projection, then the mask when `masked`).

    Returns `(new_h, new_c, gates, unmasked_c)`: the states after the step
    (carried over where masked), the activated `[i, f, g, o]`, and the cell
    state before masking.
    """
    units = recurrent_kernel.shape[0]
    projection, step_mask = ops.split(inputs, [4 * units], axis=-1) if masked else (inputs, None)
    i, f, g, o = ops.split(projection + ops.matmul(h, recurrent_kernel), 4, axis=-1)
    i, f, g, o = ops.sigmoid(i), ops.sigmoid(f), ops.tanh(g), ops.sigmoid(o)
    unmasked_c = f * c + i * g
    new_h, new_c = o * ops.tanh(unmasked_c), unmasked_c
    if masked:
        new_c = c + step_mask * (new_c - c)
        new_h = h + step_mask * (new_h - h)
    return new_h, new_c, [i, f, g, o], unmasked_c


def lstm_sequence(input_projections, recurrent_kernel, initial_h, initial_c, mask=None):
    """Runs an LSTM over precomputed input projections, with a hand-written backward pass.

    Gates are ordered `[i, f, g, o]` as in Keras (`sigmoid` gates, `tanh`
    candidate and output), so `input_projections = x @ kernel + bias` with a
    Keras `LSTMCell`'s weights reproduces `keras.layers.LSTM`.

    Args:
        input_projections: `(time, batch, 4 * units)`, time-major.
        recurrent_kernel: `(units, 4 * units)`.
        initial_h, initial_c: `(batch, units)` initial states.
        mask: optional `(time, batch, 1)` floats, 1 for real steps; at a masked
            step the states are carried over unchanged, as Keras' RNNs do.

    Returns:
        `(hidden, cell)`: the `(time, batch, units)` outputs and cell states of
        every step.

    Examples:
    >>> import numpy as np
    >>> projections = np.zeros((3, 2, 8), "float32")
    >>> hidden, cell = lstm_sequence(projections, np.zeros((2, 8), "float32"),
    ...                              np.zeros((2, 2), "float32"), np.zeros((2, 2), "float32"))
    >>> tuple(hidden.shape), float(hidden[0, 0, 0])
    ((3, 2, 2), 0.0)
    """
    masked = mask is not None
    units = recurrent_kernel.shape[0]

    @ops.custom_gradient
    def run(input_projections, recurrent_kernel, initial_h, initial_c, mask):
        # Each step saves its activated gates (and, with a mask, its new cell
        # state before masking) for the backward pass. Keras' TensorFlow `scan`
        # wants each step's outputs shaped like the carry, so they ride in both.
        def step(carry, inputs):
            h, c, _ = carry
            new_h, new_c, saved, unmasked_c = _lstm_step(h, c, inputs, recurrent_kernel, masked)
            if masked:
                saved.append(unmasked_c)
            carry = (new_h, new_c, ops.concatenate(saved, axis=-1))
            return carry, carry

        # One tensor to scan over: Keras' TensorFlow `scan` fails on several
        # when the number of steps is unknown while tracing.
        inputs = ops.concatenate([input_projections, mask], axis=-1) if masked else input_projections
        saved_width = 5 * units if masked else 4 * units
        initial_saved = ops.zeros((ops.shape(initial_h)[0], saved_width), initial_h.dtype)
        _, (hidden, cell, saved) = ops.scan(step, (initial_h, initial_c, initial_saved), inputs)

        def grad(*args, upstream=None):
            if upstream is None:  # TensorFlow passes one argument per output, JAX one tuple.
                upstream = args[0] if len(args) == 1 else args
            d_hidden, d_cell = upstream
            d_hidden = ops.zeros_like(hidden) if d_hidden is None else d_hidden
            d_cell = ops.zeros_like(cell) if d_cell is None else d_cell
            previous_cell = ops.concatenate([initial_c[None], cell[:-1]], axis=0)
            previous_hidden = ops.concatenate([initial_h[None], hidden[:-1]], axis=0)
            transposed_kernel = ops.transpose(recurrent_kernel)

            def back(carry, inputs):
                dh_next, dc_next, _ = carry
                if masked:
                    dh_out, dc_out, c_previous, i, f, g, o, new_c, step_mask = ops.split(
                        inputs, [units * k for k in range(1, 9)], axis=-1
                    )
                else:
                    dh_out, dc_out, c_previous, i, f, g, o, new_c = ops.split(inputs, 8, axis=-1)
                dh = dh_out + dh_next
                dc = dc_out + dc_next
                # The gradients reaching this step's own update (all of them without a mask).
                dh_new, dc_new = (step_mask * dh, step_mask * dc) if masked else (dh, dc)
                tanh_c = ops.tanh(new_c)
                dc_new = dc_new + dh_new * o * (1.0 - tanh_c * tanh_c)
                dz = ops.concatenate(
                    [dc_new * g * i * (1.0 - i), dc_new * c_previous * f * (1.0 - f), dc_new * i * (1.0 - g * g),
                     dh_new * tanh_c * o * (1.0 - o)],
                    axis=-1,
                )
                dh_previous, dc_previous = ops.matmul(dz, transposed_kernel), dc_new * f
                if masked:  # A masked step passed the states through.
                    dh_previous = dh_previous + (1.0 - step_mask) * dh
                    dc_previous = dc_previous + (1.0 - step_mask) * dc
                carry = (dh_previous, dc_previous, dz)
                return carry, carry

            zeros = (ops.zeros_like(initial_h), ops.zeros_like(initial_c), ops.zeros_like(input_projections[0]))
            # Without a mask the new cell state is the cell state itself.
            parts = [d_hidden, d_cell, previous_cell, saved] if masked else [d_hidden, d_cell, previous_cell, saved, cell]
            if masked:
                parts.append(mask)
            (d_initial_h, d_initial_c, _), (_, _, d_projections) = ops.scan(
                back, zeros, ops.concatenate(parts, axis=-1), reverse=True
            )
            # The weight gradient of all steps at once: one (units × time·batch) product.
            d_recurrent_kernel = ops.matmul(
                ops.transpose(ops.reshape(previous_hidden, (-1, units))),
                ops.reshape(d_projections, (-1, 4 * units)),
            )
            return d_projections, d_recurrent_kernel, d_initial_h, d_initial_c, ops.zeros_like(mask)

        return (hidden, cell), grad

    if not masked:  # A placeholder input: `custom_gradient` functions take tensors only.
        mask = ops.zeros((1,), input_projections.dtype)
    return run(input_projections, recurrent_kernel, initial_h, initial_c, mask)


def lstm_sequence_forward(input_projections, recurrent_kernel, initial_h, initial_c, mask=None):
    """`lstm_sequence` for inference: the same outputs, without saving the gates for a backward pass.

    Gradients still flow, by the backend's differentiation of the loop (slower
    than `lstm_sequence`'s).
    """
    def step(carry, inputs):
        new_h, new_c, _, _ = _lstm_step(*carry, inputs, recurrent_kernel, mask is not None)
        return (new_h, new_c), (new_h, new_c)

    inputs = input_projections if mask is None else ops.concatenate([input_projections, mask], axis=-1)
    _, (hidden, cell) = ops.scan(step, (initial_h, initial_c), inputs)
    return hidden, cell


@functools.lru_cache(maxsize=None)
def _on_cpu():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend() == "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")
    return False  # Other backends keep Keras' own loop.


@keras.saving.register_keras_serializable(package="seqkit")
class ScanLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with a faster training loop on CPU; the same weights and results.

    On CPU, with `recurrent_dropout=0`, the default activations, biases and no
    unrolling, it runs `lstm_sequence` (masks included): the input
    projections of all steps in one matmul, a loop of recurrent products only,
    and a hand-written backward pass whose weight gradient is one matmul. On
    GPU, or with other options, it is Keras' `LSTM` (cuDNN where
    eligible). Its variables, config and checkpoints are the LSTM's.
    At a masked step the states carry over and the output repeats the last
    one (or is zero, with `zero_output_for_mask`), as in Keras' loop.

    Examples:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    >>> fast = ScanLSTM(4, return_sequences=True)
    >>> plain = keras.layers.LSTM(4, return_sequences=True)
    >>> _ = fast(x), plain(x)
    >>> plain.set_weights(fast.get_weights())
    >>> bool(np.allclose(fast(x), plain(x), atol=1e-5))
    True
    """

    def _scan_eligible(self):
        cell = self.cell
        return (
            not self.recurrent_dropout
            and not self.unroll
            and cell.use_bias
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and _on_cpu()
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self._scan_eligible():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if training and self.dropout:
            # One mask for every step, as Keras' cell and the cuDNN path do.
            sequences = sequences * ops.expand_dims(self.cell.get_dropout_mask(sequences[:, 0, :]), axis=1)
        dtype = sequences.dtype
        kernel = ops.cast(self.cell.kernel, dtype)
        recurrent_kernel = ops.cast(self.cell.recurrent_kernel, dtype)
        bias = ops.cast(self.cell.bias, dtype)
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, dtype)), axis=-1)  # (time, batch, 1)
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=0)
        # One matmul for the input projections of every step, time-major.
        projections = ops.einsum("btf,fg->tbg", sequences, kernel) + bias
        # Training saves the gates for the hand-written backward pass; inference needs none.
        run = lstm_sequence if training else lstm_sequence_forward
        hidden, cell = run(
            projections, recurrent_kernel, ops.cast(initial_state[0], dtype), ops.cast(initial_state[1], dtype),
            mask=mask,
        )
        outputs = hidden
        if mask is not None and self.zero_output_for_mask:  # `Bidirectional` sets it when returning sequences.
            outputs = outputs * mask
        # Outputs in the order processed (reversed when `go_backwards`), as `backend.rnn` returns them.
        return outputs[-1], ops.transpose(outputs, (1, 0, 2)), [hidden[-1], cell[-1]]
