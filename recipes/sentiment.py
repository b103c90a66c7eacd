"""Sentiment classification with a recurrent classifier (many-to-one).

Raw text in, a SavedModel that serves raw strings out. The recipe reads MR
(10-fold cross-validation or one seeded split), IMDB (its 25k/25k split), or
your own CSV/TSV files; builds a word vocabulary on the training text; trains a
bidirectional LSTM with max pooling beside a 64-wide mean of hashed uni+bigram
embeddings (a wide-and-deep classifier; `--ngram-dim=0` for the RNN alone;
`--naive-bayes` adds NBSVM's log-count-ratio prior as a trained logit;
`--naive-bayes-svm` starts it at NBSVM's own weights; `--stack-nbsvm` fits
NBSVM on the training split after training and stacks it with the network by a
logistic regression on the dev split, and `--stack-chars` adds NBSVM over
character 1-6-grams to that stack), bucketing batches by length; evaluates
on held-out data; and exports `saved_models/<name>/<version>/` with
`metrics.json`.

Usage:

    python recipes/sentiment.py --quick                        # ~1 min smoke run on MR
    python recipes/sentiment.py --dataset=mr --cv-folds=10     # the MR benchmark protocol
    python recipes/sentiment.py --dataset=mr --cv-folds=10 --naive-bayes --ngram-dim=0 \
        --stack-nbsvm --stack-chars --stack-ngram-order=3      # MR's benchmarked config
    python recipes/sentiment.py --dataset=imdb                 # IMDB train/test
    python recipes/sentiment.py --train=my.csv --test=my_test.csv \\
        --text-column=review --label-column=stars [--dev=my_dev.csv] [--encoding=latin-1]
    python recipes/sentiment.py --dataset=mr --tune-trials=8   # KerasTuner picks cell/units/layers/dropout on dev
    python recipes/sentiment.py --dataset=imdb --pretrain-lm   # start from a BiLM pretrained on the training text
        [--pretrain-learning-rate-multiplier=0.25]             # and fine-tune its layers at a quarter of the rate

Every config field below is a `--key=value` option; unknown keys and values of
the wrong type are errors. Data is found through `--data-dir`,
`$SEQKIT_DATA_DIR`, the user cache, or downloaded (see `seqkit.datasets`).

Expected results and runtimes are in `benchmarks/README.md`, with the commands
that produced them.
"""

import dataclasses
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit import distribute
from seqkit.data import readers, splits
from seqkit.plots import plot_confusion_matrix, plot_learning_curves


@dataclasses.dataclass
class Config:
    # --- Data ---
    dataset: str = "mr"  # "mr" or "imdb"; ignored when --train is given.
    data_dir: str | None = None  # Dataset folder; default: $SEQKIT_DATA_DIR, the cache, or a download.
    train: str | None = None  # Your own training file (.csv or .tsv).
    dev: str | None = None  # Your own dev file; default: a stratified share of --train.
    test: str | None = None  # Your own test file (required with --train).
    text_column: str = "text"  # Text column of your files.
    label_column: str = "label"  # Label column of your files.
    encoding: str = "utf-8"  # Text encoding of your files.
    cv_folds: int = 0  # k-fold cross-validation on MR or --train (0: a single split).
    test_fraction: float = 0.1  # Held-out share when a dataset has no test split (MR).
    dev_fraction: float = 0.1  # Share of training data held out for early stopping.
    # --- Preprocessing ---
    tokenizer: str = "word"  # "word" or "char".
    lowercase: bool = True  # Lowercase before tokenizing.
    min_freq: int = 1  # Keep tokens seen at least this often in training.
    max_vocabulary: int = 30000  # Vocabulary size, special tokens included.
    max_length: int | None = None  # Truncate texts to this many tokens (None: keep all).
    # --- Model ---
    embedding_dim: int = 128  # Token embedding width.
    cell: str = "lstm"  # "lstm", "gru", "simple" or "peephole" (LSTM with peephole connections).
    units: int = 64  # Units per recurrent layer and direction.
    num_layers: int = 1  # Stacked recurrent layers.
    bidirectional: bool = True  # Read the text in both directions.
    dropout: float = 0.0  # Dropout on each recurrent layer's inputs.
    recurrent_dropout: float = 0.0  # Dropout on the recurrent state (leaves the cuDNN path).
    embedding_dropout: float = 0.5  # Probability of dropping a whole word vector.
    pooling: str = "max"  # "last", "max", "mean", "attention", or e.g. "max+mean".
    head_dropout: float = 0.5  # Dropout before the output layer.
    naive_bayes: bool = False  # Add a linear uni+bigram logit started at Naive Bayes log-count ratios.
    naive_bayes_scale: float = 0.3  # Initial scale of those ratios.
    naive_bayes_svm: bool = False  # Start from NBSVM's weights (an SVM on the NB-scaled n-grams), not the ratios.
    ngram_dim: int = 64  # Width of a mean-of-n-gram-embeddings branch beside the RNN (0: off).
    ngram_buckets: int = 200000  # Hash buckets for the bigrams (and longer) of both n-gram features.
    stack_nbsvm: bool = False  # After training, stack the network with NBSVM (fit on train, weighed on dev).
    stack_buckets: int = 2000000  # Hash buckets for the stacked NBSVM's longer n-grams (one float each).
    stack_c: float = 0.1  # The stacked NBSVM's SVM regularization C (smaller: stronger).
    stack_ngram_order: int = 0  # Longest word n-gram of the stacked NBSVM (0: --ngram-order).
    stack_chars: bool = False  # With --stack-nbsvm, also stack NBSVM over character n-grams (a second input).
    stack_char_order: int = 6  # Longest character n-gram of --stack-chars (spaces included).
    ngram_order: int = 2  # Longest n-gram of both n-gram features (2: words and word pairs).
    # --- LM pretraining (Dai & Le 2015), labels unused ---
    pretrain_lm: bool = False  # Pretrain a bidirectional LM on the training text and start the classifier from it.
    pretrain_epochs: int = 5  # Maximum BiLM epochs (early-stopped on the dev text).
    pretrain_text: str | None = None  # More unlabeled text for the BiLM, one text per line (e.g. IMDB's unsup reviews).
    pretrain_sampled: int = 0  # Train the BiLM with a sampled softmax of this many words per batch (0: the full softmax).
    pretrain_learning_rate_multiplier: float = 1.0  # The pretrained layers' rate as a multiple of --learning-rate.
    pretrain_dropout: float | None = None  # The BiLM's dropout (None: --dropout).
    pretrain_batch_size: int | None = None  # The BiLM's batch size (None: --batch-size).
    # --- Training ---
    batch_size: int = 32  # Examples per batch.
    epochs: int = 10  # Maximum passes over the training data.
    learning_rate: float = 0.001  # Adam learning rate.
    clipnorm: float = 1.0  # Clip each weight's gradient to this norm (0: off).
    patience: int = 2  # Early-stopping patience in epochs, on dev loss.
    seed: int = 0  # Seeds splits, initialization and shuffling.
    distribute: str = "none"  # "none", "mirrored" (local GPUs) or "multi_worker" (TF_CONFIG); batch is per replica.
    precision: str = "float32"  # "float32", "mixed_float16" (GPUs) or "mixed_bfloat16" (TPUs, recent CPUs).
    # --- Hyperparameter search (KerasTuner: pip install "seqkit[tune]") ---
    tune_trials: int = 0  # Configurations of cell, units, layers and dropout tried on the dev set first (0: off).
    tune_epochs: int = 3  # Training epochs per trial (each stops after 1 epoch without dev gain).
    # --- Quick mode ---
    quick: bool = False  # A small, fast run on a slice of the data that still exports.
    quick_examples: int = 3000  # Training examples kept in quick mode.
    # --- Outputs ---
    workdir: str = "runs/sentiment"  # Checkpoints, logs and plots.
    export_dir: str = "saved_models"  # Exports go to <export_dir>/<name>/<version>/.
    name: str = "sentiment"  # Export name.
    export: bool = True  # Export a SavedModel at the end.


def quick_config(config):
    """Shrinks a config for `--quick`: a slice of the data, a small model, five epochs at most."""
    return dataclasses.replace(
        config,
        epochs=min(config.epochs, 5),
        embedding_dim=min(config.embedding_dim, 64),
        units=min(config.units, 32),
        max_length=min(config.max_length or 200, 200),
        max_vocabulary=min(config.max_vocabulary, 10000),
        cv_folds=min(config.cv_folds, 2),
    )


# === Data ===


@dataclasses.dataclass
class Splits:
    train: tuple  # (texts, labels)
    dev: tuple | None  # (texts, labels) or None: carved out of train
    test: tuple | None  # (texts, labels) or None: cross-validation
    description: str


