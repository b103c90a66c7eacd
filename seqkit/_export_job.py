"""Exports a `.keras` model on the TensorFlow backend: the child process of `seqkit.export`.

`python -m seqkit._export_job FOLDER` reads `FOLDER/job.json` (the exporter's
name and options), `FOLDER/model.keras` and `FOLDER/vocabulary.json`, exports,
and writes the version folder's path to `FOLDER/result.json`. Run it with
`KERAS_BACKEND=tensorflow`.
"""

import json
import sys
from pathlib import Path


def main(folder):
    import keras

    from seqkit import export
    from seqkit.data.vocabulary import Vocabulary

    if keras.backend.backend() != "tensorflow":
        raise SystemExit(f"Run with KERAS_BACKEND=tensorflow. Received: {keras.backend.backend()!r}")
    folder = Path(folder)
    job = json.loads((folder / "job.json").read_text())
    model = keras.saving.load_model(folder / "model.keras")
    vocabulary = Vocabulary.load(folder / "vocabulary.json")
    path = getattr(export, job["function"])(model, vocabulary, **job["options"])
    (folder / "result.json").write_text(json.dumps({"path": str(path)}))


if __name__ == "__main__":
    main(sys.argv[1])
