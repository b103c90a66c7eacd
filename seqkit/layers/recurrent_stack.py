"""The configurable recurrent stack that every seqkit builder uses."""

import warnings

import keras

from seqkit.layers.peephole import PeepholeLSTMCell
from seqkit.layers.scan_lstm import ScanLSTM

CELLS = ("simple", "lstm", "gru", "peephole")
MERGE_MODES = ("concat", "sum", "mul", "ave")
ACTIVATIONS = ("tanh", "relu")
# Cells whose state is `[h, c]`.
TWO_STATE_CELLS = ("lstm", "peephole")


def _peephole_layer(units, return_sequences=False, return_state=False, stateful=False, name=None, **cell_kwargs):
    return keras.layers.RNN(
        PeepholeLSTMCell(units, **cell_kwargs),
        return_sequences=return_sequences,
        return_state=return_state,
        stateful=stateful,
        name=name,
    )


# `ScanLSTM` is Keras' LSTM with a faster CPU training loop (same weights and results).
_LAYERS = {"simple": keras.layers.SimpleRNN, "lstm": ScanLSTM, "gru": keras.layers.GRU, "peephole": _peephole_layer}

# Named configurations of the stack's cell, activation and initializers, for
# `RecurrentStack(**PRESETS[name])` or any builder's `**stack_preset(name)`.
PRESETS = {
    # IRNN (Le, Jaitly & Hinton 2015): ReLU units, identity recurrent weights, small input weights.
    "irnn": {
        "cell": "simple",
        "activation": "relu",
        "recurrent_initializer": "identity",
        "kernel_initializer": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.001}},
    },
    # Sutskever, Vinyals & Le 2014: an LSTM with every weight drawn from U(-0.08, 0.08).
    "uniform_lstm": {"cell": "lstm", "kernel_initializer": "uniform:0.08", "recurrent_initializer": "uniform:0.08"},
}


