"""Reverses each sequence of a right-padded batch within its own length."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class ReverseSequence(keras.layers.Layer):
    """Reverses the unmasked steps of each row of `(batch, time, ...)`; padded steps stay where they are.

    `[a, b, c, pad]` becomes `[c, b, a, pad]`, so a backward language model is a
    forward one run on the reversed rows, and applying the layer again puts its
    outputs back in reading order. Without a mask the whole time axis is reversed.

    Examples:
    >>> import numpy as np
    >>> x = np.array([[[1.0], [2.0], [3.0], [0.0]]], "float32")
    >>> ReverseSequence()(x, mask=np.array([[True, True, True, False]]))[0, :, 0].numpy().tolist()
    [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.flip(inputs, axis=1)
        time = ops.shape(inputs)[1]
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True)  # (batch, 1)
        positions = ops.expand_dims(ops.arange(time, dtype="int32"), 0)  # (1, time)
        # Step t of a row of length n reads step n - 1 - t; padded steps read themselves.
        source = ops.where(positions < lengths, lengths - 1 - positions, positions)
        for _ in range(len(inputs.shape) - 2):
            source = ops.expand_dims(source, -1)
        source = ops.broadcast_to(source, ops.shape(inputs))
        return ops.take_along_axis(inputs, source, axis=1)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape
