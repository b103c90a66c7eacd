import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import seqkit

TEXTS = ["a wonderful moving film", "dull and tedious", "wonderful acting", "tedious plot"]
LABELS = ["pos", "neg", "pos", "neg"]

# Loads an export with plain TensorFlow in a fresh process where `import seqkit` fails.
SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["seqkit"] = None  # Any attempt to import seqkit now raises ImportError.
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    texts = json.loads(sys.argv[2])
    outputs = model.signatures["serving_default"](text=tf.constant(texts, dtype=tf.string))
    print(json.dumps({key: value.numpy().tolist() for key, value in outputs.items()}, default=lambda b: b.decode("utf-8", "replace")))
    """
)


@pytest.fixture(scope="module")
def trained():
    seqkit.set_seed(0)
    tokenizer = seqkit.WordTokenizer()
    vocabulary = seqkit.Vocabulary.build(tokenizer(TEXTS))
    preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=64)
    labels = seqkit.LabelEncoder.fit(LABELS)
    model = seqkit.compile_classifier(seqkit.build_classifier(vocabulary.size, units=8, embedding_dim=8))
    model.fit(preprocessor(TEXTS), labels.encode(LABELS), epochs=30, verbose=0)
    return model, preprocessor, labels


def serve(path, texts):
    result = subprocess.run(
        [sys.executable, "-c", SERVE_SCRIPT, str(path), json.dumps(texts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_export_serves_raw_strings_without_seqkit(trained, tmp_path):
    model, preprocessor, labels = trained
    path = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="sentiment",
                                    extra_files={"metrics.json": '{"accuracy": 1.0}'})
    assert path == tmp_path / "sentiment" / "1"
    assert json.loads((path / "metrics.json").read_text()) == {"accuracy": 1.0}
    assert json.loads((path / "seqkit.json").read_text())["label_names"] == ["neg", "pos"]

    texts = ["A wonderful, moving film!", "Dull and tedious.", "", "😀 \u0000\u0007 ctrl", "wonderful " * 2000]
    served = serve(path, texts)
    expected = seqkit.class_probabilities(model.predict(preprocessor(texts), verbose=0))
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert served["labels"] == [labels.names[i] for i in expected.argmax(-1)]
    assert served["labels"][:2] == ["pos", "neg"]


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_versions_increment_and_never_overwrite(trained, tmp_path):
    model, preprocessor, labels = trained
    first = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    marker = first / "metrics.json"
    marker.write_text("kept")
    second = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    assert (first.name, second.name) == ("1", "2")
    assert marker.read_text() == "kept"


def test_failed_export_leaves_no_partial_version(trained, tmp_path, monkeypatch):
    model, preprocessor, labels = trained
    first = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    original_save = tf.saved_model.save

    def save_then_die(*args, **kwargs):
        original_save(*args, **kwargs)  # The SavedModel is fully written to the staging folder...
        raise KeyboardInterrupt("killed mid-export")  # ...and the process dies before the rename.

    monkeypatch.setattr(tf.saved_model, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (first / "saved_model.pb").stat().st_size > 1000


# Exports one classifier as <root>/m/<next version>, slowly: it pauses inside the staging folder.
SLOW_EXPORT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import keras
    import seqkit
    # Pause after the SavedModel is written into the staging folder, before the rename. (Patching
    # `tf.saved_model.save` does not work: TensorFlow's lazy API module overwrites it on first use.)
    archive_class = type(keras.export.ExportArchive())  # The backend's class, which defines `write_out`.
    original_write_out = archive_class.write_out
    def write_out_then_pause(self, *args, **kwargs):
        original_write_out(self, *args, **kwargs)
        time.sleep(float(sys.argv[2]))
    archive_class.write_out = write_out_then_pause
    vocabulary = seqkit.Vocabulary.build([["a", "film"]])
    model = seqkit.build_classifier(vocabulary.size, units=4, embedding_dim=4)
    seqkit.export_classifier(model, seqkit.TextPreprocessor("word", vocabulary), ["neg", "pos"],
                             export_root=sys.argv[1], name="m")
    """
)


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_an_export_killed_with_sigkill_leaves_no_version_and_the_next_one_cleans_up(trained, tmp_path):
    import signal
    import time

    model, preprocessor, labels = trained
    first = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    process = subprocess.Popen([sys.executable, "-c", SLOW_EXPORT_SCRIPT, str(tmp_path), "60"])
    deadline = time.time() + 240
    staging = []
    while not staging and time.time() < deadline and process.poll() is None:
        staging = [p for p in (tmp_path / "m").glob(".2.*.tmp") if (p / "saved_model.pb").exists()]
        time.sleep(0.05)
    assert staging, "the export never reached its staging folder"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert sorted(p.name for p in (tmp_path / "m").iterdir() if not p.name.startswith(".")) == ["1"]
    assert tf.saved_model.load(str(first)).signatures["serving_default"] is not None  # Version 1 intact.
    second = seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="m")
    assert second.name == "2" and (second / "saved_model.pb").exists()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]  # The orphaned staging folder is gone.


