"""Character- and word-level language models that generate and score text (one-to-many).

Reads tiny-shakespeare (contiguous split: the first 90% trains, the last 10%
validates, nanoGPT's convention), the English side of the spa-eng sentence
pairs (`--dataset=spa-eng`, lines shuffled then split), or your own text file
(`--text FILE`); trains a recurrent LM on windows of `--sequence-length`
tokens (or statefully, carrying the state across consecutive windows, with
`--stateful`); prints samples at several temperatures during training; reports
the validation loss in nats and bits per token and per character, and
perplexity; scores `--score-texts`; and exports `saved_models/<name>/<version>/`,
which generates from raw prompt strings (the sampling loop in the graph) and
scores strings.

Usage:

    python recipes/textgen.py --quick                        # ~2 min smoke run, still exports
    python recipes/textgen.py                                # tiny-shakespeare, characters
    python recipes/textgen.py --max-minutes=45               # the benchmark's time budget
    KERAS_BACKEND=jax python recipes/textgen.py --max-minutes=45  # the same, ~1.5-2.9x faster on CPU
    python recipes/textgen.py --level=word --dataset=spa-eng # a word LM on everyday English
    python recipes/textgen.py --text=my_corpus.txt [--encoding=latin-1]
    python recipes/textgen.py --stateful                     # truncated BPTT across windows

Every config field below is a `--key=value` option; unknown keys and values of
the wrong type are errors. Figures and the commands that produced them are in
`benchmarks/README.md` (`python benchmarks/textgen.py`).
"""

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit import distribute
from seqkit.data import text_windows
from seqkit.models import language_model
from seqkit.plots import plot_learning_curves

DATASETS = ("tinyshakespeare", "spa-eng")


@dataclasses.dataclass
class Config:
    # --- Data ---
    dataset: str = "tinyshakespeare"  # "tinyshakespeare" or "spa-eng" (its English sentences); ignored with --text.
    data_dir: str | None = None  # Dataset folder; default: $SEQKIT_DATA_DIR, the cache, or a download.
    text: str | None = None  # Your own plain-text file.
    encoding: str = "utf-8"  # Encoding of --text.
    memory_limit_mb: float = 512.0  # A --text file larger than this streams from disk instead of loading (0: never).
    level: str = "char"  # "char" or "word".
    train_fraction: float = 0.9  # The first part trains, the rest validates.
    min_freq: int = 1  # Keep tokens seen at least this often (rarer ones become <unk>).
    max_vocabulary: int = 0  # Keep at most this many tokens (0: no limit).
    # --- Model ---
    sequence_length: int = 256  # Tokens per training window.
    embedding_dim: int = 64  # Token embedding width.
    cell: str = "lstm"  # "lstm", "gru", "simple" or "peephole" (LSTM with peephole connections).
    units: int = 512  # Units per recurrent layer.
    num_layers: int = 2  # Stacked recurrent layers.
    dropout: float = 0.2  # Dropout on each recurrent layer's inputs.
    output_dropout: float = 0.2  # Dropout before the output projection.
    stateful: bool = False  # Carry the state across consecutive windows (truncated BPTT).
    # --- Training ---
    batch_size: int = 32  # Windows per batch.
    epochs: int = 40  # Maximum passes over the training text.
    max_minutes: float = 0.0  # Stop training after this many minutes (0: no limit).
    anneal_to: float = 0.1  # With --max-minutes: cosine-decay the rate to this fraction over the budget (1: off).
    anneal_over: float = 0.3  # The final share of the budget that decay takes (constant rate before it).
    learning_rate: float = 0.003  # Adam learning rate.
    clipnorm: float = 1.0  # Clip each weight's gradient to this norm (0: off).
    patience: int = 3  # Early-stopping patience in epochs, on validation loss.
    reduce_lr_patience: int = 1  # Halve the learning rate after this many epochs without gain (0: never).
    seed: int = 0  # Seeds initialization, shuffling and sampling.
    distribute: str = "none"  # "none", "mirrored" (local GPUs) or "multi_worker" (TF_CONFIG); batch is per replica.
    precision: str = "float32"  # "float32", "mixed_float16" (GPUs) or "mixed_bfloat16" (TPUs, recent CPUs).
    # --- Samples and scores ---
    sample_prompt: str = ""  # Prompt of the samples printed during training.
    sample_temperatures: str = "0.5,0.8,1.0"  # Comma-separated temperatures of those samples.
    sample_length: int = 200  # Tokens per sample.
    sample_every: int = 1  # Print samples every this many epochs (0: never).
    score_texts: str = "the apple and pear salad|the apple and pair salad"  # "|"-separated texts to score.
    # --- Export ---
    strategy: str = "random"  # Sampling strategy of the export: "greedy", "random", "top_k" or "top_p".
    temperature: float = 0.8  # The export's default temperature.
    top_k: int = 10  # For --strategy=top_k.
    top_p: float = 0.9  # For --strategy=top_p.
    export_jit_compile: bool = False  # Compile the export's sampling loop with XLA (~1.5x chars/s; TF Serving then needs --xla_cpu_compilation_enabled=true).
    # --- Quick mode ---
    quick: bool = False  # A small, fast run on a slice of the data that still exports.
    quick_tokens: int = 200_000  # Training tokens kept in quick mode.
    # --- Outputs ---
    workdir: str = "runs/textgen"  # Checkpoints, logs, samples and plots.
    export_dir: str = "saved_models"  # Exports go to <export_dir>/<name>/<version>/.
    name: str = "textgen"  # Export name.
    export: bool = True  # Export a SavedModel at the end.


