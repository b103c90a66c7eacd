"""Attention over encoder states for one decoder step: Bahdanau (additive) and Luong (dot, general).

Keras' own `Attention` and `AdditiveAttention` layers score whole query sequences
at once; a recurrent decoder needs one query per step, inside its loop, with the
keys (the encoder side of the score) computed once per source, not once per step.
These layers split the two: `keys(values)` once, then `call(query, values, keys)`
at every step. `keras.ops` only, so they run on every backend and in exports.
"""

import keras
from keras import ops

from seqkit.utils import wide_dtype

ATTENTIONS = ("bahdanau", "luong_dot", "luong_general", "none")


class _StepAttention(keras.layers.Layer):
    """Shared logic: masked softmax over the source, and the weighted sum of its states."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # The source mask comes in as `mask=`; outputs have no time axis.

    def compute_mask(self, *args, **kwargs):
        return None

    def keys(self, values):
        """The encoder side of the score for every source step: computed once per source."""
        raise NotImplementedError

    def scores(self, query, keys):
        raise NotImplementedError

    def call(self, query, values, keys=None, mask=None):
        """Attends from `query` (`(batch, query_dim)`) over `values` (`(batch, steps, value_dim)`).

        Args:
            query: the decoder state that asks.
            values: the encoder states.
            keys: `self.keys(values)`, when precomputed; computed here otherwise.
            mask: `(batch, steps)` booleans, False at padding (which gets weight 0).

        Returns:
            `(context, weights)`: `(batch, value_dim)` and `(batch, steps)`.
        """
        if keys is None:
            keys = self.keys(values)
        scores = self.scores(query, keys)
        scores = ops.cast(scores, wide_dtype(keras.backend.standardize_dtype(scores.dtype)))  # float32 if half.
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        context = ops.einsum("bs,bsd->bd", ops.cast(weights, values.dtype), values)
        return context, weights


@keras.saving.register_keras_serializable(package="seqkit")
class BahdanauAttention(_StepAttention):
    """Additive attention (Bahdanau et al. 2015): `score_j = v . tanh(W_q q + W_k h_j)`.

    Args:
        units: the width of the scoring MLP.

    Examples:
    >>> import numpy as np
    >>> attention = BahdanauAttention(8)
    >>> context, weights = attention(np.ones((2, 4), "float32"), np.ones((2, 5, 6), "float32"))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 6), (2, 5))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive int. Received: units={units!r}")
        self.units = units
        dense = dict(dtype=self.dtype_policy)
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query_projection", **dense)
        self.key_projection = keras.layers.Dense(units, name="key_projection", **dense)
        self.score_vector = keras.layers.Dense(1, use_bias=False, name="score_vector", **dense)

    def build(self, query_shape, values_shape):
        self.query_projection.build(query_shape)
        self.key_projection.build(values_shape)
        self.score_vector.build(tuple(values_shape[:-1]) + (self.units,))
        self.built = True

    def keys(self, values):
        return self.key_projection(values)

    def scores(self, query, keys):
        hidden = ops.tanh(keys + ops.expand_dims(self.query_projection(query), 1))
        return ops.squeeze(self.score_vector(hidden), -1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="seqkit")
class LuongAttention(_StepAttention):
    """Multiplicative attention (Luong et al. 2015): `"dot"` scores `q . h_j`, `"general"` scores `q . W h_j`.

    `"dot"` needs the query and the encoder states to have the same width.

    Args:
        score: `"dot"` or `"general"`.

    Examples:
    >>> import numpy as np
    >>> values = np.array([[[1.0, 0.0], [0.0, 1.0]]], "float32")
    >>> context, weights = LuongAttention("dot")(np.array([[5.0, 0.0]], "float32"), values)
    >>> [round(float(w), 3) for w in weights[0]]
    [0.993, 0.007]
    """

    def __init__(self, score="general", **kwargs):
        super().__init__(**kwargs)
        if score not in ("dot", "general"):
            raise ValueError(f"`score` must be 'dot' or 'general'. Received: score={score!r}")
        self.score = score
        self.key_projection = None

    def build(self, query_shape, values_shape):
        if self.score == "dot":
            if query_shape[-1] is not None and values_shape[-1] is not None and query_shape[-1] != values_shape[-1]:
                raise ValueError(
                    "Luong 'dot' attention needs queries and encoder states of the same width. Received: "
                    f"query width {query_shape[-1]}, encoder state width {values_shape[-1]}. Use 'general'."
                )
        else:
            # `q . (W h_j)`: W maps encoder states to the query's width, once per source.
            self.key_projection = keras.layers.Dense(
                query_shape[-1], use_bias=False, dtype=self.dtype_policy, name="key_projection"
            )
            self.key_projection.build(values_shape)
        self.built = True

    def keys(self, values):
        return values if self.score == "dot" else self.key_projection(values)

    def scores(self, query, keys):
        return ops.einsum("bd,bsd->bs", query, keys)

    def get_config(self):
        return {**super().get_config(), "score": self.score}


def get_attention(attention, units=128, **kwargs):
    """The attention layer for a name in `ATTENTIONS` (`None` for `"none"`)."""
    if attention not in ATTENTIONS:
        raise ValueError(f"`attention` must be one of {ATTENTIONS}. Received: attention={attention!r}")
    if attention == "bahdanau":
        return BahdanauAttention(units, **kwargs)
    if attention == "none":
        return None
    return LuongAttention(attention.split("_", 1)[1], **kwargs)
