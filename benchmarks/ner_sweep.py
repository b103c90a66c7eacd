"""Train the NER recipe's model from prepared arrays, on any Keras backend (e.g. JAX on a GPU).

The recipe's featurization runs TensorFlow string ops; training does not. This
script splits the two, so configurations can be compared on a machine that has
a GPU and JAX but no TensorFlow:

    # where TensorFlow is: featurize once (same options as recipes/ner.py)
    python benchmarks/ner_sweep.py features OUT_PREFIX [--dataset=conll2003 ...]
    # anywhere: train and score one or more configurations (each "a;b;c" is a list of recipe options)
    KERAS_BACKEND=jax python benchmarks/ner_sweep.py train OUT_PREFIX RESULTS.json "--units=100" "--units=200;--num-layers=2"

Scores come from the recipe's own `train_and_evaluate` (same early stopping on
dev F1, same seqeval scoring).
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sentiment import load_recipe  # noqa: E402


def save_features(prefix, argv):
    recipe = load_recipe("ner")
    config = recipe.config_lib.parse_args(recipe.Config(), argv)
    prepared = recipe.prepare(config)
    arrays = {}
    for split in ("train", "dev", "test"):
        features = prepared.features[split]
        arrays[f"{split}/words"] = features["words"].astype("int32")
        arrays[f"{split}/chars"] = features["chars"].astype("uint16" if prepared.char_vocabulary_size < 65536 else "int32")
        arrays[f"{split}/casing"] = features["casing"].astype("uint8")
        arrays[f"{split}/tags"] = prepared.tag_ids[split].astype("int16")
    np.savez_compressed(f"{prefix}.npz", **arrays)
    meta = {
        "description": prepared.description,
        "tag_names": prepared.tag_names,
        "word_vocabulary_size": prepared.word_vocabulary_size,
        "char_vocabulary_size": prepared.char_vocabulary_size,
        "gold": prepared.gold,
        "lengths": {split: [len(row) for row in rows] for split, rows in prepared.sentences.items()},
        "options": argv,
    }
    Path(f"{prefix}.json").write_text(json.dumps(meta))
    print(f"wrote {prefix}.npz and {prefix}.json")


def load_prepared(recipe, prefix):
    meta = json.loads(Path(f"{prefix}.json").read_text())
    arrays = np.load(f"{prefix}.npz")
    features = {
        split: {key: arrays[f"{split}/{key}"].astype("int32") for key in ("words", "chars", "casing")}
        for split in ("train", "dev", "test")
    }
    return recipe.Prepared(
        description=meta["description"],
        tag_names=meta["tag_names"],
        word_vocabulary_size=meta["word_vocabulary_size"],
        char_vocabulary_size=meta["char_vocabulary_size"],
        features=features,
        tag_ids={split: arrays[f"{split}/tags"].astype("int32") for split in ("train", "dev", "test")},
        gold=meta["gold"],
        # Only the lengths are read during training.
        sentences={split: [[""] * length for length in lengths] for split, lengths in meta["lengths"].items()},
    ), meta["options"]


def train(prefix, results_path, option_sets):
    import keras

    recipe = load_recipe("ner")
    results = json.loads(Path(results_path).read_text()) if Path(results_path).exists() else []
    for options in option_sets:
        prepared, feature_options = load_prepared(recipe, prefix)
        argv = [*feature_options, *[option for option in options.split(";") if option]]
        config = recipe.config_lib.parse_args(recipe.Config(), argv)
        recipe.check_config(config)
        start = time.time()
        summary, _ = recipe.train_and_evaluate(config, prepared, Path(f"/tmp/ner_sweep/{int(start)}"))
        results.append(
            {
                "options": argv,
                "backend": keras.backend.backend(),
                "f1": summary["f1"],
                "dev_f1": summary["dev"]["f1"],
                "epochs_run": summary["epochs_run"],
                "seconds": round(time.time() - start, 1),
                "train_sentences_per_second": summary["train_sentences_per_second"],
                "decode_sentences_per_second": summary["decode_sentences_per_second"],
                "config": dataclasses.asdict(config),
            }
        )
        Path(results_path).write_text(json.dumps(results, indent=2))
        print(f"{argv}: test F1 {summary['f1']:.4f}, dev F1 {summary['dev']['f1']:.4f}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "features":
        save_features(argv[1], argv[2:])
        return 0
    if len(argv) >= 3 and argv[0] == "train":
        train(argv[1], argv[2], argv[3:] or [""])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