def quick_config(config):
    """Shrinks a config for `--quick`: a slice of the text, a small model, three epochs."""
    return dataclasses.replace(
        config,
        epochs=min(config.epochs, 3),
        units=min(config.units, 128),
        num_layers=1,
        sequence_length=min(config.sequence_length, 64),
        sample_length=min(config.sample_length, 80),
        sample_temperatures="0.5,1.0",
    )


def check_config(config):
    config_lib.check_choices(
        config,
        {"level": text_windows.LEVELS, "dataset": DATASETS, "strategy": ("greedy", "random", "top_k", "top_p"),
         "distribute": distribute.STRATEGIES, "precision": seqkit.training.PRECISIONS},
    )
    if config.stateful and streams_from_disk(config):
        raise config_lib.ConfigError(
            "--stateful reads the whole stream in parallel rows: it needs the text in memory. Raise --memory-limit-mb."
        )
    if config.stateful and config.distribute != "none":
        raise config_lib.ConfigError("--stateful carries each row's state on one device: use it with --distribute=none.")
    if not 0.0 <= config.anneal_to <= 1.0:
        raise config_lib.ConfigError(f"--anneal-to must be in [0, 1]. Received: {config.anneal_to}")
    if not 0.0 < config.anneal_over <= 1.0:
        raise config_lib.ConfigError(f"--anneal-over must be in (0, 1]. Received: {config.anneal_over}")
    if config.temperature <= 0:
        raise config_lib.ConfigError(f"--temperature must be > 0. Received: {config.temperature}")
    if not 0.0 < config.top_p <= 1.0:
        raise config_lib.ConfigError(f"--top-p must be in (0, 1]. Received: {config.top_p}")
    for temperature in sample_temperatures(config):
        if temperature <= 0:
            raise config_lib.ConfigError(f"--sample-temperatures must all be > 0. Received: {config.sample_temperatures!r}")


def sample_temperatures(config):
    try:
        return [float(value) for value in config.sample_temperatures.split(",") if value.strip()]
    except ValueError:
        raise config_lib.ConfigError(
            f"--sample-temperatures must be comma-separated numbers. Received: {config.sample_temperatures!r}"
        ) from None


# === Data ===


@dataclasses.dataclass
class Prepared:
    vocabulary: object
    train_ids: np.ndarray | None  # None when streamed: then the regions below.
    val_ids: np.ndarray | None
    val_characters: int
    description: str
    num_val_tokens: int = 0
    train_region: object = None  # text_windows.TextFileRegion of a streamed --text file.
    val_region: object = None

    @property
    def streamed(self):
        return self.train_region is not None


