"""Translation with an attention encoder-decoder (many-to-many, Tx != Ty), scored by BLEU and chrF.

Reads the Anki English-Spanish pairs (`--reverse` for Spanish to English) or
your own tab-separated pairs (`--pairs FILE`, with optional `--dev` and `--test`
files); splits them with a seed so that every pair sharing a source sentence
falls on one side (Anki holds several translations of many sentences, and a
plain shuffle leaks them into the test set); builds word vocabularies on the
training side; trains a bidirectional LSTM encoder and an LSTM decoder with
Bahdanau attention (teacher forcing, length-bucketed batches); decodes the test
set by beam search; reports corpus BLEU and chrF (sacrebleu, on detokenized
output); plots attention heatmaps for sample sentences; writes `metrics.json`;
and exports `saved_models/<name>/<version>/`, which translates raw strings (the
decoding loop in the graph; a second signature also returns the attention).

Usage:

    python recipes/translate.py --quick                   # < 3 min on a slice, still exports
    python recipes/translate.py                           # English -> Spanish, all pairs
    python recipes/translate.py --reverse                 # Spanish -> English
    python recipes/translate.py --pairs=my_pairs.tsv [--dev=dev.tsv] [--test=test.tsv] [--encoding=latin-1]
    python recipes/translate.py --attention=none          # what attention adds

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
from seqkit.data import readers, splits
from seqkit.layers.attention import ATTENTIONS
from seqkit.layers.attention_decoder import DECODER_CELLS, INITIAL_STATES
from seqkit.models import seq2seq
from seqkit.plots import plot_attention, plot_learning_curves


@dataclasses.dataclass
class Config:
    # --- Data ---
    data_dir: str | None = None  # Dataset folder; default: $SEQKIT_DATA_DIR, the cache, or a download.
    pairs: str | None = None  # Your own pairs file: source<TAB>target per line (Anki's layout).
    dev: str | None = None  # Your own dev pairs; default: a share of --pairs (or of Anki).
    test: str | None = None  # Your own test pairs; default: a share of --pairs (or of Anki).
    encoding: str = "utf-8"  # Text encoding of your files.
    reverse: bool = False  # Translate target to source (Anki: Spanish to English).
    dev_fraction: float = 0.05  # Held-out share of source sentences for early stopping.
    test_fraction: float = 0.05  # Held-out share of source sentences for the test set.
    max_pairs: int = 0  # Use at most this many pairs, drawn at random (0: all).
    # --- Preprocessing ---
    lowercase_source: bool = True  # Lowercase the source before tokenizing.
    lowercase_target: bool = False  # Lowercase the target (and its references).
    min_freq: int = 2  # Keep words seen at least this often in training.
    max_vocabulary: int = 20000  # Vocabulary size of each side, special tokens included.
    max_length: int = 40  # Truncate sources and training targets to this many words.
    # --- Model ---
    embedding_dim: int = 128  # Word embedding width (source and target).
    cell: str = "lstm"  # "lstm", "gru" or "peephole", encoder and decoder.
    units: int = 192  # Units per layer and direction.
    encoder_layers: int = 1  # Stacked encoder layers.
    decoder_layers: int = 1  # Stacked decoder layers.
    attention: str = "bahdanau"  # "bahdanau", "luong_dot", "luong_general" or "none".
    attention_units: int = 128  # Width of Bahdanau's scoring MLP.
    input_feeding: bool = False  # Feed each step's attentional state into the next step.
    decoder_initial_state: str = "final"  # "zeros", "final" or "backward_first".
    dropout: float = 0.2  # Dropout on embeddings, between encoder layers, and before the output.
    # --- Training ---
    batch_size: int = 64  # Pairs per batch.
    epochs: int = 12  # Maximum passes over the training pairs.
    learning_rate: float = 0.001  # Adam learning rate (Bahdanau attention stalled at 2e-3 and 3e-3 on a 12k-pair slice).
    clipnorm: float = 1.0  # Clip each weight's gradient to this norm (0: off).
    patience: int = 2  # Early-stopping patience in epochs, on dev loss.
    seed: int = 0  # Seeds the split, initialization and shuffling.
    distribute: str = "none"  # "none", "mirrored" (local GPUs) or "multi_worker" (TF_CONFIG); batch is per replica.
    precision: str = "float32"  # "float32", "mixed_float16" (GPUs) or "mixed_bfloat16" (TPUs, recent CPUs).
    # --- Decoding ---
    num_beams: int = 4  # Beam width (1: greedy).
    length_penalty: float = 0.6  # GNMT's length-penalty alpha.
    max_output_length: int = 50  # Most output words, <eos> included.
    # --- Quick mode ---
    quick: bool = False  # A small, fast run on a slice that still exports.
    # --- Outputs ---
    samples: str = "I am hungry.|Where is the station?|She reads a book every week."  # Sentences to translate and plot ("|"-separated).
    workdir: str = "runs/translate"  # Checkpoints, logs and plots.
    export_dir: str = "saved_models"  # Exports go to <export_dir>/<name>/<version>/.
    name: str = "translate"  # Export name.
    export: bool = True  # Export a SavedModel at the end.


def quick_config(config):
    """Shrinks a config for `--quick`: a slice of the pairs, a small model, three epochs."""
    return dataclasses.replace(
        config,
        max_pairs=min(config.max_pairs or 12000, 12000),
        embedding_dim=min(config.embedding_dim, 64),
        units=min(config.units, 64),
        attention_units=min(config.attention_units, 64),
        epochs=min(config.epochs, 3),
        max_vocabulary=min(config.max_vocabulary, 6000),
        dev_fraction=0.04,
        test_fraction=0.04,
    )


def check_config(config):
    config_lib.check_choices(
        config, {"cell": DECODER_CELLS, "attention": ATTENTIONS, "decoder_initial_state": INITIAL_STATES,
                 "distribute": distribute.STRATEGIES, "precision": seqkit.training.PRECISIONS}
    )
    for option in ("units", "embedding_dim", "batch_size", "epochs", "num_beams", "max_output_length", "max_length"):
        if getattr(config, option) < 1:
            raise config_lib.ConfigError(f"--{option.replace('_', '-')} must be >= 1. Received: {getattr(config, option)}")
    for option in ("dev_fraction", "test_fraction"):
        if not 0.0 < getattr(config, option) < 0.5:
            raise config_lib.ConfigError(f"--{option.replace('_', '-')} must be in (0, 0.5). Received: {getattr(config, option)}")
    if config.attention == "luong_dot":
        raise config_lib.ConfigError(
            "--attention=luong_dot needs encoder and decoder states of one width; the encoder here is "
            "bidirectional. Use --attention=luong_general."
        )
    if (config.dev or config.test) and not config.pairs:
        raise config_lib.ConfigError("--dev and --test go with --pairs (your own training pairs).")


# === Data ===


def load_pairs(config):
    """`{"train", "dev", "test"}` as `(sources, targets)` lists, and a description."""
    def read(path):
        return readers.read_pairs(path, encoding=config.encoding, reverse=config.reverse)

    if config.pairs:
        sources, targets = read(config.pairs)
        description = f"{config.pairs}"
    else:
        files = seqkit.datasets.files("spa-eng", data_dir=config.data_dir)
        sources, targets = read(next(iter(files.values())))
        description = "Anki spa-eng, " + ("Spanish -> English" if config.reverse else "English -> Spanish")
    if config.max_pairs and config.max_pairs < len(sources):
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(sources))[: config.max_pairs])
        sources, targets = splits.take(sources, keep), splits.take(targets, keep)
    data = {"train": (sources, targets)}
    for name, path, fraction in (("test", config.test, config.test_fraction), ("dev", config.dev, config.dev_fraction)):
        if path:
            data[name] = read(path)
            continue
        # Every translation of one source sentence falls on the same side.
        sources, targets = data["train"]
        share = fraction / (1.0 - (config.test_fraction if name == "dev" and not config.test else 0.0))
        keep, held_out = splits.group_split([s.lower() for s in sources], test_size=share, seed=config.seed)
        data["train"] = (splits.take(sources, keep), splits.take(targets, keep))
        data[name] = (splits.take(sources, held_out), splits.take(targets, held_out))
    return data, description


# === The run ===


def run(config):
    """Runs the configured experiment end to end; returns the final metrics dict."""
    import sacrebleu

    check_config(config)
    if config.quick:
        config = quick_config(config)
    strategy = distribute.get_strategy(config.distribute)
    workdir, export_dir = distribute.worker_paths(seqkit.training.resolve_workdir(config.workdir), config.export_dir)
    seqkit.training.record_config(workdir, config)
    workdir = Path(workdir)
    print(f"workdir: {workdir}")
    seqkit.set_seed(config.seed)
    data, description = load_pairs(config)
    (train_x, train_y), (dev_x, dev_y), (test_x, test_y) = data["train"], data["dev"], data["test"]
    leaked = len({s.lower() for s in train_x} & {s.lower() for s in test_x})
    print(f"data: {description}; {len(train_x)} train / {len(dev_x)} dev / {len(test_x)} test pairs "
          f"({leaked} test sources also in training)")

    source_tokenizer = seqkit.get_tokenizer({"type": "word", "lowercase": config.lowercase_source})
    target_tokenizer = seqkit.get_tokenizer({"type": "word", "lowercase": config.lowercase_target})
    vocabularies = [
        seqkit.Vocabulary.build(tokenizer.iter_tokenize(texts), min_freq=config.min_freq, max_size=config.max_vocabulary)
        for tokenizer, texts in ((source_tokenizer, train_x), (target_tokenizer, train_y))
    ]
    for side, vocabulary in zip(("source side", "target side"), vocabularies):
        vocabulary.require_tokens(f"{description} ({side})", config.min_freq)
    source = seqkit.TextPreprocessor(source_tokenizer, vocabularies[0], max_length=config.max_length)
    target = seqkit.TextPreprocessor(target_tokenizer, vocabularies[1], max_length=config.max_length)
    print(f"vocabularies: source {vocabularies[0].size} words, target {vocabularies[1].size}")

    def dataset(sources, targets, shuffle=False):
        return seqkit.data.make_pair_dataset(
            sources, targets, source_preprocessor=source, target_preprocessor=target,
            batch_size=distribute.global_batch_size(config.batch_size, strategy),
            shuffle=shuffle, seed=config.seed,
        )

    with strategy.scope(), seqkit.training.precision(config.precision):
        model = seq2seq.build_seq2seq(
            vocabularies[0].size, vocabularies[1].size, name="translate", **seq2seq.options_from(config)
        )
        seq2seq.compile_seq2seq(model, learning_rate=config.learning_rate, clipnorm=config.clipnorm)
    start = time.time()
    history = model.fit(
        dataset(train_x, train_y, shuffle=True),
        validation_data=dataset(dev_x, dev_y),
        epochs=config.epochs,
        callbacks=seqkit.training_callbacks(workdir, monitor="val_loss", patience=config.patience),
        shuffle=False,  # The dataset shuffles itself, before bucketing.
        verbose=2,
    )
    train_seconds = time.time() - start

    def translate(texts, num_beams=config.num_beams):
        return seqkit.translation.translate(
            model, source, vocabularies[1], texts, level="word", num_beams=num_beams,
            length_penalty=config.length_penalty, max_length=config.max_output_length,
        )

    # Target tokens the model was trained on (each target plus its <eos>, as truncated), per second.
    target_tokens = sum(min(len(tokens), config.max_length) + 1 for tokens in target_tokenizer(train_y))
    logs, epochs_run = seqkit.training.run_history(workdir, history)  # Every epoch, across a resume.
    tokens_per_second = target_tokens * len(history.epoch) / train_seconds  # This process's epochs.

    references = [text.lower() for text in test_y] if config.lowercase_target else test_y
    start = time.time()
    hypotheses, _, _ = translate(test_x)
    decode_seconds = time.time() - start
    bleu = sacrebleu.corpus_bleu(hypotheses, [references])
    chrf = sacrebleu.corpus_chrf(hypotheses, [references])
    print(f"test: BLEU {bleu.score:.2f}, chrF {chrf.score:.2f} on {len(test_x)} pairs ({config.num_beams} beams; "
          f"{len(test_x) / decode_seconds:.0f} sentences/s; training {tokens_per_second:,.0f} target tokens/s)"
          f"\n  {bleu}")
    greedy = {}
    if config.num_beams > 1:
        start = time.time()
        greedy_hypotheses, _, _ = translate(test_x, num_beams=1)
        greedy_seconds = time.time() - start
        greedy = {
            "greedy_bleu": sacrebleu.corpus_bleu(greedy_hypotheses, [references]).score,
            "greedy_chrf": sacrebleu.corpus_chrf(greedy_hypotheses, [references]).score,
            "greedy_sentences_per_second": round(len(test_x) / greedy_seconds, 1),
        }
        print(f"greedy: BLEU {greedy['greedy_bleu']:.2f}, chrF {greedy['greedy_chrf']:.2f} "
              f"({greedy['greedy_sentences_per_second']:.0f} sentences/s)")

    workdir.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(logs, workdir / "learning_curve.png")
    samples = [text for text in config.samples.split("|") if text.strip()] or test_x[:3]
    outputs, attentions, output_tokens = translate(samples)
    plots = []
    for index, (text, output, weights, tokens) in enumerate(zip(samples, outputs, attentions, output_tokens), 1):
        print(f"  {text!r} -> {output!r}")
        source_tokens = source_tokenizer([text])[0][: config.max_length] or ["<unk>"]
        path = workdir / f"attention_{index}.png"
        plot_attention(weights, source_tokens, tokens + ["<eos>"], path, title=f"{text} -> {output}")
        plots.append(path.name)
    metrics = {
        "bleu": bleu.score,
        "chrf": chrf.score,
        "bleu_signature": str(bleu),
        "data": description,
        "num_train": len(train_x),
        "num_dev": len(dev_x),
        "num_test": len(test_x),
        "test_sources_seen_in_training": leaked,
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 1),
        "train_target_tokens_per_second": round(tokens_per_second, 1),
        "test_sentences_per_second": round(len(test_x) / decode_seconds, 1),
        **greedy,
        "samples": [{"source": s, "output": o} for s, o in zip(samples, outputs)],
        "examples": [{"source": s, "output": h, "reference": r}
                     for s, h, r in zip(test_x[:20], hypotheses, references)],
        "history": logs,
        "plots": plots,
        "config": dataclasses.asdict(config),
    }
    metrics_json = json.dumps(metrics, indent=2, ensure_ascii=False)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", metrics_json)
    print(f"plots and metrics: {workdir}/{{learning_curve.png, {', '.join(plots)}, metrics.json}}")
    if config.export:
        path = seqkit.export_seq2seq(
            model, source, vocabularies[1], target_level="word", max_length=config.max_output_length,
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