def load_data(config):
    """Reads the configured data into train/dev/test `(texts, labels)` lists."""
    if config.train:
        if not config.test and not config.cv_folds:
            raise seqkit.DataError("--train needs --test (or --cv-folds=K for cross-validation).")

        def read(path):
            if path is None:
                return None
            return readers.read_table(path, config.text_column, config.label_column, encoding=config.encoding)

        train, dev, test = read(config.train), read(config.dev), read(config.test)
        return Splits(train, dev, test, f"files: train={config.train} dev={config.dev} test={config.test}")
    if config.dataset == "mr":
        texts, labels = seqkit.datasets.load_mr(data_dir=config.data_dir)["all"]
        if config.cv_folds:
            return Splits((texts, labels), None, None, "MR (10,662 sentences), cross-validation")
        train_x, test_x, train_y, test_y = splits.holdout_split(
            texts, labels, test_size=config.test_fraction, seed=config.seed, stratify=labels
        )
        return Splits((train_x, train_y), None, (test_x, test_y), f"MR, seeded {1 - config.test_fraction:.0%}/{config.test_fraction:.0%} split")
    if config.dataset == "imdb":
        data = seqkit.datasets.load_imdb(data_dir=config.data_dir)
        return Splits(data["train"], None, data["test"], "IMDB train/test (25,000 / 25,000)")
    raise config_lib.ConfigError(f"--dataset must be 'mr' or 'imdb' (or give --train). Received: {config.dataset!r}")


def _slice(pair, count, seed):
    """A stratified, seeded subset of `count` examples (quick mode)."""
    texts, labels = pair
    if count >= len(texts):
        return pair
    keep, _ = splits.holdout_split(
        np.arange(len(texts)), test_size=len(texts) - count, seed=seed, stratify=labels
    )
    return splits.take(texts, keep), splits.take(labels, keep)


# === Training and evaluation ===