def streams_from_disk(config):
    """Whether `--text` is larger than `--memory-limit-mb` (quick mode always loads its slice)."""
    if not config.text or config.quick or not config.memory_limit_mb or not os.path.isfile(config.text):
        return False  # (A missing file gets load_text's error.)
    return os.path.getsize(config.text) > config.memory_limit_mb * 2**20


def load_text(config):
    """`(train_text, val_text, description)` for the configured source."""
    if config.text:
        text = seqkit.data.readers.read_text(config.text, encoding=config.encoding)
        source = config.text
    elif config.dataset == "tinyshakespeare":
        text = seqkit.datasets.load_tinyshakespeare(data_dir=config.data_dir)
        source = "tiny-shakespeare"
    else:
        # The English side of the pairs, once per sentence, in a seeded random order: the
        # file is sorted by length, so a contiguous split would validate on long sentences only.
        pairs = seqkit.datasets.files("spa-eng", data_dir=config.data_dir)
        lines = seqkit.data.readers.read_lines(next(iter(pairs.values())))
        english = list(dict.fromkeys(line.split("\t")[0] for line in lines))
        order = np.random.default_rng(config.seed).permutation(len(english))
        text = "\n".join(english[i] for i in order) + "\n"
        source = "spa-eng (English sentences)"
    train_text, val_text = seqkit.splits.contiguous_split(text, config.train_fraction)
    if config.level == "word" and "\n" in val_text:
        # Cut at a line end, so that no word is split between training and validation.
        head, _, val_text = val_text.partition("\n")
        train_text += head + "\n"
    return train_text, val_text, source


def prepare_streamed(config):
    """Like `prepare`, reading the file a chunk at a time: a vocabulary pass, then a count of the validation part."""
    train, val = text_windows.TextFileRegion.split(config.text, config.train_fraction, encoding=config.encoding)
    num_train = 0

    def counted(chunks):
        nonlocal num_train
        for tokens in chunks:
            num_train += len(tokens)
            yield [token for token in tokens if token != text_windows.EOS_TOKEN]

    vocabulary = seqkit.Vocabulary.build(
        counted(train.token_chunks(config.level)), min_freq=config.min_freq, max_size=config.max_vocabulary or None
    )
    vocabulary.require_tokens(config.text, config.min_freq, unit="word" if config.level == "word" else "character")
    num_val, val_characters, unknown = text_windows.count_region(val, vocabulary, config.level)
    description = (
        f"{config.text} (streamed from disk: {train.num_bytes / 2**20:,.1f} MiB > --memory-limit-mb="
        f"{config.memory_limit_mb:g} for training): {num_train:,} training and {num_val:,} validation "
        f"{config.level} tokens; vocabulary {vocabulary.size:,} (validation <unk> rate "
        f"{100 * unknown / max(num_val, 1):.2f}%)"
    )
    print(description)
    return Prepared(vocabulary, None, None, val_characters, description, num_val, train, val)


