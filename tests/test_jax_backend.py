"""The model code runs on the JAX backend with TensorFlow unimportable: the tagger with its CRF, and NBSVM's n-gram sum."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["tensorflow"] = None  # As on a machine without TensorFlow: importing it fails.
    import numpy as np
    import keras
    from seqkit.data.bucketing import BucketedBatches
    from seqkit.models import tagger

    keras.utils.set_random_seed(0)
    model = tagger.build_tagger(30, ["O", "B-X", "I-X"], char_vocabulary_size=20, casing_size=9, units=16)
    tagger.compile_tagger(model, learning_rate=0.01)
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 12, 256)
    words = np.where(np.arange(12)[None] < lengths[:, None], rng.integers(4, 30, (256, 12)), 0)
    # Words below 12 are entities; a run of them is B-X I-X ... (only the transitions tell B from I).
    tags = np.where(words == 0, -1, np.where(words < 12, 1, 0))
    tags[:, 1:] = np.where((tags[:, 1:] == 1) & (tags[:, :-1] >= 1), 2, tags[:, 1:])
    inputs = {"words": words, "chars": (words[..., None] % 7 + 1) * (words[..., None] > 0),
              "casing": (words > 0).astype("int32")}
    history = model.fit(BucketedBatches(inputs, tags, lengths, 32), epochs=15, verbose=0)
    predicted = tagger.decode_tags(model, inputs)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "first_loss": float(history.history["loss"][0]),
        "last_loss": float(history.history["loss"][-1]),
        "token_accuracy": float((predicted[words > 0] == tags[words > 0]).mean()),
        "padding_is_zero": bool((predicted[words == 0] == 0).all()),
    }))
    """
)


def run_on_jax(script, *arguments):
    """Runs `script` in a fresh process on the JAX backend; returns the JSON report of its last line."""
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True,
                            env=environment, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_tagger_with_crf_trains_on_jax_without_tensorflow():
    report = run_on_jax(SCRIPT)
    assert report["backend"] == "jax"
    assert report["last_loss"] < 0.05 * report["first_loss"]
    assert report["token_accuracy"] > 0.98
    assert report["padding_is_zero"]


NGRAM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["tensorflow"] = None
    import numpy as np
    import keras
    from seqkit.layers import NgramEmbedding

    layer = NgramEmbedding(10, 1, orders=(1, 2, 3), num_buckets=7, combiner="sum", binary=True)
    inputs = np.array([[4, 5, 4, 5, 4, 0], [6, 6, 6, 0, 0, 0]])
    layer.build(inputs.shape)
    layer.embedding.embeddings.assign(np.arange(1, 18, dtype="float32")[:, None])
    print(json.dumps({"backend": keras.backend.backend(), "output": keras.ops.convert_to_numpy(layer(inputs)).tolist()}))
    """
)


def test_binary_ngram_sum_matches_across_backends():
    import numpy as np

    from seqkit.models.naive_bayes import binary_ngram_matrix

    report = run_on_jax(NGRAM_SCRIPT)
    inputs = np.array([[4, 5, 4, 5, 4, 0], [6, 6, 6, 0, 0, 0]])
    expected = binary_ngram_matrix([inputs], 10, orders=(1, 2, 3), num_buckets=7) @ np.arange(1, 18, dtype="float32")
    assert report["backend"] == "jax"
    np.testing.assert_allclose(np.ravel(report["output"]), expected, rtol=1e-6)


EXPORT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import seqkit
    from seqkit.models import language_model

    keras.utils.set_random_seed(0)
    vocabulary = seqkit.Vocabulary.build([list("abcdefgh")])
    model = language_model.build_language_model(vocabulary.size, embedding_dim=4, units=8, num_layers=2)
    path = seqkit.export_language_model(model, vocabulary, strategy="greedy", max_new_tokens=6,
                                        export_root=sys.argv[1], name="from_jax")
    expected = language_model.generate(model, vocabulary, ["ab", ""], max_new_tokens=6, strategy="greedy")
    print(json.dumps({"backend": keras.backend.backend(), "path": str(path), "expected": expected}))
    """
)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_a_model_on_jax_exports_through_a_tensorflow_process(tmp_path):
    import tensorflow as tf

    report = run_on_jax(EXPORT_SCRIPT, str(tmp_path))
    assert report["backend"] == "jax"
    assert report["path"] == str(tmp_path / "from_jax" / "1")
    served = tf.saved_model.load(report["path"]).signatures["serving_default"](prompts=tf.constant(["ab", ""]))
    assert [text.decode() for text in served["text"].numpy()] == report["expected"]