def train_and_evaluate(config, workdir, train, dev, test, export=True, strategy=None):
    """Trains on `train`, early-stops on `dev`, evaluates on `test`; returns a metrics dict.

    `train`, `dev` and `test` are `(texts, labels)` pairs; `dev` may be None,
    in which case a stratified `dev_fraction` of `train` is held out. The model
    is built and trained under `strategy` (`seqkit.distribute`; one device if None).
    """
    workdir = Path(workdir)
    strategy = strategy or distribute.get_strategy()
    seqkit.set_seed(config.seed)
    # Labels come from the training data only; an unseen dev/test label is an error, found up front.
    labels = seqkit.LabelEncoder.fit(train[1])
    if labels.num_classes < 2:
        raise seqkit.DataError(
            f"{config.train or 'The training data'}: every example has the label {labels.names[0]!r}; a classifier "
            "needs at least two labels."
        )
    head = "binary" if labels.num_classes == 2 else "multiclass"
    test_y = labels.encode(test[1], source=config.test or "test data")
    if dev is None:
        counts = np.unique(train[1], return_counts=True)[1]
        if len(train[0]) < 4:
            raise seqkit.DataError(f"Too little training data to hold out a dev set: {len(train[0])} examples.")
        # Stratified where scikit-learn can: every class twice, and both parts at least one per class.
        dev_size = math.ceil(config.dev_fraction * len(train[0]))
        stratify = counts.min() >= 2 and min(dev_size, len(train[0]) - dev_size) >= len(counts)
        train_x, dev_x, train_y, dev_y = splits.holdout_split(
            *train, test_size=config.dev_fraction, seed=config.seed, stratify=train[1] if stratify else None
        )
        train, dev = (train_x, train_y), (dev_x, dev_y)
    train_y = labels.encode(train[1], source=config.train or "training data")
    dev_y = labels.encode(dev[1], source=config.dev or "dev data")

    # The vocabulary comes from the training text only.
    tokenizer = seqkit.get_tokenizer({"type": config.tokenizer, "lowercase": config.lowercase})
    vocabulary = seqkit.Vocabulary.build(
        tokenizer.iter_tokenize(train[0]), min_freq=config.min_freq, max_size=config.max_vocabulary
    )
    vocabulary.require_tokens(config.train or f"{config.dataset.upper()} training data", config.min_freq,
                              unit="word" if config.tokenizer == "word" else "character")
    preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=config.max_length)
    print(
        f"data: {len(train[0])} train / {len(dev[0])} dev / {len(test[0])} test; "
        f"vocabulary {vocabulary.size}; labels {labels.names}"
    )

    def dataset(texts, targets, shuffle=False):
        return seqkit.make_dataset(
            texts, targets, preprocessor=preprocessor, shuffle=shuffle, seed=config.seed,
            batch_size=distribute.global_batch_size(config.batch_size, strategy),
        )

    train_ds = dataset(train[0], train_y, shuffle=True)
    dev_ds, test_ds = dataset(dev[0], dev_y), dataset(test[0], test_y)

    ngram_orders = tuple(range(1, config.ngram_order + 1))

    def ngram_weights(fit, num_buckets, layer=preprocessor, orders=ngram_orders, **options):
        # Binary or multiclass: the recipe's heads.
        batches = (layer(train[0][begin : begin + 1024]).numpy() for begin in range(0, len(train[0]), 1024))
        return fit(batches, train_y, labels.num_classes, layer.vocabulary.size, orders=orders, num_buckets=num_buckets,
                   **options)

    language_model, pretraining = None, None
    if config.pretrain_lm:
        language_model, pretraining = pretrain_language_model(config, preprocessor, train[0], dev[0])

    prior = None
    if config.naive_bayes:
        fit = seqkit.nbsvm_weights if config.naive_bayes_svm else seqkit.naive_bayes_weights
        prior = ngram_weights(fit, config.ngram_buckets)

    def build(config):
        network = seqkit.build_classifier(
            vocabulary.size,
            num_classes=labels.num_classes,
            head=head,
            embedding_dim=config.embedding_dim,
            embedding_dropout=config.embedding_dropout,
            cell=config.cell,
            units=config.units,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            pooling=config.pooling,
            head_dropout=config.head_dropout,
            ngram_dim=config.ngram_dim,
            ngram_orders=ngram_orders,
            ngram_buckets=config.ngram_buckets,
            naive_bayes_weights=prior,
            naive_bayes_scale=config.naive_bayes_scale,
        )
        multipliers = None
        if language_model is not None:
            pretrained = seqkit.initialize_from_language_model(network, language_model)
            if config.pretrain_learning_rate_multiplier != 1:
                # ULMFiT's discriminative fine-tuning: the pretrained layers move slower than the new ones.
                multipliers = seqkit.optimizers.layer_learning_rate_multipliers(
                    [network.get_layer(name) for name in pretrained], config.pretrain_learning_rate_multiplier
                )
        return seqkit.compile_classifier(network, head=head, learning_rate=config.learning_rate,
                                         clipnorm=config.clipnorm, learning_rate_multipliers=multipliers)

    search = None
    if config.tune_trials:  # Pick the stack's configuration on the dev set, then train it as configured.
        best, trials = seqkit.tuning.search_stack(
            lambda values: build(dataclasses.replace(config, **values)), train_ds, dev_ds, workdir / "search",
            max_trials=config.tune_trials, epochs=config.tune_epochs, seed=config.seed,
        )
        print(f"search: best of {len(trials)} trials on the dev set: {best} (val_loss {trials[0]['score']})")
        config = dataclasses.replace(config, **best)
        search = {"best": best, "trials": trials}
    with strategy.scope(), seqkit.training.precision(config.precision):
        model = build(config)

    start = time.time()
    history = model.fit(
        train_ds,
        validation_data=dev_ds,
        epochs=config.epochs,
        callbacks=seqkit.training_callbacks(workdir, monitor="val_loss", patience=config.patience),
        shuffle=False,  # The dataset shuffles itself, before bucketing.
        verbose=2,
    )
    train_seconds = time.time() - start
    logs, epochs_run = seqkit.training.run_history(workdir, history)  # Every epoch, across a resume.
    stacking, network, inputs = None, model, {"token_ids": preprocessor}
    if config.stack_nbsvm:
        stack_orders = tuple(range(1, (config.stack_ngram_order or config.ngram_order) + 1))
        nbsvm = functools.partial(ngram_weights, seqkit.nbsvm_weights, config.stack_buckets, C=config.stack_c)
        char_options = {}
        if config.stack_chars:  # Truncated near `max_length` words' worth of characters.
            char_tokenizer = seqkit.get_tokenizer({"type": "char", "lowercase": config.lowercase})
            inputs["char_ids"] = seqkit.TextPreprocessor(
                char_tokenizer,
                seqkit.Vocabulary.build(char_tokenizer.iter_tokenize(train[0]), max_size=1000),
                max_length=None if config.max_length is None else 8 * config.max_length,
            )
            char_orders = tuple(range(1, config.stack_char_order + 1))
            char_options = dict(
                char_ngram_weights=nbsvm(layer=inputs["char_ids"], orders=char_orders),
                char_orders=char_orders,
                char_num_buckets=config.stack_buckets,
            )
        model, stacking = seqkit.stack_ngram_logit(
            model, nbsvm(orders=stack_orders), ordered_batches(inputs, dev[0], dev_y), orders=stack_orders,
            num_buckets=config.stack_buckets, **char_options,
        )
        print(f"stacked with NBSVM on dev: {stacking}")
    num_tokens = count_tokens(preprocessor, train[0])

    if stacking is None:
        probabilities = seqkit.class_probabilities(model.predict(test_ds.map(lambda x, y: x), verbose=0), head)
        y_true = np.concatenate([y.numpy() for _, y in test_ds])
    else:  # What stacking added, on the same test data, in text order.
        probabilities, alone, y_true = [], [], []
        for batch_inputs, targets in ordered_batches(inputs, test[0], test_y):
            probabilities.append(seqkit.class_probabilities(model.predict_on_batch(batch_inputs), head))
            token_ids = batch_inputs["token_ids"] if isinstance(batch_inputs, dict) else batch_inputs
            alone.append(seqkit.class_probabilities(network.predict_on_batch(token_ids), head).argmax(axis=-1))
            y_true.append(targets)
        probabilities, y_true = np.concatenate(probabilities), np.concatenate(y_true)
        stacking["test_accuracy_network_alone"] = float((y_true == np.concatenate(alone)).mean())
    y_pred = probabilities.argmax(axis=-1)
    metrics = {
        "accuracy": float((y_true == y_pred).mean()),
        "num_train": len(train[0]),
        "num_dev": len(dev[0]),
        "num_test": len(test[0]),
        "vocabulary_size": vocabulary.size,
        "label_names": labels.names,
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 1),
        "train_tokens_per_second": round(num_tokens * len(history.epoch) / train_seconds),  # This process's epochs.
        "history": logs,
    }
    if search is not None:
        metrics["search"] = search
    if pretraining is not None:
        metrics["pretraining"] = pretraining
    if stacking is not None:
        metrics["stacking"] = stacking
        metrics["accuracy_network_alone"] = stacking["test_accuracy_network_alone"]
    export_inputs = inputs if len(inputs) > 1 else preprocessor
    return metrics, (model, export_inputs, labels, head), (y_true, y_pred)