def test_export_name_is_validated(trained, tmp_path):
    model, preprocessor, labels = trained
    with pytest.raises(ValueError, match="simple folder name"):
        seqkit.export_classifier(model, preprocessor, labels.names, export_root=tmp_path, name="../escape")


def test_multilabel_and_regression_heads_export(tmp_path):
    import tensorflow as tf

    seqkit.set_seed(0)
    tokenizer = seqkit.WordTokenizer()
    vocabulary = seqkit.Vocabulary.build(tokenizer(TEXTS))
    preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary)
    for head, names in (("multilabel", ["action", "comedy", "drama"]), ("regression", [])):
        model = seqkit.build_classifier(vocabulary.size, num_classes=max(len(names), 2), head=head, units=4,
                                        embedding_dim=4)
        path = seqkit.export_classifier(model, preprocessor, names, head=head, export_root=tmp_path, name=head)
        outputs = tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(TEXTS))
        expected = model.predict(preprocessor(TEXTS), verbose=0)
        if head == "regression":
            np.testing.assert_allclose(outputs["value"].numpy(), expected.ravel(), atol=1e-5)
        else:
            np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-5)
            chosen = ["|".join(n for n, p in zip(names, row) if p >= 0.5) for row in expected]
            assert [label.decode() for label in outputs["labels"].numpy()] == chosen


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_stacked_model_exports_and_serves_without_seqkit(trained, tmp_path):
    # Word and character NBSVM stacked with the network: two inputs from two preprocessors, one string in.
    model, preprocessor, labels = trained
    char_tokenizer = seqkit.CharTokenizer()
    chars = seqkit.TextPreprocessor(char_tokenizer, seqkit.Vocabulary.build(char_tokenizer(TEXTS)), max_length=300)
    ids, char_ids, targets = preprocessor(TEXTS).numpy(), chars(TEXTS).numpy(), labels.encode(LABELS)
    weights = seqkit.nbsvm_weights([ids], targets, 2, preprocessor.vocabulary.size, num_buckets=50)
    char_weights = seqkit.nbsvm_weights([char_ids], targets, 2, chars.vocabulary.size, orders=(1, 2, 3), num_buckets=500)
    stacked, _ = seqkit.stack_ngram_logit(
        model, weights, [({"token_ids": ids, "char_ids": char_ids}, targets)], num_buckets=50,
        char_ngram_weights=char_weights, char_orders=(1, 2, 3), char_num_buckets=500,
    )
    path = seqkit.export_classifier(stacked, {"token_ids": preprocessor, "char_ids": chars}, labels.names,
                                    export_root=tmp_path, name="stacked")
    assert json.loads((path / "seqkit.json").read_text())["inputs"]["char_ids"]["max_length"] == 300
    texts = ["a wonderful film", "tedious", "", "wonderful tedious plot " * 500, "naïve 🙂\x00"]
    served = serve(path, texts)
    expected = seqkit.class_probabilities(
        stacked.predict({"token_ids": preprocessor(texts), "char_ids": chars(texts)}, verbose=0)
    )
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert served["labels"][:2] == ["pos", "neg"]