BILM_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["tensorflow"] = None
    import numpy as np
    import keras
    from seqkit.layers.contextual_embedding import ContextualEmbedding
    from seqkit.models import bilm, classifier

    keras.utils.set_random_seed(0)
    model = bilm.build_bidirectional_language_model(20, embedding_dim=16, units=16, num_layers=1)
    bilm.compile_bidirectional_language_model(model, learning_rate=0.02)
    rows = [[4 + (start + step) % 16 for step in range(8)] for start in range(64)]  # Counting: easy both ways.
    report = bilm.train_bidirectional_language_model(model, rows, rows[:16], epochs=10, batch_size=16, verbose=0)
    sampled = bilm.build_bidirectional_language_model(20, embedding_dim=16, units=16, num_layers=1)
    bilm.compile_bidirectional_language_model(sampled, learning_rate=0.02)
    sampled = bilm.train_bidirectional_language_model(sampled, rows, rows[:16], epochs=20, batch_size=16, verbose=0,
                                                      num_sampled=8)
    layer = ContextualEmbedding(model)
    network = classifier.build_classifier(20, embedding_dim=8, units=8, contextual_embedding=layer)
    ids = np.array([[5, 6, 7, 0]])
    print(json.dumps({"backend": keras.backend.backend(), "report": report, "sampled": sampled,
                      "features": list(layer(ids).shape), "prediction": list(network.predict(ids, verbose=0).shape)}))
    """
)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_bilm_and_contextual_embedding_run_on_jax_without_tensorflow():
    report = run_on_jax(BILM_SCRIPT)
    assert report["backend"] == "jax"
    # A counting sequence is predictable from either side: both directions end far below uniform (16 ids).
    assert report["report"]["val_forward_perplexity"] < 2 and report["report"]["val_backward_perplexity"] < 2
    # The same with a sampled softmax of 8 of the 20 ids (`SampledSoftmaxLoss` samples with keras.random).
    assert report["sampled"]["val_forward_perplexity"] < 2 and report["sampled"]["val_backward_perplexity"] < 2
    assert report["features"] == [1, 4, 32] and report["prediction"] == [1, 1]


MULTIPLIER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["tensorflow"] = None
    import numpy as np
    import keras
    from seqkit.optimizers import LazyAdam

    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(2, kernel_initializer="ones", name="pretrained")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", name="head")(hidden))
    before = {variable.path: variable.numpy().copy() for variable in model.trainable_variables}
    model.compile(optimizer=LazyAdam(learning_rate=0.01, learning_rate_multipliers={"pretrained/kernel": 0.1}),
                  loss="mse")
    model.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))
    print(json.dumps({"backend": keras.backend.backend(), "steps": {
        variable.path: float(np.abs(variable.numpy() - before[variable.path]).max())
        for variable in model.trainable_variables}}))
    """
)


def test_learning_rate_multipliers_apply_on_jax():
    # JAX's trainer updates through `stateless_apply`, with variables that are not the TensorFlow ones.
    report = run_on_jax(MULTIPLIER_SCRIPT)
    assert report["backend"] == "jax"
    assert report["steps"]["pretrained/kernel"] == pytest.approx(0.001, rel=1e-3)
    assert report["steps"]["head/kernel"] == pytest.approx(0.01, rel=1e-3)