def pretrain_language_model(config, preprocessor, texts, dev_texts):
    """A BiLM over the classifier's vocabulary, trained on `texts` (and `--pretrain-text`), early-stopped on `dev_texts`.

    Its shape follows the classifier's (cell, units, embedding width; one layer
    for a bidirectional classifier, whose upper layers read both directions), so
    that `initialize_from_language_model` can copy it in.
    """
    texts = list(texts)
    if config.pretrain_text:
        extra = readers.read_lines(config.pretrain_text, encoding=config.encoding)
        print(f"pretraining: {len(extra)} more texts from {config.pretrain_text}")
        texts += extra

    def ids(batch):
        return [row for begin in range(0, len(batch), 4096)
                for row in preprocessor.ragged_ids(batch[begin : begin + 4096]).to_list()]

    model = seqkit.build_bidirectional_language_model(
        preprocessor.vocabulary.size, embedding_dim=config.embedding_dim, cell=config.cell, units=config.units,
        num_layers=1 if config.bidirectional else config.num_layers,
        dropout=config.dropout if config.pretrain_dropout is None else config.pretrain_dropout,
    )
    seqkit.compile_bidirectional_language_model(model, clipnorm=config.clipnorm)
    train_ids = ids(texts)
    seqkit.models.bilm.initialize_output_bias(model, train_ids)  # Start from the unigram model.
    report = seqkit.models.bilm.train_bidirectional_language_model(
        model, train_ids, ids(list(dev_texts)), epochs=config.pretrain_epochs,
        batch_size=config.pretrain_batch_size or config.batch_size,
        seed=config.seed, num_sampled=config.pretrain_sampled or None,
    )
    print(f"pretraining: {report}")
    return model, {"texts": len(texts), **report}


