import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from seqkit.optimizers import LazyAdam

IDS = np.array([[1, 2, 2], [3, 1, 1]])  # Repeated ids, and rows 0 and 4..19 never touched.


def embedding_model():
    """Mean of embedding rows -> Dense: its embedding gradient is sparse (IndexedSlices)."""
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 3)(inputs)))
    return keras.Model(inputs, outputs)


def one_hot_model():
    """The same function written as a matmul of id frequencies: its gradient is dense."""
    inputs = keras.Input((20,))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(3, use_bias=False)(inputs)))


def frequencies(ids):
    return np.stack([np.bincount(row, minlength=20) / len(row) for row in ids]).astype("float32")


def test_sparse_updates_equal_adam_on_the_dense_gradient():
    keras.utils.set_random_seed(0)
    sparse, dense = embedding_model(), one_hot_model()
    dense.set_weights(sparse.get_weights())
    initial = sparse.get_weights()[0].copy()
    sparse.compile(optimizer=LazyAdam(learning_rate=0.1), loss="mse")
    dense.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mse")
    targets = np.ones((2, 1))
    for _ in range(3):
        sparse.train_on_batch(IDS, targets)
        dense.train_on_batch(frequencies(IDS), targets)
    for lazy_weight, adam_weight in zip(sparse.get_weights(), dense.get_weights()):
        np.testing.assert_allclose(lazy_weight, adam_weight, rtol=1e-5, atol=1e-6)
    untouched = [0] + list(range(4, 20))
    np.testing.assert_array_equal(sparse.get_weights()[0][untouched], initial[untouched])


def test_rows_a_batch_skips_do_not_move():
    keras.utils.set_random_seed(0)
    model = embedding_model()
    model.compile(optimizer=LazyAdam(learning_rate=0.1), loss="mse")
    model.train_on_batch(np.array([[1, 2]]), np.ones((1, 1)))
    after_first = model.get_weights()[0].copy()
    model.train_on_batch(np.array([[5, 6]]), np.ones((1, 1)))
    # Dense Adam would keep moving rows 1 and 2 with their momentum; lazy Adam leaves them.
    np.testing.assert_array_equal(model.get_weights()[0][[1, 2]], after_first[[1, 2]])
    assert not np.allclose(model.get_weights()[0][[5, 6]], after_first[[5, 6]])


def test_serialization_and_amsgrad():
    optimizer = LazyAdam(learning_rate=0.01, clipnorm=1.0)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, LazyAdam) and restored.clipnorm == 1.0
    with pytest.raises(ValueError, match="amsgrad"):
        LazyAdam(amsgrad=True)


def two_dense_model():
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(2, kernel_initializer="ones", name="pretrained")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", name="head")(hidden))


@pytest.mark.parametrize("multiplier", [0.0, 0.1])
def test_learning_rate_multipliers_scale_a_variables_steps(multiplier):
    # Adam's first step moves every weight with a nonzero gradient by almost exactly the rate.
    model = two_dense_model()
    before = {variable.path: variable.numpy().copy() for variable in model.trainable_variables}
    model.compile(
        optimizer=LazyAdam(learning_rate=0.01, learning_rate_multipliers={"pretrained/kernel": multiplier}),
        loss="mse",
    )
    model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))
    steps = {variable.path: np.abs(variable.numpy() - before[variable.path]) for variable in model.trainable_variables}
    np.testing.assert_allclose(steps["pretrained/kernel"], 0.01 * multiplier, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(steps["head/kernel"], 0.01, rtol=1e-4)
    np.testing.assert_allclose(steps["pretrained/bias"], 0.01, rtol=1e-4)


def test_learning_rate_multipliers_apply_to_sparse_embedding_updates():
    keras.utils.set_random_seed(0)
    model = embedding_model()
    initial = model.get_weights()[0].copy()
    path = model.layers[1].embeddings.path
    model.compile(optimizer=LazyAdam(learning_rate=0.1, learning_rate_multipliers={path: 0.5}), loss="mse")
    model.train_on_batch(IDS, np.ones((2, 1)))
    np.testing.assert_allclose(np.abs(model.get_weights()[0] - initial)[[1, 2, 3]], 0.05, rtol=1e-3)


def test_learning_rate_multipliers_are_checked_and_serialized():
    optimizer = LazyAdam(learning_rate=0.01, learning_rate_multipliers={"pretrained/kernel": 0.1})
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert restored.learning_rate_multipliers == {"pretrained/kernel": 0.1}
    with pytest.raises(ValueError, match="numbers >= 0.*'pretrained/kernel': -1"):
        LazyAdam(learning_rate_multipliers={"pretrained/kernel": -1})
    model = two_dense_model()
    model.compile(optimizer=LazyAdam(learning_rate_multipliers={"pretrianed/kernel": 0.1}), loss="mse")
    with pytest.raises(ValueError, match="not trained: pretrianed/kernel. Trained variables: pretrained/kernel, pretrained/bias, head/kernel, head/bias$"):
        model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))


def test_a_saved_model_keeps_its_multipliers_in_a_fresh_process(tmp_path):
    model = two_dense_model()
    model.compile(optimizer=LazyAdam(learning_rate=0.01, learning_rate_multipliers={"pretrained/kernel": 0.1}),
                  loss="mse")
    model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))
    model.save(tmp_path / "model.keras")
    script = (
        "import json, numpy as np, keras, seqkit\n"
        f"model = keras.saving.load_model({str(tmp_path / 'model.keras')!r})\n"
        "before = {v.path: v.numpy().copy() for v in model.trainable_variables}\n"
        "model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))\n"
        "print(json.dumps({'multipliers': model.optimizer.learning_rate_multipliers,\n"
        "                  'steps': {v.path: float(np.abs(v.numpy() - before[v.path]).max())\n"
        "                            for v in model.trainable_variables}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["multipliers"] == {"pretrained/kernel": 0.1}
    # Adam's second step is smaller than its first, but the ratio between the two rates holds.
    assert report["steps"]["pretrained/kernel"] == pytest.approx(0.1 * report["steps"]["head/kernel"], rel=0.05)
