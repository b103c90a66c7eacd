"""A recurrent decoder that attends over the encoder states at every step, and its initial state.

Keras' `RNN` layer cannot carry the encoder states into its cell (Keras 3 has no
`constants` argument), so the decoder runs its own loop with `keras.ops.scan`;
`step` is the same computation, one token at a time, for greedy and beam decoding.
"""

import keras
from keras import ops

from seqkit.layers.attention import ATTENTIONS, get_attention
from seqkit.layers.peephole import PeepholeLSTMCell
from seqkit.layers.recurrent_stack import TWO_STATE_CELLS, get_initializer
from seqkit.utils import wide_dtype

DECODER_CELLS = ("lstm", "gru", "peephole")
_CELL_CLASSES = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell, "peephole": PeepholeLSTMCell}
INITIAL_STATES = ("zeros", "final", "backward_first")


@keras.saving.register_keras_serializable(package="seqkit")
class AttentionDecoder(keras.layers.Layer):
    """A GRU/LSTM decoder with Bahdanau or Luong attention (or none) at every step.

    One step, with `y` the previous target token's embedding, `s` the top layer's
    state and `h~` the attentional state:
    - `"bahdanau"`: `c_t = attend(s_{t-1})`, `s_t = RNN([y; c_t], s_{t-1})`;
    - `"luong_dot"`, `"luong_general"`: `s_t = RNN(y, s_{t-1})`, `c_t = attend(s_t)`;
    - `"none"`: as `"bahdanau"`, with one `c` for every step: the mean of the encoder
      states over the real source tokens (uniform weights, which it returns). This is
      the fixed summary vector of Cho et al. (2014), the "RNNencdec" baseline that
      Bahdanau et al. (2015) measured attention against;
    - then `h~_t = tanh(W [c_t; s_t])`, the step's output.
    With `input_feeding` (Luong et al. 2015), `h~_{t-1}` joins the RNN's input.

    Args:
        cell: `"lstm"`, `"gru"` or `"peephole"`.
        units: units of every decoder layer (and of `h~`).
        num_layers: stacked decoder layers.
        attention: one of `ATTENTIONS`.
        attention_units: the width of Bahdanau's scoring MLP.
        input_feeding: feed `h~_{t-1}` back into the next step's input.
        kernel_initializer, recurrent_initializer: as in `RecurrentStack`.

    Call arguments:
        inputs: `(batch, target_steps, embedding_dim)` target embeddings
            (teacher forcing: `<bos>` and the reference shifted right).
        values: `(batch, source_steps, value_dim)` encoder states.
        initial_state: a list of `(batch, units)` tensors, one per state of each
            layer (`[h, c]` per LSTM layer), bottom first; zeros if omitted.
        source_mask: `(batch, source_steps)` booleans, False at padding.

    Returns:
        `(outputs, attention_weights)`: `(batch, target_steps, units)` and
        `(batch, target_steps, source_steps)`.

    Examples:
    >>> import numpy as np
    >>> decoder = AttentionDecoder("gru", units=8, attention="luong_general")
    >>> outputs, weights = decoder(np.zeros((2, 3, 4), "float32"), np.ones((2, 5, 6), "float32"))
    >>> tuple(outputs.shape), tuple(weights.shape)
    ((2, 3, 8), (2, 3, 5))
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        num_layers=1,
        attention="bahdanau",
        attention_units=128,
        input_feeding=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in DECODER_CELLS:
            raise ValueError(f"`cell` must be one of {DECODER_CELLS}. Received: cell={cell!r}")
        if attention not in ATTENTIONS:
            raise ValueError(f"`attention` must be one of {ATTENTIONS}. Received: attention={attention!r}")
        for name, value in (("units", units), ("num_layers", num_layers), ("attention_units", attention_units)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.attention = attention
        self.attention_units = attention_units
        self.input_feeding = bool(input_feeding)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.supports_masking = True

        cell_class = _CELL_CLASSES[cell]
        self.cells = [
            cell_class(
                units,
                kernel_initializer=get_initializer(kernel_initializer),
                recurrent_initializer=get_initializer(recurrent_initializer),
                dtype=self.dtype_policy,
                name=f"{cell}_cell_{index}",
            )
            for index in range(num_layers)
        ]
        self.attention_layer = get_attention(attention, attention_units, dtype=self.dtype_policy, name="attention")
        self.combine = keras.layers.Dense(
            units, activation="tanh", use_bias=False, dtype=self.dtype_policy, name="attentional"
        )

    @property
    def _weights_dtype(self):
        return wide_dtype(self.compute_dtype)  # As the attention layer's softmax.

    @property
    def states_per_layer(self):
        return 2 if self.cell in TWO_STATE_CELLS else 1

    def build(self, inputs_shape, values_shape):
        batch, value_dim = inputs_shape[0], values_shape[-1]
        feature_dim = inputs_shape[-1] + (self.units if self.input_feeding else 0)
        if self.attention in ("bahdanau", "none"):
            feature_dim += value_dim
        for cell in self.cells:
            cell.build((batch, feature_dim))
            feature_dim = self.units
        if self.attention_layer is not None:
            self.attention_layer.build((batch, self.units), values_shape)
        self.combine.build((batch, self.units + value_dim))
        self.built = True

    # === One step ===

    def initial_carry(self, batch_size, initial_state=None):
        """The loop's carry: every layer's states, then `h~` (zeros: nothing attended yet)."""
        expected = self.states_per_layer * self.num_layers
        if initial_state is None:
            initial_state = [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)] * expected
        if len(initial_state) != expected:
            raise ValueError(
                f"`initial_state` must hold {expected} tensors ({self.states_per_layer} per layer, "
                f"{self.num_layers} layers). Received: {len(initial_state)}"
            )
        return tuple(initial_state) + (ops.zeros((batch_size, self.units), dtype=self.compute_dtype),)

    def keys(self, values, source_mask=None):
        """What `step` needs of the encoder states, computed once per source.

        The attention's encoder-side projection; for `"none"`, the source summary
        (the mean of `values` over the real tokens).
        """
        if self.attention_layer is not None:
            return self.attention_layer.keys(values)
        if source_mask is None:
            return ops.mean(values, axis=1)
        real = ops.expand_dims(ops.cast(source_mask, values.dtype), -1)
        return ops.sum(values * real, axis=1) / ops.maximum(ops.sum(real, axis=1), 1)

    def _uniform_weights(self, values, source_mask):
        """The weights behind `"none"`'s summary: `1 / length` at each real source token."""
        if source_mask is None:
            return ops.full(ops.shape(values)[:2], 1 / ops.shape(values)[1], dtype=self._weights_dtype)
        real = ops.cast(source_mask, self._weights_dtype)
        return real / ops.maximum(ops.sum(real, axis=1, keepdims=True), 1)

    def step(self, inputs, carry, values, keys=None, source_mask=None):
        """One decoder step: `(output, attention_weights, carry)` for one `(batch, embedding_dim)` input."""
        per_layer = self.states_per_layer
        states, attentional = list(carry[:-1]), carry[-1]
        top = states[-per_layer]  # The top layer's h (first of its states).
        features = [inputs] + ([attentional] if self.input_feeding else [])
        if self.attention == "bahdanau":
            context, weights = self.attention_layer(top, values, keys=keys, mask=source_mask)
            features.append(context)
        elif self.attention == "none":
            context = self.keys(values, source_mask) if keys is None else keys
            weights = self._uniform_weights(values, source_mask)
            features.append(context)
        outputs = ops.concatenate(features, axis=-1) if len(features) > 1 else inputs
        new_states = []
        for index, cell in enumerate(self.cells):
            layer_states = states[index * per_layer : (index + 1) * per_layer]
            outputs, layer_states = cell(outputs, layer_states if per_layer > 1 else layer_states[0], training=False)
            new_states += list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states]
        if self.attention.startswith("luong"):
            context, weights = self.attention_layer(outputs, values, keys=keys, mask=source_mask)
        attentional = self.combine(ops.concatenate([ops.cast(context, outputs.dtype), outputs], axis=-1))
        return attentional, weights, tuple(new_states) + (attentional,)

    # === The whole target sequence (teacher forcing) ===

    def call(self, inputs, values, initial_state=None, source_mask=None, mask=None):
        # The weights ride in the carry, and every step returns its whole carry: TensorFlow's
        # `ops.scan` (Keras 3.15) shapes its per-step outputs after the carry.
        weights_dtype = self._weights_dtype
        carry = self.initial_carry(ops.shape(inputs)[0], initial_state) + (
            ops.zeros(ops.shape(values)[:2], dtype=weights_dtype),
        )
        keys = self.keys(values, source_mask)

        def body(carry, step_inputs):
            output, weights, carry = self.step(step_inputs, carry[:-1], values, keys, source_mask)
            carry = carry + (ops.cast(weights, weights_dtype),)
            return carry, carry

        _, history = ops.scan(body, carry, ops.transpose(inputs, (1, 0, 2)))
        return ops.transpose(history[-2], (1, 0, 2)), ops.transpose(history[-1], (1, 0, 2))

    def compute_mask(self, inputs, previous_mask=None, *args, **kwargs):
        # Keras 3 hands a multi-input layer the first input's mask as `previous_mask`: the
        # target steps' mask, which the outputs keep (so padded steps add nothing to the loss).
        return [previous_mask, None]

    def compute_output_shape(self, inputs_shape, values_shape, initial_state_shape=None, source_mask_shape=None):
        batch, steps = inputs_shape[0], inputs_shape[1]
        return (batch, steps, self.units), (batch, steps, values_shape[1])

    def get_config(self):
        return {
            **super().get_config(),
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
            "attention": self.attention,
            "attention_units": self.attention_units,
            "input_feeding": self.input_feeding,
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
        }


