"""The peephole LSTM cell (Gers & Schmidhuber 2000): gates that also see the cell state.

Keras 3 has no peephole cell (tf.keras's `experimental.PeepholeLSTMCell` went
with Keras 2), so this is ours: Keras' `LSTMCell` plus three diagonal peephole
weight vectors.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class PeepholeLSTMCell(keras.layers.LSTMCell):
    """An LSTM cell whose gates also read the cell state through diagonal weights.

    With `x` the input, `h` and `c` the previous states and `*` elementwise:

        i = sigmoid(W_i x + U_i h + p_i * c + b_i)
        f = sigmoid(W_f x + U_f h + p_f * c + b_f)
        c' = f * c + i * tanh(W_c x + U_c h + b_c)
        o = sigmoid(W_o x + U_o h + p_o * c' + b_o)
        h' = o * tanh(c')

    The output gate reads the new cell state `c'`, as in the paper. Every
    argument of `keras.layers.LSTMCell` applies, except `implementation=1`.
    Wrap it in `keras.layers.RNN` for sequences; `RecurrentStack(cell="peephole")`
    does so.

    Args:
        units: the size of the state.
        peephole_initializer: initializer of the three `(units,)` peephole
            vectors (glorot_uniform, as tf.keras's cell used).
        **kwargs: as `keras.layers.LSTMCell`.

    Examples:
    >>> import numpy as np
    >>> layer = keras.layers.RNN(PeepholeLSTMCell(4), return_sequences=True)
    >>> tuple(layer(np.zeros((2, 3, 5), "float32")).shape)
    (2, 3, 4)
    """

    def __init__(self, units, peephole_initializer="glorot_uniform", **kwargs):
        if kwargs.get("implementation", 2) != 2:
            raise ValueError(
                f"PeepholeLSTMCell supports only `implementation=2`. Received: implementation={kwargs['implementation']!r}"
            )
        super().__init__(units, **kwargs)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self.peephole_weights = [
            self.add_weight(shape=(self.units,), initializer=self.peephole_initializer, name=f"{gate}_peephole")
            for gate in ("input", "forget", "output")
        ]

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        z = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h_tm1, self.recurrent_kernel))
        if self.use_bias:
            z = ops.add(z, self.bias)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        p_i, p_f, p_o = self.peephole_weights
        i = self.recurrent_activation(z_i + p_i * c_tm1)
        f = self.recurrent_activation(z_f + p_f * c_tm1)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + p_o * c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["peephole_initializer"] = keras.initializers.serialize(self.peephole_initializer)
        return config