def ordered_batches(inputs, texts, targets, batch_size=256):
    """Yields `(model inputs, targets)` numpy batches in text order; `inputs` maps input names to preprocessors."""
    targets = np.asarray(targets)
    for begin in range(0, len(texts), batch_size):
        chunk = texts[begin : begin + batch_size]
        arrays = {key: layer(chunk).numpy() for key, layer in inputs.items()}
        yield (arrays if len(arrays) > 1 else arrays["token_ids"]), targets[begin : begin + batch_size]


def count_tokens(preprocessor, texts, batch_size=4096):
    """Token ids the model reads for `texts` (after truncation), for throughput figures."""
    return sum(
        int(preprocessor.ragged_ids(texts[begin : begin + batch_size]).row_lengths().numpy().sum())
        for begin in range(0, len(texts), batch_size)
    )


def check_config(config):
    config_lib.check_choices(config, {"distribute": distribute.STRATEGIES, "precision": seqkit.training.PRECISIONS})
    if config.stack_nbsvm and config.distribute != "none":
        raise config_lib.ConfigError("--stack-nbsvm composes its model on one device: use it with --distribute=none.")
    if config.ngram_order < 1:
        raise config_lib.ConfigError(f"--ngram-order must be >= 1. Received: {config.ngram_order}")
    if config.stack_ngram_order < 0:
        raise config_lib.ConfigError(f"--stack-ngram-order must be >= 0. Received: {config.stack_ngram_order}")
    if config.stack_chars and not config.stack_nbsvm:
        raise config_lib.ConfigError("--stack-chars needs --stack-nbsvm.")
    if not 1 <= config.stack_char_order <= seqkit.layers.ngram_embedding.MAX_ORDER:
        raise config_lib.ConfigError(
            f"--stack-char-order must be from 1 to {seqkit.layers.ngram_embedding.MAX_ORDER}. "
            f"Received: {config.stack_char_order}"
        )
    if config.tune_trials < 0 or config.tune_epochs < 1:
        raise config_lib.ConfigError(
            f"--tune-trials must be >= 0 and --tune-epochs >= 1. Received: {config.tune_trials}, {config.tune_epochs}"
        )
    if config.tune_trials and config.distribute != "none":
        raise config_lib.ConfigError("--tune-trials searches on one device: use it with --distribute=none.")
    if config.pretrain_lm and config.bidirectional and config.num_layers != 1:
        raise config_lib.ConfigError(
            "--pretrain-lm starts a bidirectional classifier from a BiLM, whose layers read one direction each: "
            f"use --num-layers=1 (or --no-bidirectional for a deeper Dai & Le classifier). Received: {config.num_layers}"
        )
    if config.pretrain_lm and config.tune_trials:
        raise config_lib.ConfigError("--pretrain-lm fixes the stack's shape: use it without --tune-trials.")
    if config.pretrain_epochs < 1:
        raise config_lib.ConfigError(f"--pretrain-epochs must be >= 1. Received: {config.pretrain_epochs}")
    if config.pretrain_learning_rate_multiplier != 1 and not config.pretrain_lm:
        raise config_lib.ConfigError(
            "--pretrain-learning-rate-multiplier sets the rate of the layers a pretrained LM started: it needs "
            f"--pretrain-lm. Received: --pretrain-learning-rate-multiplier={config.pretrain_learning_rate_multiplier}"
        )
    if config.pretrain_learning_rate_multiplier < 0:
        raise config_lib.ConfigError(
            f"--pretrain-learning-rate-multiplier must be >= 0. Received: {config.pretrain_learning_rate_multiplier}"
        )
    for option in ("pretrain_dropout", "pretrain_batch_size"):
        if getattr(config, option) is not None and not config.pretrain_lm:
            raise config_lib.ConfigError(
                f"--{option.replace('_', '-')} sets how the BiLM trains: it needs --pretrain-lm. "
                f"Received: --{option.replace('_', '-')}={getattr(config, option)}"
            )
    if config.pretrain_dropout is not None and not 0 <= config.pretrain_dropout < 1:
        raise config_lib.ConfigError(f"--pretrain-dropout must be in [0, 1). Received: {config.pretrain_dropout}")
    if config.pretrain_batch_size is not None and config.pretrain_batch_size < 1:
        raise config_lib.ConfigError(f"--pretrain-batch-size must be >= 1. Received: {config.pretrain_batch_size}")
    if config.pretrain_sampled < 0:
        raise config_lib.ConfigError(f"--pretrain-sampled must be >= 0 (0: the full softmax). Received: {config.pretrain_sampled}")
    if config.stack_c <= 0:
        raise config_lib.ConfigError(f"--stack-c must be > 0. Received: {config.stack_c}")
    for option in ("ngram_buckets", "stack_buckets"):
        if getattr(config, option) < 1:
            raise config_lib.ConfigError(f"--{option.replace('_', '-')} must be >= 1. Received: {getattr(config, option)}")


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
    data = load_data(config)
    print(f"data: {data.description}")
    if config.quick:
        data = Splits(
            _slice(data.train, config.quick_examples, config.seed),
            _slice(data.dev, config.quick_examples // 4, config.seed) if data.dev else None,
            _slice(data.test, config.quick_examples // 2, config.seed) if data.test else None,
            data.description + f" (quick: a {config.quick_examples}-example slice)",
        )

    if data.test is None:  # Cross-validation.
        texts, label_names = data.train
        names, counts = np.unique(label_names, return_counts=True)
        if counts.min() < config.cv_folds:  # Stratified folds need every label in each of them.
            raise seqkit.DataError(
                f"{config.train or data.description}: --cv-folds={config.cv_folds} needs at least "
                f"{config.cv_folds} examples of every label. Received: {counts.min()} of "
                f"{str(names[counts.argmin()])!r}"
            )
        folds = splits.stratified_kfold(label_names, n_splits=config.cv_folds, seed=config.seed)
        fold_metrics, all_true, all_pred = [], [], []
        for fold, (train_index, test_index) in enumerate(folds, start=1):
            print(f"--- fold {fold}/{len(folds)}")
            metrics, trained, (y_true, y_pred) = train_and_evaluate(
                config,
                workdir / f"fold{fold}",
                (splits.take(texts, train_index), splits.take(label_names, train_index)),
                None,
                (splits.take(texts, test_index), splits.take(label_names, test_index)),
                strategy=strategy,
            )
            print(f"fold {fold} accuracy: {metrics['accuracy']:.4f}")
            fold_metrics.append(metrics)
            all_true.append(y_true)
            all_pred.append(y_pred)
        accuracies = [m["accuracy"] for m in fold_metrics]
        summary = {
            "protocol": f"{config.cv_folds}-fold stratified cross-validation",
            "accuracy": float(np.mean(accuracies)),
            "accuracy_std": float(np.std(accuracies)),
            "fold_accuracies": accuracies,
            "folds": fold_metrics,
            "exported_model": f"the fold-{len(folds)} model",
        }
        if config.stack_nbsvm:
            alone = [m["stacking"]["test_accuracy_network_alone"] for m in fold_metrics]
            summary["accuracy_network_alone"] = float(np.mean(alone))
        y_true, y_pred = np.concatenate(all_true), np.concatenate(all_pred)
        history = fold_metrics[-1]["history"]
    else:
        summary, trained, (y_true, y_pred) = train_and_evaluate(
            config, workdir, data.train, data.dev, data.test, strategy=strategy
        )
        summary["protocol"] = "held-out test set"
        history = summary["history"]

    model, preprocessor, labels, head = trained
    from sklearn.metrics import classification_report

    report = classification_report(y_true, y_pred, target_names=labels.names, digits=4, output_dict=True)
    summary.update({"data": data.description, "classification_report": report, "config": dataclasses.asdict(config)})
    print(classification_report(y_true, y_pred, target_names=labels.names, digits=4))
    accuracy_line = f"accuracy: {summary['accuracy']:.4f}"
    if "accuracy_std" in summary:
        accuracy_line += f" ± {summary['accuracy_std']:.4f} over {config.cv_folds} folds"
    print(accuracy_line)

    workdir.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(y_true, y_pred, labels.names, workdir / "confusion_matrix.png")
    plot_learning_curves(history, workdir / "learning_curve.png")
    metrics_json = json.dumps(summary, indent=2)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", metrics_json)
    print(f"plots and metrics: {workdir}/{{confusion_matrix.png, learning_curve.png, metrics.json}}")
    if config.export:
        path = seqkit.export_classifier(
            model,
            preprocessor,
            labels.names,
            head=head,
            export_root=export_dir,
            name=config.name,
            extra_files={"metrics.json": metrics_json, "config.json": config_lib.config_to_json(config)},
        )
        summary["export_path"] = str(path)
        print(f"exported: {path}")
    return summary


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    return config_lib.run_main(Config(), run, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