def prepare(config):
    if streams_from_disk(config):
        return prepare_streamed(config)
    train_text, val_text, source = load_text(config)
    train_tokens = text_windows.text_to_tokens(train_text, config.level)
    if config.quick:
        train_tokens = train_tokens[: config.quick_tokens]
        val_text = val_text[: max(len(val_text) // 4, 1)]
    val_tokens = text_windows.text_to_tokens(val_text, config.level)
    vocabulary = text_windows.build_lm_vocabulary(
        train_tokens, min_freq=config.min_freq, max_size=config.max_vocabulary or None
    )
    for name, tokens in (("training", train_tokens), ("validation", val_tokens)):  # Before a model is built.
        text_windows.check_window_length(tokens, config.sequence_length, name, source=source)
    vocabulary.require_tokens(source, config.min_freq, unit="word" if config.level == "word" else "character")
    train_ids = np.asarray(vocabulary.encode(train_tokens), dtype="int32")
    val_ids = np.asarray(vocabulary.encode(val_tokens), dtype="int32")
    unknown = float(np.mean(val_ids == vocabulary.unk_id)) if len(val_ids) else 0.0
    description = (
        f"{source}: {len(train_ids):,} training and {len(val_ids):,} validation {config.level} tokens; "
        f"vocabulary {vocabulary.size:,} (validation <unk> rate {100 * unknown:.2f}%)"
    )
    print(description)
    return Prepared(vocabulary, train_ids, val_ids, len(val_text), description, len(val_ids))


def datasets(config, prepared, batch_size):
    if prepared.streamed:
        options = dict(vocabulary=prepared.vocabulary, level=config.level, sequence_length=config.sequence_length,
                       batch_size=batch_size)
        train = text_windows.stream_window_dataset(prepared.train_region, seed=config.seed, **options)
        val = text_windows.stream_window_dataset(prepared.val_region, shuffle=False, name="validation", **options)
        return train, val
    if config.stateful:
        train = text_windows.stateful_window_dataset(prepared.train_ids, config.sequence_length, config.batch_size)
        val = text_windows.stateful_window_dataset(
            prepared.val_ids, config.sequence_length, config.batch_size, name="validation"
        )
        return train, val
    train = text_windows.window_dataset(prepared.train_ids, config.sequence_length, batch_size, seed=config.seed)
    val = text_windows.window_dataset(
        prepared.val_ids, config.sequence_length, batch_size, shuffle=False, name="validation"
    )
    return train, val


# === Model ===


def build(config, vocabulary_size, stateful=False):
    return language_model.build_language_model(
        vocabulary_size,
        embedding_dim=config.embedding_dim,
        cell=config.cell,
        units=config.units,
        num_layers=config.num_layers,
        dropout=config.dropout,
        output_dropout=config.output_dropout,
        stateful=stateful,
        batch_size=config.batch_size if stateful else None,
        sequence_length=config.sequence_length if stateful else None,
    )


def stateless_copy(config, model, vocabulary_size):
    """The same weights in a model that takes any batch size (for evaluation, generation, export)."""
    copy = build(config, vocabulary_size)
    for target in copy.layers:
        source = model.get_layer(target.name)
        for destination, value in zip(target.trainable_weights, source.trainable_weights):
            destination.assign(value)
    return copy


def train_and_evaluate(config, prepared, workdir, strategy=None):
    """Trains and scores the language model under `strategy` (one device if None); returns `(summary, model)`."""
    seqkit.set_seed(config.seed)
    strategy = strategy or distribute.get_strategy()
    batch_size = distribute.global_batch_size(config.batch_size, strategy)
    vocabulary = prepared.vocabulary
    with strategy.scope(), seqkit.training.precision(config.precision):
        model = build(config, vocabulary.size, stateful=config.stateful)
        language_model.compile_language_model(model, learning_rate=config.learning_rate, clipnorm=config.clipnorm)
    train, val = datasets(config, prepared, batch_size)
    anneal = bool(config.max_minutes) and config.anneal_to < 1.0
    callbacks = seqkit.training_callbacks(
        workdir, monitor="val_loss", patience=config.patience,
        reduce_lr_patience=0 if anneal else config.reduce_lr_patience,
    )
    budget = None
    if config.max_minutes:
        budget = seqkit.TimeBudget(
            config.max_minutes, anneal_to=config.anneal_to if anneal else None, anneal_over=config.anneal_over
        )
        callbacks.append(budget)
    if config.stateful:
        callbacks.append(seqkit.ResetStates())
    samples = None
    if config.sample_every:
        samples = seqkit.GenerationSamples(
            vocabulary, config.level, prompt=config.sample_prompt, temperatures=sample_temperatures(config),
            max_new_tokens=config.sample_length, every=config.sample_every, seed=config.seed,
        )
        callbacks.append(samples)
    batches = []
    callbacks.append(keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batches.append(1)))
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=config.epochs, callbacks=callbacks, verbose=2, shuffle=False)
    train_seconds = time.time() - start
    logs, epochs_run = seqkit.training.run_history(workdir, history)  # Every epoch, across a resume.
    if config.stateful:
        model = stateless_copy(config, model, vocabulary.size)
        language_model.compile_language_model(model)
    # The restored best weights, measured on windows read from the start of the validation text.
    # The validation windows `fit` used, unless stateful (those were cut into parallel rows).
    val_windows = val if not config.stateful else text_windows.window_dataset(
        prepared.val_ids, config.sequence_length, batch_size, shuffle=False, name="validation"
    )
    val_loss = float(model.evaluate(val_windows, verbose=0, return_dict=True)["loss"])
    report = language_model.loss_report(val_loss, prepared.num_val_tokens, prepared.val_characters)
    texts = [text for text in config.score_texts.split("|") if text.strip()]
    scores = language_model.score(model, vocabulary, texts, level=config.level) if texts else []
    # Includes the per-epoch validation and samples.
    trained_tokens = len(batches) * batch_size * config.sequence_length
    summary = {
        "data": prepared.description,
        "level": config.level,
        "validation": report,
        "val_loss": val_loss,
        "vocabulary_size": vocabulary.size,
        "epochs_run": epochs_run,
        "stopped_by_time_budget": bool(budget and budget.stopped),
        "train_seconds": round(train_seconds, 1),
        "train_tokens_per_second": round(trained_tokens / train_seconds, 1),
        "scores": [{"text": text, **result} for text, result in zip(texts, scores)],
        "samples": [
            {"epoch": epoch, "temperature": temperature, "text": text}
            for (epoch, temperature), text in (samples.samples.items() if samples else [])
        ],
        "history": logs,
        "config": dataclasses.asdict(config),
    }
    print(
        f"validation: {report['nats_per_token']:.4f} nats/{config.level} token, "
        f"{report['bits_per_token']:.4f} bits/token, perplexity {report['perplexity']:.2f}"
        + (
            f"; {report['nats_per_character']:.4f} nats/char ({report['bits_per_character']:.4f} bits/char)"
            if "nats_per_character" in report
            else ""
        )
    )
    for text, result in zip(texts, scores):
        unknown = f" (out of vocabulary, scored as <unk>: {result['unknown']})" if result["unknown"] else ""
        print(f"score {text!r}: log-prob {result['log_prob']:.3f} nats, perplexity {result['perplexity']:.1f}{unknown}")
    return summary, model


