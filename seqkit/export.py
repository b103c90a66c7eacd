"""SavedModel export in TF Serving's layout, with raw-string signatures.

`saved_models/<name>/<version>/` holds a SavedModel whose `serving_default`
takes a 1-D batch of strings. Tokenization and vocabulary lookup run inside the
graph, so the export loads with plain `tensorflow`, without seqkit:

    import tensorflow as tf
    model = tf.saved_model.load("saved_models/sentiment/1")
    model.signatures["serving_default"](text=tf.constant(["A fine film."]))

A SavedModel is a program: load it only from sources you trust.
This module is TensorFlow-specific.
"""

import json
import os
import re
from pathlib import Path

import keras
import tensorflow as tf

from seqkit.utils import atomic_directory


def next_version_dir(export_root, name):
    """The next free `export_root/name/<n>` (1 when none exists); existing versions are kept."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise ValueError(f"`name` must be a simple folder name (letters, digits, '.', '_', '-'). Received: {name!r}")
    base = Path(os.fspath(export_root)) / name
    versions = [int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return base / str(max(versions, default=0) + 1)


def export_classifier(
    model,
    preprocessor,
    label_names,
    head="binary",
    export_root="saved_models",
    name="classifier",
    extra_files=None,
):
    """Exports a classifier as `export_root/name/<next version>/`, atomically.

    The `serving_default` signature takes `text`, a 1-D string tensor, and returns:
    - `labels`: the predicted label name per text (multilabel: names joined by "|";
      regression: absent);
    - `probabilities`: `(batch, num_classes)` class probabilities, in the order of
      `label_names` (regression: `value`, `(batch,)`).

    Args:
        model: a classifier from `build_classifier` (token ids -> outputs).
        preprocessor: the `TextPreprocessor` used in training.
        label_names: the class names, in id order.
        head: the classifier's head.
        export_root: the folder holding one sub-folder per model name.
        name: the model name.
        extra_files: `{file name: text}` written into the version folder with the
            model (e.g. `metrics.json`), inside the same atomic rename.

    Returns:
        The `Path` of the new version folder.
    """
    label_names = [str(label) for label in label_names]
    version_dir = next_version_dir(export_root, name)
    names = tf.constant(label_names or [""], dtype=tf.string)

    def serve(text):
        ids = preprocessor(text)
        outputs = model(ids, training=False)
        if head == "regression":
            return {"value": tf.reshape(outputs, [-1])}
        if head == "binary":
            positive = tf.reshape(outputs, [-1, 1])
            probabilities = tf.concat([1.0 - positive, positive], axis=-1)
        else:
            probabilities = outputs
        if head == "multilabel":
            chosen = tf.ragged.boolean_mask(tf.broadcast_to(names, tf.shape(probabilities)), probabilities >= 0.5)
            labels = tf.strings.reduce_join(chosen, axis=-1, separator="|")
        else:
            labels = tf.gather(names, tf.argmax(probabilities, axis=-1))
        return {"labels": labels, "probabilities": probabilities}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor)
    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")],
    )
    metadata = {
        "format": "seqkit.classifier",
        "head": head,
        "label_names": label_names,
        "tokenizer": preprocessor.tokenizer.get_config(),
        "max_length": preprocessor.max_length,
        "vocabulary_size": preprocessor.vocabulary.size,
    }
    with atomic_directory(version_dir) as staging:
        archive.write_out(str(staging), verbose=False)
        extra = {"seqkit.json": json.dumps(metadata, indent=2), **(extra_files or {})}
        for filename, text in extra.items():
            (staging / filename).write_text(text, encoding="utf-8")
    return version_dir
