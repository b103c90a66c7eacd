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

It also takes per-variable learning-rate multipliers, for fine-tuning a
pretrained part of a model more gently than the rest (ULMFiT's discriminative
rates). With Adam, scaling a variable's gradients does not change its step
(the moments cancel the scale), and Keras 3 has no per-variable rates
(keras-team/keras#21741), so the multiplier scales the rate inside the update.
"""

import collections

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqkit")
class LazyAdam(keras.optimizers.Adam):
    """Adam with row-wise ("lazy") updates for sparse embedding gradients.

    Takes every argument of `keras.optimizers.Adam` (`amsgrad` must stay False),
    and `learning_rate_multipliers`: a dict from a variable's `path` to the
    factor its learning rate is multiplied by (the others get 1).

    Examples:
    >>> optimizer = LazyAdam(learning_rate=1e-3, clipnorm=1.0)
    >>> optimizer = LazyAdam(learning_rate=1e-3, learning_rate_multipliers={"dense/kernel": 0.1})
    """

    def __init__(self, *args, learning_rate_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("LazyAdam does not support `amsgrad=True`. Received: amsgrad=True")
        multipliers = dict(learning_rate_multipliers or {})
        for path, multiplier in multipliers.items():
            if not isinstance(multiplier, (int, float)) or multiplier < 0:
                raise ValueError(
                    "`learning_rate_multipliers` maps variable paths to numbers >= 0. "
                    f"Received: {path!r}: {multiplier!r}"
                )
        self.learning_rate_multipliers = {str(path): float(value) for path, value in multipliers.items()}

    def build(self, variables):
        if self.learning_rate_multipliers:
            paths = [variable.path for variable in variables]
            counts = collections.Counter(paths)
            repeated = sorted(path for path in self.learning_rate_multipliers if counts[path] > 1)
            if repeated:
                raise ValueError(
                    "`learning_rate_multipliers` names variables by path, and these paths are shared by several "
                    f"trainable variables, so a multiplier would apply to all of them: {repeated}"
                )
            unknown = sorted(set(self.learning_rate_multipliers) - set(paths))
            if unknown:
                raise ValueError(
                    "`learning_rate_multipliers` names variables that are not trained: "
                    f"{_first(unknown)}. Trained variables: {_first(paths)}"
                )
        super().build(variables)
        # By index: on TensorFlow, `update_step` receives the backend variable, which has no `path`.
        self._multipliers = [self.learning_rate_multipliers.get(variable.path, 1.0) for variable in variables]

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self._multipliers[self._get_variable_index(variable)] if self.learning_rate_multipliers else 1.0
        if multiplier != 1.0:
            learning_rate = ops.cast(learning_rate, variable.dtype) * multiplier
        self._lazy_update_step(gradient, variable, learning_rate)

    def _lazy_update_step(self, gradient, variable, learning_rate):
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

    def get_config(self):
        config = super().get_config()
        if self.learning_rate_multipliers:
            config["learning_rate_multipliers"] = dict(self.learning_rate_multipliers)
        return config


def layer_learning_rate_multipliers(layers, multiplier):
    """`{variable path: multiplier}` over the trainable variables of `layers`, for `LazyAdam(learning_rate_multipliers=...)`.

    Examples:
    >>> import keras
    >>> dense = keras.layers.Dense(2, name="dense")
    >>> dense.build((None, 3))
    >>> sorted(layer_learning_rate_multipliers([dense], 0.25).items())
    [('dense/bias', 0.25), ('dense/kernel', 0.25)]
    """
    return {variable.path: multiplier for layer in layers for variable in layer.trainable_variables}


def _first(names, count=5):
    """The first `count` names, for an error message."""
    return ", ".join(names[:count]) + (f" ... ({len(names)} in all)" if len(names) > count else "")
