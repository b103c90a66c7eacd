"""Masked pooling over time: max, mean, and additive attention."""

import keras
from keras import ops

POOLINGS = ("last", "max", "mean", "attention")


@keras.saving.register_keras_serializable(package="seqkit")
class MaskedPooling(keras.layers.Layer):
    """Max or mean over the unmasked time steps of a `(batch, time, features)` tensor.

    Args:
        mode: `"max"` or `"mean"`.

    Examples:
    >>> import numpy as np
    >>> x = np.array([[[1.0], [5.0], [9.0]]], "float32")
    >>> MaskedPooling("max")(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[5.0]]
    """

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "mean"):
            raise ValueError(f"`mode` must be 'max' or 'mean'. Received: mode={mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1) if self.mode == "max" else ops.mean(inputs, axis=1)
        mask = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        if self.mode == "max":
            # Masked steps get the dtype's lowest value, so they never win.
            lowest = ops.cast(-3.0e38 if inputs.dtype == "float32" else -6.0e4, inputs.dtype)
            return ops.max(ops.where(mask > 0, inputs, lowest), axis=1)
        total = ops.sum(inputs * mask, axis=1)
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="seqkit")
class AttentionPooling(keras.layers.Layer):
    """Additive attention pooling: a learned weighted average of the time steps.

    `score_t = v . tanh(W h_t + b)`; the weights are a softmax of the scores over
    unmasked steps, and the output is `sum_t weight_t h_t`.

    Args:
        hidden_dim: the width of the scoring MLP.
        return_attention: also return the `(batch, time)` weights.

    Examples:
    >>> import numpy as np
    >>> tuple(AttentionPooling(8)(np.ones((2, 4, 3), "float32")).shape)
    (2, 3)
    """

    def __init__(self, hidden_dim=64, return_attention=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(hidden_dim, int) or hidden_dim < 1:
            raise ValueError(f"`hidden_dim` must be a positive int. Received: hidden_dim={hidden_dim!r}")
        self.hidden_dim = hidden_dim
        self.return_attention = bool(return_attention)
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(features, self.hidden_dim), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.hidden_dim,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(self.hidden_dim,), initializer="glorot_uniform")

    def call(self, inputs, mask=None):
        scores = ops.tensordot(ops.tanh(ops.matmul(inputs, self.kernel) + self.bias), self.score_vector, axes=1)
        if mask is not None:
            scores = ops.where(mask, scores, ops.cast(-1e9, scores.dtype))
        weights = ops.softmax(scores, axis=-1)
        pooled = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        return (pooled, weights) if self.return_attention else pooled

    def compute_mask(self, inputs, mask=None):
        return (None, None) if self.return_attention else None

    def compute_output_shape(self, input_shape):
        pooled = (input_shape[0], input_shape[2])
        return (pooled, (input_shape[0], input_shape[1])) if self.return_attention else pooled

    def get_config(self):
        return {**super().get_config(), "hidden_dim": self.hidden_dim, "return_attention": self.return_attention}