def stack_preset(name, **overrides):
    """The keyword arguments of a named stack configuration (`PRESETS`), with `overrides` applied.

    Examples:
    >>> stack_preset("irnn")["recurrent_initializer"]
    'identity'
    >>> RecurrentStack(units=8, **stack_preset("irnn")).activation
    'relu'
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown stack preset. Expected one of {sorted(PRESETS)}. Received: {name!r}")
    return {**PRESETS[name], **overrides}


def get_initializer(identifier):
    """A Keras initializer from an identifier, plus the shorthand `"uniform:R"` for U(-R, R).

    Examples:
    >>> get_initializer("uniform:0.08").get_config()["maxval"]
    0.08
    """
    if isinstance(identifier, str) and identifier.startswith("uniform:"):
        try:
            radius = float(identifier.split(":", 1)[1])
        except ValueError:
            radius = -1.0
        if radius <= 0:
            raise ValueError(
                f"A uniform initializer is written 'uniform:R' with R > 0, for U(-R, R). "
                f"Received: {identifier!r}"
            )
        return keras.initializers.RandomUniform(-radius, radius)
    try:
        return keras.initializers.get(identifier)
    except ValueError:
        raise ValueError(
            "Initializers are Keras names ('glorot_uniform', 'orthogonal', 'identity', ...), "
            f"'uniform:R' for U(-R, R), or config dicts. Received: {identifier!r}"
        ) from None


def fused_path_blockers(cell, activation="tanh", recurrent_dropout=0.0):
    """Reasons a configuration cannot use the fused cuDNN kernel on GPU (empty if it can).

    Keras runs LSTM and GRU on cuDNN when the activation is tanh, the recurrent
    activation sigmoid, `recurrent_dropout` 0, `unroll` False, biases on, GRU's
    `reset_after` True, and any mask is right-padded (seqkit's pipelines pad
    on the right). `SimpleRNN` has no fused kernel.
    """
    reasons = []
    if cell in ("simple", "peephole"):
        reasons.append(f"cell={cell!r} has no cuDNN kernel")
    if activation != "tanh":
        reasons.append(f"activation={activation!r} (cuDNN needs 'tanh')")
    if recurrent_dropout:
        reasons.append(f"recurrent_dropout={recurrent_dropout} (cuDNN needs 0)")
    return reasons


@keras.saving.register_keras_serializable(package="seqkit")
class RecurrentStack(keras.layers.Layer):
    """A stack of recurrent layers: any cell, any depth, optionally bidirectional.

    Masks flow through every layer, so padded steps change nothing. The default
    options keep LSTM and GRU on the fused cuDNN path on GPU; `activation="relu"`,
    `recurrent_dropout > 0` and `cell="simple"` leave it (a warning says so
    when a GPU is present; see `fused_path_blockers`).

    Args:
        cell: `"simple"`, `"lstm"`, `"gru"` or `"peephole"` (an LSTM whose gates
            also read the cell state, `PeepholeLSTMCell`).
        units: units per layer: an int for every layer, or a list with one int per layer.
        num_layers: the number of stacked layers (ignored when `units` is a list).
        bidirectional: run each layer in both directions.
        merge_mode: how the two directions combine: `"concat"`, `"sum"`, `"mul"`, `"ave"`.
        dropout: dropout on each layer's inputs.
        recurrent_dropout: dropout on the recurrent state (leaves the cuDNN path).
        kernel_initializer: initializer of the input weights, e.g. `"glorot_uniform"`
            or `"uniform:0.08"`.
        recurrent_initializer: initializer of the recurrent weights, e.g. `"orthogonal"`.
        activation: `"tanh"` or `"relu"`.
        return_sequences: return every step of the last layer (`True`) or its final
            output (`False`).
        return_state: also return the final states of the last layer, as a list
            (`[h]` for simple/gru, `[h, c]` for lstm; forward then backward when
            bidirectional).
        stateful: carry each layer's final state into the next batch (truncated
            backpropagation through time over consecutive windows). Needs a fixed
            batch size in the input shape and a unidirectional stack; reset with
            `reset_states()`.

    Call arguments:
        inputs: a `(batch, time, features)` tensor.
        mask: an optional `(batch, time)` boolean mask; it is picked up from an
            `Embedding(mask_zero=True)` automatically.
        training: whether dropout is active.

    Examples:
    >>> import numpy as np
    >>> stack = RecurrentStack("gru", units=8, num_layers=2, bidirectional=True)
    >>> tuple(stack(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 16)
    """

    def __init__(
        self,
        cell="lstm",
        units=64,
        num_layers=1,
        bidirectional=False,
        merge_mode="concat",
        dropout=0.0,
        recurrent_dropout=0.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        activation="tanh",
        return_sequences=True,
        return_state=False,
        stateful=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # === Validation ===
        if cell not in CELLS:
            raise ValueError(f"`cell` must be one of {CELLS}. Received: cell={cell!r}")
        if isinstance(units, (list, tuple)):
            units = [int(u) for u in units]
            num_layers = len(units)
        elif isinstance(units, int):
            if not isinstance(num_layers, int) or num_layers < 1:
                raise ValueError(f"`num_layers` must be a positive int. Received: num_layers={num_layers!r}")
            units = [units] * num_layers
        else:
            raise ValueError(f"`units` must be an int or a list of ints. Received: units={units!r}")
        if not units or min(units) < 1:
            raise ValueError(f"Every layer needs at least 1 unit. Received: units={units!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"`merge_mode` must be one of {MERGE_MODES}. Received: merge_mode={merge_mode!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {ACTIVATIONS}. Received: activation={activation!r}")
        for name, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(value) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value!r}")
        if stateful and bidirectional:
            raise ValueError(
                "A stateful stack carries state forward in time, so it must be unidirectional. "
                "Received: stateful=True, bidirectional=True"
            )

        # === Config ===
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bool(bidirectional)
        self.merge_mode = merge_mode
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.activation = activation
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.stateful = bool(stateful)
        self.supports_masking = True

        blockers = fused_path_blockers(cell, activation, recurrent_dropout)
        if blockers and _gpu_available():
            warnings.warn(
                "RecurrentStack leaves the fused cuDNN path: " + "; ".join(blockers) + ".", stacklevel=2
            )

        # === Layers ===
        self.recurrent_layers = []
        for index, layer_units in enumerate(units):
            last = index == num_layers - 1
            layer = _LAYERS[cell](
                layer_units,
                activation=activation,
                dropout=self.dropout,
                recurrent_dropout=self.recurrent_dropout,
                kernel_initializer=get_initializer(kernel_initializer),
                recurrent_initializer=get_initializer(recurrent_initializer),
                return_sequences=self.return_sequences or not last,
                return_state=self.return_state and last,
                stateful=self.stateful,
                name=f"{cell}_{index}",
            )
            if self.bidirectional:
                layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode, name=f"bidirectional_{index}")
            self.recurrent_layers.append(layer)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer, layer_units in zip(self.recurrent_layers, self.units):
            layer.build(shape)
            width = 2 * layer_units if self.bidirectional and self.merge_mode == "concat" else layer_units
            shape = (shape[0], shape[1], width)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        outputs = inputs
        for layer in self.recurrent_layers:
            outputs = layer(outputs, mask=mask, training=training)
        return outputs

    # === One step at a time (generation) ===

    def initial_states(self, batch_size):
        """Zero states for `step`: one tensor per state of every layer, bottom layer first."""
        self._check_steppable()
        states = []
        for layer_units in self.units:
            per_layer = 2 if self.cell in TWO_STATE_CELLS else 1
            states += [keras.ops.zeros((batch_size, layer_units))] * per_layer
        return states

    def step(self, inputs, states):
        """Advances every layer by one time step, in inference mode.

        This runs the same cells, with the same weights, as `call`, so a loop of
        `step`s reproduces `call` on the whole sequence; a generator pays one step
        per new token instead of re-reading the prefix.

        Args:
            inputs: a `(batch, features)` tensor: one time step.
            states: the list from `initial_states` or from the previous `step`.

        Returns:
            `(outputs, states)`: the top layer's `(batch, units)` output and the new
            states, in the same layout.

        Examples:
        >>> import numpy as np
        >>> stack = RecurrentStack("lstm", units=4, num_layers=2)
        >>> sequence = np.random.default_rng(0).normal(size=(1, 3, 2)).astype("float32")
        >>> states = stack.initial_states(1)
        >>> for t in range(3):
        ...     output, states = stack.step(sequence[:, t], states)
        >>> bool(np.allclose(output, stack(sequence)[:, -1], atol=1e-5))
        True
        """
        self._check_steppable()
        per_layer = 2 if self.cell in TWO_STATE_CELLS else 1
        if len(states) != per_layer * self.num_layers:
            raise ValueError(
                f"Expected {per_layer * self.num_layers} state tensors ({per_layer} per layer, "
                f"{self.num_layers} layers). Received: {len(states)}"
            )
        if not self.built:
            self.build((None, None, inputs.shape[-1]))
        outputs, new_states = inputs, []
        for index, layer in enumerate(self.recurrent_layers):
            layer_states = list(states[index * per_layer : (index + 1) * per_layer])
            outputs, layer_states = layer.cell(outputs, layer_states, training=False)
            new_states += list(layer_states) if isinstance(layer_states, (list, tuple)) else [layer_states]
        return outputs, new_states

    def reset_states(self):
        """Zeroes the carried state of a stateful stack."""
        for layer in self.recurrent_layers:
            layer.reset_states()

    def _check_steppable(self):
        if self.bidirectional:
            raise ValueError("Stepping needs a unidirectional stack. Received: bidirectional=True")

    def compute_mask(self, inputs, mask=None):
        if mask is None or not self.return_sequences:
            return [None] * (1 + self.num_states) if self.return_state else None
        return [mask] + [None] * self.num_states if self.return_state else mask

    @property
    def output_dim(self):
        """Features per step of the output."""
        last = self.units[-1]
        return 2 * last if self.bidirectional and self.merge_mode == "concat" else last

    @property
    def num_states(self):
        per_direction = 2 if self.cell in TWO_STATE_CELLS else 1
        return per_direction * (2 if self.bidirectional else 1)

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.output_dim) if self.return_sequences else (batch, self.output_dim)
        if not self.return_state:
            return output
        return [output] + [(batch, self.units[-1])] * self.num_states

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell,
                "units": self.units,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "merge_mode": self.merge_mode,
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "kernel_initializer": _serializable(self.kernel_initializer),
                "recurrent_initializer": _serializable(self.recurrent_initializer),
                "activation": self.activation,
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "stateful": self.stateful,
            }
        )
        return config


def _serializable(initializer):
    if isinstance(initializer, (str, dict)) or initializer is None:
        return initializer
    return keras.initializers.serialize(initializer)


def _gpu_available():
    try:
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    except ImportError:  # Other backends: no TensorFlow to ask; cuDNN use is theirs to decide.
        return False
