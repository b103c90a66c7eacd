"""Human-readable dates to ISO 8601 with an attention encoder-decoder (many-to-many, Tx != Ty).

The data is generated in code, so this recipe needs no download:
`seqkit.data.dates` writes random dates from 1950-2049 in 24 formats ("the 3rd
of March 1998", "03/03/98", "Tuesday, March 3, 1998", "3 de marzo de 1998",
"mardi 3 mars 1998", "3. März 1998", ...) and pairs each with its `YYYY-MM-DD`
form; no test string is seen in training. Characters in, characters out: a
bidirectional LSTM encoder and an LSTM decoder with Bahdanau attention, trained
with teacher forcing and decoded by beam search. The recipe reports exact match
and character accuracy on the test strings, plots attention heatmaps for a few
of them, writes `metrics.json`, and exports `saved_models/<name>/<version>/`,
which reads raw strings and returns ISO dates (the decoding loop in the graph;
a second signature also returns the attention matrix).

Usage:

    python recipes/dates.py --quick              # < 3 min, still exports
    python recipes/dates.py                      # the full run
    python recipes/dates.py --attention=none     # what attention adds
    python recipes/dates.py --attention=luong_general --decoder-initial-state=backward_first

Every config field below is a `--key=value` option; unknown keys and values of
the wrong type are errors. Figures and the commands that produced them are in
`benchmarks/README.md`.
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit import distribute
from seqkit.data import dates
from seqkit.layers.attention import ATTENTIONS
from seqkit.layers.attention_decoder import DECODER_CELLS, INITIAL_STATES
from seqkit.models import seq2seq
from seqkit.plots import plot_attention, plot_learning_curves


@dataclasses.dataclass
class Config:
    # --- Data ---
    num_train: int = 30000  # Generated training pairs.
    num_dev: int = 1000  # Generated dev pairs (early stopping).
    num_test: int = 2000  # Generated test pairs (strings never seen in training).
    # --- Model ---
    embedding_dim: int = 32  # Character embedding width (source and target).
    cell: str = "lstm"  # "lstm", "gru" or "peephole", encoder and decoder.
    units: int = 64  # Units per layer and direction.
    encoder_layers: int = 1  # Stacked encoder layers.
    decoder_layers: int = 1  # Stacked decoder layers.
    bidirectional: bool = True  # A bidirectional encoder.
    attention: str = "bahdanau"  # "bahdanau", "luong_dot", "luong_general" or "none".
    attention_units: int = 64  # Width of Bahdanau's scoring MLP.
    input_feeding: bool = False  # Feed each step's attentional state into the next step.
    decoder_initial_state: str = "final"  # "zeros", "final" or "backward_first".
    dropout: float = 0.0  # Dropout on embeddings, between encoder layers, and before the output.
    # --- Training ---
    batch_size: int = 64  # Pairs per batch.
    epochs: int = 30  # Maximum passes over the training pairs.
    learning_rate: float = 0.003  # Adam learning rate.
    clipnorm: float = 1.0  # Clip each weight's gradient to this norm (0: off).
    patience: int = 3  # Early-stopping patience in epochs, on dev loss.
    min_delta: float = 0.001  # The smallest dev-loss gain (nats/char) that counts as progress for early stopping.
    seed: int = 0  # Seeds the data, initialization and shuffling.
    distribute: str = "none"  # "none", "mirrored" (local GPUs) or "multi_worker" (TF_CONFIG); batch is per replica.
    precision: str = "float32"  # "float32", "mixed_float16" (GPUs) or "mixed_bfloat16" (TPUs, recent CPUs).
    # --- Decoding ---
    num_beams: int = 4  # Beam width (1: greedy).
    length_penalty: float = 0.6  # GNMT's length-penalty alpha.
    max_output_length: int = 12  # Most output characters (an ISO date is 10, then <eos>).
    # --- Quick mode ---
    quick: bool = False  # A small, fast run that still exports.
    # --- Outputs ---
    num_plots: int = 3  # Attention heatmaps of test examples.
    workdir: str = "runs/dates"  # Checkpoints, logs and plots.
    export_dir: str = "saved_models"  # Exports go to <export_dir>/<name>/<version>/.
    name: str = "dates"  # Export name.
    export: bool = True  # Export a SavedModel at the end.


def quick_config(config):
    """Shrinks a config for `--quick`: fewer pairs and epochs."""
    return dataclasses.replace(
        config,
        num_train=min(config.num_train, 8000),
        num_dev=min(config.num_dev, 500),
        num_test=min(config.num_test, 500),
        epochs=min(config.epochs, 6),
    )


def check_config(config):
    config_lib.check_choices(
        config,
        {"cell": DECODER_CELLS, "attention": ATTENTIONS, "decoder_initial_state": INITIAL_STATES,
         "distribute": distribute.STRATEGIES, "precision": seqkit.training.PRECISIONS},
    )
    for option in ("num_train", "num_dev", "num_test", "units", "embedding_dim", "batch_size", "epochs",
                   "num_beams", "max_output_length"):
        if getattr(config, option) < 1:
            raise config_lib.ConfigError(f"--{option.replace('_', '-')} must be >= 1. Received: {getattr(config, option)}")
    if config.min_delta < 0:
        raise config_lib.ConfigError(f"--min-delta must be >= 0. Received: {config.min_delta}")
    if config.length_penalty < 0:
        raise config_lib.ConfigError(f"--length-penalty must be >= 0. Received: {config.length_penalty}")
    if config.decoder_initial_state == "backward_first" and not config.bidirectional:
        raise config_lib.ConfigError("--decoder-initial-state=backward_first needs a bidirectional encoder.")
    if config.attention == "luong_dot" and config.bidirectional:
        raise config_lib.ConfigError(
            "--attention=luong_dot needs encoder and decoder states of one width: add --no-bidirectional, "
            "or use --attention=luong_general."
        )


def preprocessors(train_x, train_y):
    """Character-level source (lowercased, at most 64 characters) and target `TextPreprocessor`s of the training pairs."""
    tokenizer = seqkit.get_tokenizer({"type": "char", "lowercase": True})
    target_tokenizer = seqkit.get_tokenizer({"type": "char", "lowercase": False})
    source = seqkit.TextPreprocessor(tokenizer, seqkit.Vocabulary.build(tokenizer.iter_tokenize(train_x)), max_length=64)
    target = seqkit.TextPreprocessor(target_tokenizer, seqkit.Vocabulary.build(target_tokenizer.iter_tokenize(train_y)))
    return source, target


# === Decoding and scoring ===


def scores(predictions, references):
    exact = float(np.mean([p == r for p, r in zip(predictions, references)]))
    characters = [sum(a == b for a, b in zip(p, r)) / max(len(r), 1) for p, r in zip(predictions, references)]
    return {"exact_match": exact, "character_accuracy": float(np.mean(characters))}


# === The run ===


def run(config):
    """Runs the configured experiment end to end; returns the final metrics dict."""
    check_config(config)
    if config.quick:
        config = quick_config(config)
    strategy = distribute.get_strategy(config.distribute)
    workdir, export_dir = distribute.worker_paths(seqkit.training.resolve_workdir(config.workdir), config.export_dir)
    seqkit.training.record_config(workdir, config)
    workdir = Path(workdir)
    print(f"workdir: {workdir}")
    seqkit.set_seed(config.seed)
    data = dates.date_splits(config.num_train, config.num_dev, config.num_test, seed=config.seed)
    (train_x, train_y), (dev_x, dev_y), (test_x, test_y) = (tuple(map(list, zip(*data[s]))) for s in ("train", "dev", "test"))
    print(f"data: {len(train_x)} train / {len(dev_x)} dev / {len(test_x)} test generated pairs, e.g. "
          f"{train_x[0]!r} -> {train_y[0]!r}")

    source, target = preprocessors(train_x, train_y)
    source_vocabulary, target_vocabulary = source.vocabulary, target.vocabulary
    print(f"vocabularies: source {source_vocabulary.size} characters, target {target_vocabulary.size}")

    def dataset(sources, targets, shuffle=False):
        return seqkit.data.make_pair_dataset(
            sources, targets, source_preprocessor=source, target_preprocessor=target,
            batch_size=distribute.global_batch_size(config.batch_size, strategy),
            shuffle=shuffle, seed=config.seed,
        )

    with strategy.scope(), seqkit.training.precision(config.precision):
        model = seq2seq.build_seq2seq(
            source_vocabulary.size, target_vocabulary.size, name="dates", **seq2seq.options_from(config)
        )
        seq2seq.compile_seq2seq(model, learning_rate=config.learning_rate, clipnorm=config.clipnorm)
    start = time.time()
    history = model.fit(
        dataset(train_x, train_y, shuffle=True),
        validation_data=dataset(dev_x, dev_y),
        epochs=config.epochs,
        callbacks=seqkit.training_callbacks(
            workdir, monitor="val_loss", patience=config.patience, min_delta=config.min_delta
        ),
        shuffle=False,  # The dataset shuffles itself, before bucketing.
        verbose=2,
    )
    train_seconds = time.time() - start
    logs, epochs_run = seqkit.training.run_history(workdir, history)  # Every epoch, across a resume.
    # Target characters the model was trained on (each ISO date plus its <eos>) in this process, per second.
    tokens_per_second = sum(len(date) + 1 for date in train_y) * len(history.epoch) / train_seconds

    start = time.time()
    predictions, attentions, _ = seqkit.translation.translate(
        model, source, target_vocabulary, test_x, level="char", num_beams=config.num_beams,
        length_penalty=config.length_penalty, max_length=config.max_output_length,
    )
    decode_seconds = time.time() - start
    test = scores(predictions, test_y)
    print(f"test: exact match {test['exact_match']:.4f}, character accuracy {test['character_accuracy']:.4f} "
          f"({config.num_beams} beams; {len(test_x) / decode_seconds:.0f} dates/s; "
          f"training {tokens_per_second:,.0f} target characters/s)")
    mistakes = [(s, p, r) for s, p, r in zip(test_x, predictions, test_y) if p != r]
    for source_text, predicted, reference in mistakes[:5]:
        print(f"  {source_text!r}: {predicted!r} (expected {reference!r})")

    workdir.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(logs, workdir / "learning_curve.png")
    plots = []
    for index in range(min(config.num_plots, len(test_x))):
        characters = list(test_x[index].lower())[:64] or [""]
        output = list(predictions[index]) + ["<eos>"]
        path = workdir / f"attention_{index + 1}.png"
        plot_attention(attentions[index], characters, output, path, title=f"{test_x[index]!r} -> {predictions[index]!r}")
        plots.append(path.name)
    metrics = {
        "exact_match": test["exact_match"],
        "character_accuracy": test["character_accuracy"],
        "num_train": len(train_x),
        "num_dev": len(dev_x),
        "num_test": len(test_x),
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 1),
        "train_target_tokens_per_second": round(tokens_per_second, 1),
        "test_dates_per_second": round(len(test_x) / decode_seconds, 1),
        "examples": [{"source": s, "output": p, "reference": r} for s, p, r in zip(test_x[:10], predictions, test_y)],
        "mistakes": [{"source": s, "output": p, "reference": r} for s, p, r in mistakes[:20]],
        "history": logs,
        "plots": plots,
        "config": dataclasses.asdict(config),
    }
    metrics_json = json.dumps(metrics, indent=2, ensure_ascii=False)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", metrics_json)
    print(f"plots and metrics: {workdir}/{{learning_curve.png, {', '.join(plots)}, metrics.json}}")
    if config.export:
        path = seqkit.export_seq2seq(
            model, source, target_vocabulary, target_level="char", max_length=config.max_output_length,
            num_beams=config.num_beams, length_penalty=config.length_penalty, export_root=export_dir,
            name=config.name, extra_files={"metrics.json": metrics_json, "config.json": config_lib.config_to_json(config)},
        )
        metrics["export_path"] = str(path)
        print(f"exported: {path}")
    return metrics


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    return config_lib.run_main(Config(), run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
