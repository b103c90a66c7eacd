"""LazyAdam: Adam that updates only the embedding rows a batch touched.

Keras 3's Adam turns the sparse gradient of an embedding lookup into a dense
one and updates every row of the table, and its moments, at every step. For a
200k-row n-gram table that is most of the training time. No maintained Keras 3
library offers a lazy variant (tensorflow-addons, which had `LazyAdam`, is
discontinued), so this is ours.

On TensorFlow, a sparse (`tf.IndexedSlices`) gradient updates only the rows it
names; rows that a batch does not touch keep their moments (the "lazy"
approximation, as in tensorflow-addons and PyTorch's `SparseAdam`). Dense
gradients, and every gradient on other backends, get exactly Keras' Adam.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class LazyAdam(keras.optimizers.Adam):
    """Adam with row-wise ("lazy") updates for sparse embedding gradients.

    Takes every argument of `keras.optimizers.Adam` (`amsgrad` must stay False).

    Examples:
    >>> optimizer = LazyAdam(learning_rate=1e-3, clipnorm=1.0)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("LazyAdam does not support `amsgrad=True`. Received: amsgrad=True")

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)

        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        local_step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), local_step)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

        # Sum the gradient rows of repeated ids, so each touched row is updated once.
        rows, positions = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(tf.cast(gradient.values, dtype), positions, tf.shape(rows)[0])

        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        m_rows = self.beta_1 * tf.gather(m.value, rows) + (1 - self.beta_1) * values
        v_rows = self.beta_2 * tf.gather(v.value, rows) + (1 - self.beta_2) * tf.square(values)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(variable, tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows))
