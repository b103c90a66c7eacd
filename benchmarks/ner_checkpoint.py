"""Dev and test entity F1 of a NER run's `best.keras`, for a run that was cut before it scored itself.

The data are prepared from the run's `config.json` by the recipe's own `prepare` (the vocabularies are
built from the training split, so they match the checkpoint's).

Usage:
    python benchmarks/ner_checkpoint.py runs/benchmarks/ner-bilm-0-1795452820
"""

import json
import sys
from pathlib import Path

import keras

import seqkit
from seqkit.recipes import ner


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    workdir = Path(argv[0])
    config = ner.Config(**json.loads((workdir / "config.json").read_text()))
    prepared = ner.prepare(config)
    model = keras.saving.load_model(workdir / "best.keras", compile=False)
    scores = {}
    for split in ("dev", "test"):
        inputs = {key: prepared.features[split][key] for key in model.input}
        lengths = [len(row) for row in prepared.rows(split)]  # Sentences, or joined ones with --document-context.
        predicted = seqkit.models.predict_tag_names(model, inputs, lengths, prepared.tag_names, config.tag_scheme)
        predicted = prepared.unrows(split, predicted)
        scores[split] = seqkit.metrics.entity_scores(prepared.gold[split], predicted)
    result = {"workdir": str(workdir), **{f"{split}_f1": round(100 * s["f1"], 2) for split, s in scores.items()}}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
