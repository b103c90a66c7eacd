import subprocess
import sys

import keras
import numpy as np
import pytest

import seqkit
from seqkit.models import HEADS, build_classifier, class_probabilities, compile_classifier


def toy_data(num_examples=256, length=12, seed=0):
    """Class 1 iff token 7 occurs somewhere; sequences of random length, right-padded."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((num_examples, length), "int32")
    labels = rng.integers(0, 2, num_examples)
    for row in range(num_examples):
        size = rng.integers(3, length + 1)
        ids[row, :size] = rng.integers(8, 50, size)
        if labels[row]:
            ids[row, rng.integers(0, size)] = 7
    return ids, labels


@pytest.mark.parametrize(
    "head,num_classes,shape",
    [("binary", 2, (3, 1)), ("multiclass", 4, (3, 4)), ("multilabel", 3, (3, 3)), ("regression", 1, (3, 1))],
)
def test_heads_output_shapes(head, num_classes, shape):
    model = build_classifier(60, num_classes=num_classes, head=head, units=4, embedding_dim=4)
    outputs = model.predict(np.array([[5, 6, 0], [7, 0, 0], [8, 9, 10]]), verbose=0)
    assert outputs.shape == shape
    if head == "multiclass":
        np.testing.assert_allclose(outputs.sum(-1), 1.0, rtol=1e-5)
    if head in ("binary", "multilabel"):
        assert ((outputs > 0) & (outputs < 1)).all()


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention", "max+mean"])
def test_padding_changes_nothing(pooling):
    model = build_classifier(60, units=5, embedding_dim=4, pooling=pooling, num_layers=2)
    short = model.predict(np.array([[5, 6, 7]]), verbose=0)
    padded = model.predict(np.array([[5, 6, 7, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_fit_learns_a_keyword_rule():
    seqkit.set_seed(0)
    ids, labels = toy_data()
    model = build_classifier(50, units=16, embedding_dim=16, head_dropout=0.0)
    compile_classifier(model, learning_rate=0.01)
    model.fit(ids, labels, epochs=15, batch_size=32, verbose=0)
    test_ids, test_labels = toy_data(seed=1)
    _, accuracy = model.evaluate(test_ids, test_labels, verbose=0)
    assert accuracy > 0.95


def test_embedding_matrix_initializes_embeddings():
    matrix = np.arange(60 * 4, dtype="float32").reshape(60, 4)
    model = build_classifier(60, embedding_dim=4, embedding_matrix=matrix, trainable_embeddings=False, units=4)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("token_embedding").embeddings), matrix)
    assert not model.get_layer("token_embedding").trainable
    with pytest.raises(ValueError, match="embedding_matrix"):
        build_classifier(60, embedding_dim=4, embedding_matrix=np.zeros((59, 4)))


def test_compile_clips_gradients_by_default():
    model = compile_classifier(build_classifier(60, units=4, embedding_dim=4))
    assert model.optimizer.clipnorm == 1.0
    assert compile_classifier(build_classifier(60, units=4, embedding_dim=4), clipnorm=5.0).optimizer.clipnorm == 5.0


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"head": "ranking"}, "`head` must be one of"),
        ({"pooling": "median"}, "`pooling` must be made of"),
        ({"pooling": "last+max"}, "cannot be combined"),
        ({"head": "multiclass", "num_classes": 1}, "num_classes"),
        ({"vocabulary_size": 3}, "vocabulary_size"),
    ],
)
def test_invalid_arguments(kwargs, message):
    arguments = {"vocabulary_size": 60, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_classifier(**arguments)


def test_class_probabilities():
    np.testing.assert_allclose(class_probabilities(np.array([[0.25]]), "binary"), [[0.75, 0.25]])
    assert set(HEADS) == {"binary", "multiclass", "multilabel", "regression"}


def test_keras_round_trip_in_a_fresh_process(tmp_path):
    seqkit.set_seed(0)
    model = build_classifier(60, units=6, embedding_dim=5, pooling="attention+max", num_layers=2, cell="gru")
    compile_classifier(model)
    model.fit(*toy_data(64), epochs=1, verbose=0)
    ids = np.array([[5, 9, 7, 0], [12, 0, 0, 0]])
    expected = model.predict(ids, verbose=0)
    path = tmp_path / "classifier.keras"
    model.save(path)
    np.save(tmp_path / "ids.npy", ids)
    script = (
        "import sys, numpy as np, keras, seqkit\n"
        f"model = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, model.predict(np.load({str(tmp_path / 'ids.npy')!r}), verbose=0))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)
