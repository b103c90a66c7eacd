"""Dev and test entity F1 of a NER run's `best.keras`, for a run that was cut before it scored itself;
or, with `--refit`, the recipe's `--refit` step run on a finished run's checkpoint.

The data are prepared from the run's `config.json` by the recipe's own `prepare` (the vocabularies are
built from the training split, so they match the checkpoint's).

`--refit` trains a fresh tagger on train+dev for the run's best dev epoch count and learning rates
(`recipes/ner.py --refit`'s step, on the same data and seed), reusing a `--bilm` checkpoint's frozen BiLM:
the weights a `--bilm --refit` run would reuse, so its 35-minute pretraining and selection run need not
run again. The result goes into `benchmarks/results/ner_bilm_refit.json` as that seed of the `--refit` row
with or without the BiLM (its time adds the stored run's pretraining and training time to the refit's).
A run cut after its training (no `metrics.json`) is refit from its `log.csv` and scored here; its training time
is then the time from its `config.json` to its last `log.csv` row.

Usage:
    python benchmarks/ner_checkpoint.py runs/benchmarks/ner-bilm-0-1795452820
    python benchmarks/ner_checkpoint.py --refit runs/benchmarks/ner-bilm-2-1795524312
    python benchmarks/ner_checkpoint.py --refit runs/benchmarks/ner-bilm_refit-0-1795571529
"""

import csv
import json
import sys
import time
from pathlib import Path

import keras

import seqkit
from seqkit import distribute
from seqkit.recipes import ner


def score(model, prepared, config, split):
    inputs = {key: prepared.features[split][key] for key in model.input}
    lengths = [len(row) for row in prepared.rows(split)]  # Sentences, or joined ones with --document-context.
    predicted = seqkit.models.predict_tag_names(model, inputs, lengths, prepared.tag_names, config.tag_scheme)
    return seqkit.metrics.entity_scores(prepared.gold[split], prepared.unrows(split, predicted))


def stored_metrics(workdir, config, prepared, model):
    """The run's `metrics.json`; for a run cut before it scored itself, what refitting needs of it."""
    if (workdir / "metrics.json").exists():
        return json.loads((workdir / "metrics.json").read_text())
    with open(workdir / "log.csv", newline="", encoding="utf-8") as file:
        rows = {int(row["epoch"]): row for row in csv.DictReader(file)}  # The last row of each epoch.
    history = {key: [float(rows[epoch][key]) for epoch in sorted(rows)] for key in ("val_f1", "learning_rate")}
    seconds = (workdir / "log.csv").stat().st_mtime - (workdir / "config.json").stat().st_mtime
    start = time.time()
    test = score(model, prepared, config, "test")
    decode_seconds = time.time() - start
    return {
        "history": history, "test": test, "f1": test["f1"], "dev": score(model, prepared, config, "dev"),
        "epochs_run": len(rows), "train_seconds": round(seconds, 1),
        "train_sentences_per_second": round(len(prepared.sentences["train"]) * len(rows) / seconds, 1),
        "decode_sentences_per_second": round(len(prepared.sentences["test"]) / decode_seconds, 1),
    }


def refit(workdir, config, prepared, model):
    import ner as benchmark  # benchmarks/ner.py, beside this file

    if config.bilm_trainable:
        raise SystemExit("--refit reuses the checkpoint's BiLM, which a --bilm-trainable run has changed: rerun it.")
    selection = stored_metrics(workdir, config, prepared, model)
    contextual = next((layer for layer in model.layers if isinstance(layer, seqkit.ContextualEmbedding)), None)
    schedule = seqkit.training.refit_schedule(selection["history"], "val_f1", learning_rate=config.learning_rate)
    start = time.time()
    model, report = ner.refit(config, prepared, contextual, schedule, workdir, distribute.get_strategy())
    scores = score(model, prepared, config, "test")
    report["selection_test"] = selection["test"]
    metrics = {**selection, "test": scores, "f1": scores["f1"], "refit": report}
    task = "bilm_refit"
    name = list(benchmark.CONFIGS[task])[0 if config.bilm else 1]  # The BiLM row, or the from-scratch one.
    earlier = selection["train_seconds"] + selection.get("bilm", {}).get("seconds", 0)
    benchmark.record_seed(task, name, config.seed, benchmark.seed_figures(metrics, earlier + time.time() - start))
    return {"refit_test_f1": round(100 * scores["f1"], 2), "selection_test_f1": round(100 * selection["f1"], 2)}


def main(argv):
    refitting = "--refit" in argv
    argv = [arg for arg in argv if arg != "--refit"]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    workdir = Path(argv[0])
    config = ner.Config(**json.loads((workdir / "config.json").read_text()))
    prepared = ner.prepare(config)
    model = keras.saving.load_model(workdir / "best.keras", compile=False)
    if refitting:
        result = refit(workdir, config, prepared, model)
    else:
        result = {f"{split}_f1": round(100 * score(model, prepared, config, split)["f1"], 2) for split in ("dev", "test")}
    print(json.dumps({"workdir": str(workdir), **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