def run(config):
    """Runs the configured experiment end to end; returns the final metrics dict."""
    if config.quick:
        config = quick_config(config)
    check_config(config)
    strategy = distribute.get_strategy(config.distribute)
    workdir, export_dir = distribute.worker_paths(seqkit.training.resolve_workdir(config.workdir), config.export_dir)
    seqkit.training.record_config(workdir, config)
    workdir = Path(workdir)
    print(f"workdir: {workdir}")
    prepared = prepare(config)
    summary, model = train_and_evaluate(config, prepared, workdir, strategy=strategy)
    summary["workdir"] = str(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    plot_learning_curves(summary["history"], workdir / "learning_curve.png")
    prepared.vocabulary.save(workdir / "vocabulary.json")
    metrics_json = json.dumps(summary, indent=2)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", metrics_json)
    print(f"outputs: {workdir}/{{metrics.json, vocabulary.json, learning_curve.png, best.keras}}")
    if config.export:
        path = seqkit.export_language_model(
            model,
            prepared.vocabulary,
            level=config.level,
            strategy=config.strategy,
            temperature=config.temperature,
            seed=config.seed,
            top_k=config.top_k,
            top_p=config.top_p,
            max_new_tokens=config.sample_length,
            export_root=export_dir,
            name=config.name,
            extra_files={"metrics.json": metrics_json, "config.json": config_lib.config_to_json(config)},
            jit_compile=config.export_jit_compile,
        )
        summary["export_path"] = str(path)
        print(f"exported: {path}")
    return summary


def main(argv=None):
    return config_lib.run_main(Config(), run, sys.argv[1:] if argv is None else argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