@keras.saving.register_keras_serializable(package="seqkit")
class PaddingMask(keras.layers.Layer):
    """`ids != 0`: the boolean mask of real (non-padding) positions. Serializable, unlike a `Lambda`."""

    def call(self, ids):
        return ops.not_equal(ids, 0)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")


@keras.saving.register_keras_serializable(package="seqkit")
class DecoderBridge(keras.layers.Layer):
    """The decoder's initial states from the encoder's states.

    - `"zeros"`: every state starts at zero.
    - `"final"`: each decoder layer's `h` starts at `tanh(W [h_forward_last;
      h_backward_first])`, the encoder's final states in each direction (the
      forward one at each source's last real token), projected.
    - `"backward_first"`: `tanh(W h1_backward)`, the backward state at the first
      source token (Bahdanau et al. 2015). Needs a bidirectional encoder.

    LSTM cell states start at zero. The encoder states are its output sequence,
    with the two directions concatenated (forward first).

    Args:
        mode: one of `INITIAL_STATES`.
        units: the decoder's units.
        num_layers: decoder layers.
        states_per_layer: 2 for an LSTM decoder, 1 for a GRU.
        bidirectional: whether the encoder is (its states then split in halves).

    Examples:
    >>> import numpy as np
    >>> bridge = DecoderBridge("final", units=4, num_layers=2, states_per_layer=2, bidirectional=True)
    >>> [tuple(s.shape) for s in bridge(np.ones((3, 5, 6), "float32"), np.ones((3, 5), "bool"))]
    [(3, 4), (3, 4), (3, 4), (3, 4)]
    """

    def __init__(self, mode="final", units=128, num_layers=1, states_per_layer=2, bidirectional=True, **kwargs):
        super().__init__(**kwargs)
        if mode not in INITIAL_STATES:
            raise ValueError(f"`mode` must be one of {INITIAL_STATES}. Received: mode={mode!r}")
        if mode == "backward_first" and not bidirectional:
            raise ValueError("`decoder_initial_state='backward_first'` needs a bidirectional encoder.")
        self.supports_masking = True  # It reads the source mask itself; its outputs have no time axis.
        self.mode = mode
        self.units = units
        self.num_layers = num_layers
        self.states_per_layer = states_per_layer
        self.bidirectional = bool(bidirectional)
        self.projections = [
            keras.layers.Dense(units, activation="tanh", dtype=self.dtype_policy, name=f"initial_state_{index}")
            for index in range(num_layers)
        ] if mode != "zeros" else []

    def build(self, values_shape, source_mask_shape=None):
        width = values_shape[-1]
        source_width = width // 2 if self.mode == "backward_first" else width
        for projection in self.projections:
            projection.build((values_shape[0], source_width))
        self.built = True

    def call(self, values, source_mask):
        batch = ops.shape(values)[0]
        zeros = ops.zeros((batch, self.units), dtype=values.dtype)
        if self.mode == "zeros":
            return [zeros] * (self.num_layers * self.states_per_layer)
        half = values.shape[-1] // 2
        if self.mode == "backward_first":
            source = values[:, 0, half:]
        else:
            lengths = ops.sum(ops.cast(source_mask, "int32"), axis=1)
            last = ops.maximum(lengths - 1, 0)
            at_last = ops.take_along_axis(values, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
            source = ops.concatenate([at_last[:, :half], values[:, 0, half:]], -1) if self.bidirectional else at_last
        states = []
        for projection in self.projections:
            states += [projection(source)] + [zeros] * (self.states_per_layer - 1)
        return states

    def compute_mask(self, values, source_mask=None, mask=None):
        return None

    def compute_output_shape(self, values_shape, source_mask_shape=None):
        return [(values_shape[0], self.units)] * (self.num_layers * self.states_per_layer)

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "units": self.units,
            "num_layers": self.num_layers,
            "states_per_layer": self.states_per_layer,
            "bidirectional": self.bidirectional,
        }
