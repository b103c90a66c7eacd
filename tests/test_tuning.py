import numpy as np
import pytest

pytest.importorskip("keras_tuner")

from seqkit.tuning import search_stack  # noqa: E402


def test_a_search_in_which_every_trial_fails_names_the_failure(tmp_path):
    import keras

    def build(values):  # Builds, but cannot fit the data (5 features expected, 3 given).
        inputs = keras.Input((5,))
        model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
        model.compile(optimizer="sgd", loss="mse")
        return model

    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((np.zeros((4, 3)), np.zeros((4,)))).batch(2)
    with pytest.raises(ValueError, match=r"No trial of the search under .* finished.*First failure: .*shape"):
        search_stack(build, data, data, tmp_path / "search", max_trials=2, epochs=1)


def test_the_search_space_only_takes_the_stack_names(tmp_path):
    data = (np.zeros((4, 3)), np.zeros((4,)))
    with pytest.raises(ValueError, match=r"outside the stack's .* Received: \['learning_rate'\]"):
        search_stack(lambda values: None, data, data, tmp_path / "search", max_trials=1,
                     space={"learning_rate": (0.1,)})
