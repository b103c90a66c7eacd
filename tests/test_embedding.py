import keras
import numpy as np

from seqkit.layers import Embedding
from seqkit.optimizers import LazyAdam
from seqkit.testing import run_layer_test


def test_same_outputs_and_mask_as_keras_embedding():
    ids = np.array([[3, 1, 0, 0], [2, 2, 4, 0]])
    ours = Embedding(5, 3, mask_zero=True)
    theirs = keras.layers.Embedding(5, 3, mask_zero=True)
    ours.build(None)
    theirs.build(None)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours(ids)), keras.ops.convert_to_numpy(theirs(ids)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours.compute_mask(ids)), ids != 0)


def test_serialization():
    run_layer_test(Embedding, {"input_dim": 7, "output_dim": 2}, np.array([[1, 2], [3, 0]], "int32"), (2, 2, 2))


def test_training_updates_only_used_rows():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    layer = Embedding(10, 2)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(layer(inputs))))
    model.compile(optimizer=LazyAdam(learning_rate=0.1), loss="mse")
    before = keras.ops.convert_to_numpy(layer.embeddings).copy()
    model.fit(np.array([[1, 2], [2, 3]]), np.ones((2, 1)), epochs=2, verbose=0)
    after = keras.ops.convert_to_numpy(layer.embeddings)
    assert not np.allclose(after[[1, 2, 3]], before[[1, 2, 3]])
    np.testing.assert_array_equal(after[[0, 4, 5, 6, 7, 8, 9]], before[[0, 4, 5, 6, 7, 8, 9]])
