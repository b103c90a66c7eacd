"""Named-entity recognition with a BiLSTM-CRF tagger (many-to-many, Tx = Ty).

Reads CoNLL-2003 English (eng.train / eng.testa as dev / eng.testb as test),
CoNLL-2002 Spanish, or your own CoNLL column files; builds word and character
vocabularies on the training sentences; trains word embeddings + a character
CNN (or BiLSTM) + a casing feature -> a bidirectional LSTM -> a CRF with BIO
transition constraints, early-stopping on dev entity F1; reports entity-level
precision/recall/F1 per type (seqeval, conlleval-compatible) and token accuracy
on the test set; and exports `saved_models/<name>/<version>/`, which tags raw
sentences and returns tokens, tags and entity spans.

Usage:

    python recipes/ner.py --quick                          # ~2 min smoke run on CoNLL-2003
    python recipes/ner.py --dataset=conll2003              # the benchmark run
    python recipes/ner.py --dataset=conll2002-es
    python recipes/ner.py --train=train.conll --dev=dev.conll --test=test.conll \\
        [--token-column=0] [--tag-column=-1] [--scheme=bio|iob1|bioes] [--encoding=latin-1]
    python recipes/ner.py --output=softmax                 # ablation: no CRF
    python recipes/ner.py --char-encoder=none              # ablation: no character features
    python recipes/ner.py --word-vectors=glove.6B.100d.txt # pretrained word vectors
    python recipes/ner.py --bilm                           # ELMo-style features from a BiLM pretrained on train+dev text
    python recipes/ner.py --document-context=40            # a document's neighbouring sentences, read together
    python recipes/ner.py --bilm --refit                   # the final tagger also learns from dev (epochs found on dev)

Every config field below is a `--key=value` option; unknown keys and values of
the wrong type are errors.

Results (CoNLL-2003 English test F1, mean ± std over `--seed=0,1,2`, no
pretrained vectors, 2 CPU cores, ~12 min a run; `python benchmarks/ner.py
conll2003`, per-seed figures in `benchmarks/README.md`): `python
recipes/ner.py` 86.48 ± 0.05 (dev 91.52); the sklearn-crfsuite baseline
81.10. Ablations, run with the earlier schedule (`--epochs=30 --patience=5
--reduce-lr-patience=0`, 85.67 ± 0.84 with the CRF and characters):
`--output=softmax` 83.97 ± 0.39; `--char-encoder=none` 84.93 ± 0.35.
`--document-context=40` 86.60 ± 0.15 (`python recipes/ner.py
--dataset=conll2003 --document-context=40 --seed=S`), the same as sentence by
sentence in the `--bilm` protocol's from-scratch runs (86.60 ± 0.27); with
`--bilm` its figures are in benchmarks/README.md. `--refit` (then a fresh
tagger on train+dev for the epochs and rates found on dev): 87.60 ± 0.21 from
scratch, 87.80 ± 0.20 with `--bilm` (`python benchmarks/ner.py bilm_refit`).
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

import seqkit
from seqkit import config as config_lib
from seqkit import distribute
from seqkit.data import conll, documents, tag_schemes
from seqkit.plots import plot_learning_curves

DATASETS = {
    "conll2003": ("iob1", {"train": "eng.train", "dev": "eng.testa", "test": "eng.testb"}),
    "conll2002-es": ("bio", {"train": "esp.train", "dev": "esp.testa", "test": "esp.testb"}),
}


@dataclasses.dataclass
class Config:
    # --- Data ---
    dataset: str = "conll2003"  # "conll2003" or "conll2002-es"; ignored when --train is given.
    data_dir: str | None = None  # Dataset folder; default: $SEQKIT_DATA_DIR, the cache, or a download.
    train: str | None = None  # Your own training file (CoNLL columns, blank line between sentences).
    dev: str | None = None  # Your own dev file (for early stopping); default: 10% of --train.
    test: str | None = None  # Your own test file (required with --train).
    token_column: int = 0  # Column of the tokens in your files.
    tag_column: int = -1  # Column of the tags in your files.
    scheme: str = "bio"  # Tag scheme of your files: "bio", "iob1" or "bioes".
    encoding: str = "utf-8"  # Text encoding of your files.
    # --- Features ---
    tag_scheme: str = "bioes"  # Scheme the model predicts: "bio" or "bioes" (scored as BIO either way).
    lowercase: bool = True  # Lowercase words for the word embedding (casing is a feature of its own).
    normalize_digits: bool = True  # Map digits to 0 for the word embedding.
    min_word_freq: int = 1  # Keep training words seen at least this often.
    word_vectors: str | None = None  # GloVe/word2vec text file to start the word embeddings from.
    word_embedding_dim: int = 100  # Word embedding width (must match --word-vectors).
    char_encoder: str = "cnn"  # "cnn", "lstm" or "none".
    char_embedding_dim: int = 30  # Character embedding width.
    char_hidden_dim: int = 100  # CNN filters, or LSTM units per direction.
    max_word_length: int = 20  # Characters kept per word.
    casing_dim: int = 8  # Casing-feature embedding width (0: off).
    document_context: int = 0  # Read a document's consecutive sentences as one row of up to this many tokens (0: each sentence alone).
    # --- Model ---
    cell: str = "lstm"  # "lstm", "gru", "simple" or "peephole" (LSTM with peephole connections).
    units: int = 100  # Units per recurrent layer and direction.
    num_layers: int = 1  # Stacked recurrent layers.
    bidirectional: bool = True  # Read the sentence in both directions.
    dropout: float = 0.0  # Dropout on each recurrent layer's inputs.
    recurrent_dropout: float = 0.0  # Variational dropout on the recurrent state.
    embedding_dropout: float = 0.5  # Dropout on the token features.
    word_dropout: float = 0.2  # Replace training words by <unk> with this probability (makes the model use characters).
    output_dropout: float = 0.5  # Dropout before the emission layer.
    output: str = "crf"  # "crf" or "softmax".
    constrain_transitions: bool = True  # CRF only: forbid transitions that break the tag scheme.
    # --- Contextual features (ELMo), pretrained without labels ---
    bilm: bool = False  # Pretrain a bidirectional LM on the train and dev sentences (never test) and mix in its layers.
    bilm_units: int = 128  # BiLM units per direction and layer (and its token representation's width).
    bilm_layers: int = 2  # BiLM recurrent layers per direction.
    bilm_epochs: int = 5  # Maximum BiLM epochs (early-stopped on a 5% share of its sentences).
    bilm_chars: bool = False  # Give the BiLM the tagger's character ids too (a char-aware input).
    bilm_trainable: bool = False  # Fine-tune the BiLM with the tagger (default: frozen; only the mix is trained).
    bilm_at_output: bool = False  # Also join the BiLM's features to the tagger's BiLSTM output (ELMo's input+output).
    bilm_learning_rate_multiplier: float = 1.0  # With --bilm-trainable: the BiLM's rate as a multiple of --learning-rate.
    bilm_text: str | None = None  # More unlabeled text for the BiLM: one whitespace-tokenized sentence per line.
    bilm_sampled: int = 0  # Train the BiLM with a sampled softmax of this many words per batch (0: the full softmax).
    # --- Training ---
    batch_size: int = 32  # Sentences per batch.
    epochs: int = 50  # Maximum passes over the training data.
    learning_rate: float = 0.002  # Adam learning rate.
    clipnorm: float = 5.0  # Clip each weight's gradient to this norm (0: off).
    patience: int = 8  # Early-stopping patience in epochs, on dev entity F1.
    reduce_lr_patience: int = 3  # Halve the learning rate after this many epochs without dev F1 gain (0: never).
    refit: bool = False  # Then train a fresh tagger on train+dev for the best dev epoch's count and rates; export that one.
    seed: int = 0  # Seeds initialization and shuffling.
    distribute: str = "none"  # "none", "mirrored" (local GPUs) or "multi_worker" (TF_CONFIG); batch is per replica.
    precision: str = "float32"  # "float32", "mixed_float16" (GPUs) or "mixed_bfloat16" (TPUs, recent CPUs).
    # --- Quick mode ---
    quick: bool = False  # A small, fast run on a slice of the data that still exports.
    quick_sentences: int = 3000  # Training sentences kept in quick mode.
    # --- Outputs ---
    workdir: str = "runs/ner"  # Checkpoints, logs, predictions and plots.
    export_dir: str = "saved_models"  # Exports go to <export_dir>/<name>/<version>/.
    name: str = "ner"  # Export name.
    export: bool = True  # Export a SavedModel at the end.


def quick_config(config):
    """Shrinks a config for `--quick`: a slice of the data, a small model, four epochs."""
    return dataclasses.replace(
        config,
        epochs=min(config.epochs, 4),
        units=min(config.units, 64),
        word_embedding_dim=config.word_embedding_dim if config.word_vectors else min(config.word_embedding_dim, 50),
        patience=min(config.patience, 2),
        bilm_units=min(config.bilm_units, 64),
        bilm_epochs=min(config.bilm_epochs, 2),
    )


# === Data ===


@dataclasses.dataclass
class Split:
    sentences: list
    tags: list  # BIO or BIOES, as configured
    lines: list  # line of each sentence's first token
    path: str
    documents: list  # document number of each sentence (a new one after each -DOCSTART-)


def _read(path, scheme, config, target):
    sentences, tags, lines, documents = conll.read_conll(
        path,
        token_column=config.token_column,
        tag_column=config.tag_column,
        encoding=config.encoding,
        scheme=scheme,
        target_scheme=target,
        return_lines=True,
        return_documents=True,
    )
    return Split(sentences, tags, lines, str(path), documents)


def load_data(config):
    """Reads train/dev/test `Split`s; tags in `config.tag_scheme`. Dev may be None (carved from train)."""
    if config.train:
        if not config.test:
            raise seqkit.DataError("--train needs --test (a CoNLL file to evaluate on).")
        for path in filter(None, (config.test, config.dev, config.train)):
            if not Path(path).expanduser().is_file():
                raise seqkit.DataError(f"File not found: {path}")
        read = lambda path: _read(path, config.scheme, config, config.tag_scheme) if path else None  # noqa: E731
        splits = {"train": read(config.train), "dev": read(config.dev), "test": read(config.test)}
        return splits, f"files: train={config.train} dev={config.dev} test={config.test}"
    if config.dataset not in DATASETS:
        raise config_lib.ConfigError(
            f"--dataset must be one of {sorted(DATASETS)} (or give --train). Received: {config.dataset!r}"
        )
    scheme, names = DATASETS[config.dataset]
    paths = seqkit.datasets.files(config.dataset, data_dir=config.data_dir)
    defaults = dataclasses.replace(config, token_column=0, tag_column=-1, encoding="utf-8")
    splits = {split: _read(paths[name], scheme, defaults, config.tag_scheme) for split, name in names.items()}
    return splits, seqkit.datasets.info(config.dataset).title


def _head(split, count):
    if split is None or count >= len(split.sentences):
        return split
    return Split(split.sentences[:count], split.tags[:count], split.lines[:count], split.path, split.documents[:count])


def _carve_dev(train, fraction, seed):
    order = np.random.default_rng(seed).permutation(len(train.sentences))
    size = max(1, int(len(order) * fraction))

    def pick(rows):
        rows = sorted(rows)  # File order, so that --document-context joins only neighbouring sentences.
        columns = ([getattr(train, key)[i] for i in rows] for key in ("sentences", "tags", "lines", "documents"))
        sentences, tags, lines, documents = columns
        return Split(sentences, tags, lines, train.path, documents)

    return pick(order[size:]), pick(order[:size])


def tag_names_for(train_tags, scheme):
    """"O" plus every prefix of the scheme for each entity type seen in training, sorted.

    The tag set comes from the entity types, not from the tags seen: a BIOES
    model trained without one-token locations can still predict `S-LOC`.
    """
    types = {tag[2:] for row in train_tags for tag in row if tag != "O"}
    prefixes = "BI" if scheme == "bio" else "BIES"
    return ["O"] + sorted(f"{prefix}-{kind}" for kind in types for prefix in prefixes)


def tag_ids(split, index, groups=None):
    """Tag ids padded with -1, a row per sentence or per group of `groups` (`--document-context`).

    A tag of an entity type unseen in training is a DataError naming the file and line.
    """
    per_sentence = []
    for row, (tags, line) in enumerate(zip(split.tags, split.lines)):
        for position, tag in enumerate(tags):
            if tag not in index:
                known = sorted({name[2:] for name in index if name != "O"})
                # Named by its type: the tag itself may be in --tag-scheme's form, not the file's.
                raise seqkit.DataError(
                    f"{split.path}, line {line + position}: token {split.sentences[row][position]!r} has entity "
                    f"type {tag[2:]!r}, which never occurs in the training data. Known types: {known}"
                )
        per_sentence.append([index[tag] for tag in tags])
    rows = _joined(per_sentence, groups)
    ids = np.full((len(rows), max(len(row) for row in rows)), -1, "int32")
    for row, values in enumerate(rows):
        ids[row, : len(values)] = values
    return ids


def _joined(per_sentence, groups):
    """`per_sentence` lists joined group by group (`--document-context`), or as they are when `groups` is None."""
    return per_sentence if groups is None else documents.join_groups(per_sentence, groups)


# === Preparation (TensorFlow: tokens to features) ===


@dataclasses.dataclass
class Prepared:
    """Everything training needs, as plain arrays: it runs on any Keras backend."""

    description: str
    tag_names: list
    word_vocabulary_size: int
    char_vocabulary_size: int
    features: dict  # split -> {"words", "chars", "casing"} padded arrays, one row per sequence the model reads
    tag_ids: dict  # split -> (rows, length) ids, -1 at padding
    gold: dict  # split -> BIO tag lists, one per sentence, for scoring
    sentences: dict  # split -> token lists, one per sentence
    featurizer: object = None  # the TagFeaturizer (None when loaded from arrays)
    embedding_matrix: object = None
    groups: dict = None  # split -> sentence indices of each row (--document-context); None: a row per sentence

    def rows(self, name, per_sentence=None):
        """`per_sentence` lists (default: the tokens) of split `name`, joined into the rows the model reads."""
        per_sentence = self.sentences[name] if per_sentence is None else per_sentence
        return _joined(per_sentence, None if self.groups is None else self.groups[name])

    def unrows(self, name, per_row):
        """Per-row lists (such as predicted tags) of split `name`, cut back into sentences."""
        if self.groups is None:
            return per_row
        return documents.split_groups(per_row, self.groups[name], [len(row) for row in self.sentences[name]])


def prepare(config):
    """Reads the data and featurizes it (needs TensorFlow); returns a `Prepared`."""
    seqkit.set_seed(config.seed)
    splits, description = load_data(config)
    train, dev, test = splits["train"], splits["dev"], splits["test"]
    if dev is None:
        train, dev = _carve_dev(train, 0.1, config.seed)
    if config.quick:
        train, dev, test = _head(train, config.quick_sentences), _head(dev, 1000), _head(test, 1000)
        description += f" (quick: {len(train.sentences)}/{len(dev.sentences)}/{len(test.sentences)} sentences)"
    print(f"data: {description}")

    # Tags and vocabularies come from the training data only.
    tag_names = tag_names_for(train.tags, config.tag_scheme)
    index = {tag: i for i, tag in enumerate(tag_names)}
    named = {"train": train, "dev": dev, "test": test}
    groups = None
    if config.document_context:
        groups = {
            name: documents.group_sentences(
                [len(row) for row in split.sentences], split.documents, config.document_context
            )
            for name, split in named.items()
        }
        print(
            "data: document context: "
            + ", ".join(f"{len(named[name].sentences)} {name} sentences in {len(groups[name])} rows" for name in named)
            + f" of up to {config.document_context} tokens"
        )
    group = lambda name: None if groups is None else groups[name]  # noqa: E731
    ids = {name: tag_ids(named[name], index, group(name)) for name in ("test", "dev", "train")}
    featurizer = seqkit.TagFeaturizer.build(
        train.sentences,
        min_word_freq=config.min_word_freq,
        lowercase=config.lowercase,
        normalize_digits=config.normalize_digits,
        max_word_length=config.max_word_length,
    )
    featurizer.word_vocabulary.require_tokens(train.path, config.min_word_freq, option="--min-word-freq")
    start = time.time()
    features = {name: featurizer.encode(_joined(split.sentences, group(name))) for name, split in named.items()}
    print(
        f"data: {len(train.sentences)} train / {len(dev.sentences)} dev / {len(test.sentences)} test sentences; "
        f"{featurizer.word_vocabulary.size} words, {featurizer.char_vocabulary.size} characters, "
        f"{len(tag_names)} tags; featurized in {time.time() - start:.1f}s"
    )
    embedding_matrix = None
    if config.word_vectors:
        embedding_matrix, found = seqkit.data.load_word_vectors(config.word_vectors, featurizer.word_vocabulary, seed=config.seed)
        print(f"word vectors: {found} of {featurizer.word_vocabulary.size} words found in {config.word_vectors}")
    return Prepared(
        description=description,
        tag_names=tag_names,
        word_vocabulary_size=featurizer.word_vocabulary.size,
        char_vocabulary_size=featurizer.char_vocabulary.size,
        features=features,
        tag_ids=ids,
        gold={name: [tag_schemes.convert(row, config.tag_scheme, "bio") for row in split.tags] for name, split in named.items()},
        sentences={name: split.sentences for name, split in named.items()},
        featurizer=featurizer,
        embedding_matrix=embedding_matrix,
        groups=groups,
    )


# === Training and evaluation (any backend) ===


def pretrain_bilm(config, prepared):
    """A BiLM over the tagger's word vocabulary, trained on the train and dev sentences (and `--bilm-text`).

    The test sentences are never read. Returns `(ContextualEmbedding, report)`.
    """
    sentences = prepared.rows("train") + prepared.rows("dev")  # With --document-context, across sentences too.
    if config.bilm_text:
        from seqkit.data.readers import read_lines

        extra = [line.split() for line in read_lines(config.bilm_text, encoding=config.encoding)]
        print(f"bilm: {len(extra)} more sentences from {config.bilm_text}")
        sentences += extra
    features = prepared.featurizer.encode(sentences)
    held_out = np.random.default_rng(config.seed).random(len(sentences)) < 0.05
    model = seqkit.build_bidirectional_language_model(
        prepared.word_vocabulary_size, embedding_dim=config.bilm_units, units=config.bilm_units,
        num_layers=config.bilm_layers, cell="peephole" if config.cell == "peephole" else "lstm", dropout=0.1,
        char_vocabulary_size=prepared.char_vocabulary_size if config.bilm_chars else None,
    )
    seqkit.compile_bidirectional_language_model(model, clipnorm=config.clipnorm)
    chars = features["chars"] if config.bilm_chars else None
    train_words, dev_words = features["words"][~held_out], features["words"][held_out]
    seqkit.models.bilm.initialize_output_bias(model, train_words)  # Start from the unigram model.
    report = seqkit.models.bilm.train_bidirectional_language_model(
        model, train_words, dev_words, epochs=config.bilm_epochs,
        batch_size=config.batch_size, seed=config.seed, num_sampled=config.bilm_sampled or None,
        train_chars=None if chars is None else chars[~held_out], dev_chars=None if chars is None else chars[held_out],
    )
    report = {"sentences": len(sentences), **report}
    print(f"bilm: {report}")
    return seqkit.ContextualEmbedding(model, trainable_bilm=config.bilm_trainable, dropout=0.1), report


def build_model(config, prepared, contextual_embedding=None):
    """The configured BiLSTM-CRF tagger for `prepared`, compiled (under the caller's strategy scope and precision).

    `contextual_embedding` (from `pretrain_bilm`) adds a BiLM's mixed layers to the token features.
    """
    from seqkit.data.casing import CASING_NAMES

    word_embedding_dim = config.word_embedding_dim
    if prepared.embedding_matrix is not None:
        word_embedding_dim = int(prepared.embedding_matrix.shape[1])
    model = seqkit.build_tagger(
        prepared.word_vocabulary_size,
        prepared.tag_names,
        char_vocabulary_size=prepared.char_vocabulary_size,
        casing_size=len(CASING_NAMES),
        word_embedding_dim=word_embedding_dim,
        embedding_matrix=prepared.embedding_matrix,
        char_encoder=None if config.char_encoder == "none" else config.char_encoder,
        char_embedding_dim=config.char_embedding_dim,
        char_hidden_dim=config.char_hidden_dim,
        casing_dim=config.casing_dim,
        embedding_dropout=config.embedding_dropout,
        word_dropout=config.word_dropout,
        cell=config.cell,
        units=config.units,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        output_dropout=config.output_dropout,
        output=config.output,
        constrain_transitions=config.constrain_transitions,
        tag_scheme=config.tag_scheme,
        contextual_embedding=contextual_embedding,
        contextual_at_output=config.bilm_at_output,
    )
    multipliers = None
    if contextual_embedding is not None and config.bilm_trainable and config.bilm_learning_rate_multiplier != 1:
        # ULMFiT's discriminative fine-tuning: the pretrained weights move slower than the tagger's.
        multipliers = seqkit.optimizers.layer_learning_rate_multipliers(
            [contextual_embedding.bilm], config.bilm_learning_rate_multiplier
        )
    seqkit.compile_tagger(
        model, learning_rate=config.learning_rate, clipnorm=config.clipnorm, learning_rate_multipliers=multipliers
    )
    return model


def train_and_evaluate(config, prepared, workdir, strategy=None):
    """Builds, trains (early stopping on dev F1) and scores the tagger; returns `(summary, model)`.

    The model is built and trained under `strategy` (`seqkit.distribute`; one device if None).
    """
    from seqkit.data.bucketing import BucketedBatches

    seqkit.set_seed(config.seed)
    strategy = strategy or distribute.get_strategy()
    tag_names = prepared.tag_names
    with strategy.scope(), seqkit.training.precision(config.precision):
        contextual, pretraining = pretrain_bilm(config, prepared) if config.bilm else (None, None)
        # A fine-tuned BiLM changes in training; --refit starts again from the pretrained weights.
        pretrained = contextual.bilm.get_weights() if config.refit and config.bilm_trainable else None
        model = build_model(config, prepared, contextual)

    def inputs(name):
        return {key: prepared.features[name][key] for key in model.input}

    lengths = {name: [len(row) for row in prepared.rows(name)] for name in prepared.sentences}
    train_batches = BucketedBatches(
        inputs("train"), prepared.tag_ids["train"], lengths["train"],
        distribute.global_batch_size(config.batch_size, strategy), seed=config.seed,
    )
    dev_gold = prepared.rows("dev", prepared.gold["dev"])  # Per row, as the callback predicts.
    callbacks = [seqkit.EntityF1(inputs("dev"), dev_gold, tag_names, scheme=config.tag_scheme)]
    callbacks += seqkit.training_callbacks(
        workdir, monitor="val_f1", patience=config.patience, reduce_lr_patience=config.reduce_lr_patience
    )
    start = time.time()
    history = model.fit(train_batches, epochs=config.epochs, callbacks=callbacks, verbose=2)
    train_seconds = time.time() - start
    logs, epochs_run = seqkit.training.run_history(workdir, history)  # Every epoch, across a resume.

    def predict(model, name):  # One tag list per sentence, also with --document-context.
        predicted = seqkit.models.predict_tag_names(model, inputs(name), lengths[name], tag_names, config.tag_scheme)
        return prepared.unrows(name, predicted)

    start = time.time()
    predicted = predict(model, "test")
    decode_seconds = time.time() - start
    scores = seqkit.metrics.entity_scores(prepared.gold["test"], predicted)
    dev_scores = seqkit.metrics.entity_scores(prepared.gold["dev"], predict(model, "dev"))
    refit_report = None
    if config.refit:
        print(f"selection run: test entity F1 {scores['f1']:.4f}, dev F1 {dev_scores['f1']:.4f}")
        if pretrained is not None:
            contextual.bilm.set_weights(pretrained)
        schedule = seqkit.training.refit_schedule(logs, "val_f1", learning_rate=config.learning_rate)
        model, refit_report = refit(config, prepared, contextual, schedule, workdir, strategy)
        refit_report["selection_test"] = scores
        predicted = predict(model, "test")
        scores = seqkit.metrics.entity_scores(prepared.gold["test"], predicted)
    num_train = len(prepared.sentences["train"])
    summary = {
        "data": prepared.description,
        "test": scores,
        "dev": dev_scores,  # With --refit, the selection run's (the refit tagger has trained on dev).
        "f1": scores["f1"],
        "num_train": num_train,
        "num_dev": len(prepared.sentences["dev"]),
        "num_test": len(prepared.sentences["test"]),
        "tag_names": tag_names,
        "word_vocabulary_size": prepared.word_vocabulary_size,
        "epochs_run": epochs_run,
        "train_seconds": round(train_seconds, 1),
        # Includes the per-epoch dev decoding that early stopping needs.
        "train_sentences_per_second": round(num_train * len(history.epoch) / train_seconds, 1),
        "decode_sentences_per_second": round(len(prepared.sentences["test"]) / decode_seconds, 1),
        "history": logs,
        "config": dataclasses.asdict(config),
        "predictions": predicted,
    }
    if refit_report is not None:
        summary["refit"] = refit_report
    if pretraining is not None:
        summary["bilm"] = {**pretraining, "mix_weights": [round(float(w), 4) for w in contextual.mix_weights()]}
    from seqeval.metrics import classification_report

    print(classification_report(prepared.gold["test"], predicted, digits=4))
    print(
        f"test entity F1: {scores['f1']:.4f} (precision {scores['precision']:.4f}, recall {scores['recall']:.4f}); "
        f"token accuracy {scores['token_accuracy']:.4f}; dev F1 {dev_scores['f1']:.4f}"
    )
    print(
        f"speed: {summary['train_sentences_per_second']} train sentences/s, "
        f"{summary['decode_sentences_per_second']} decoded sentences/s"
    )
    return summary, model


def refit(config, prepared, contextual_embedding, schedule, workdir, strategy):
    """A fresh tagger trained on train+dev for `schedule`'s epochs and learning rates (`--refit`).

    `schedule` is `seqkit.training.refit_schedule` of the run that early-stopped on
    dev, so the epoch count and decays come from dev and the test set stays unseen.
    The BiLM (if any) is the one already pretrained; its mix starts afresh.
    Saves `<workdir>/refit.keras` and `refit_log.csv`; returns `(model, report)`.
    """
    from seqkit.data.bucketing import BucketedBatches, concatenate_padded

    epochs, rates = schedule
    seqkit.set_seed(config.seed)
    with strategy.scope(), seqkit.training.precision(config.precision):
        contextual = None
        if contextual_embedding is not None:
            contextual = seqkit.ContextualEmbedding(
                contextual_embedding.bilm, trainable_bilm=config.bilm_trainable,
                include_token_layer=contextual_embedding.include_token_layer, dropout=contextual_embedding.dropout,
            )
        model = build_model(config, prepared, contextual)
    inputs = {
        key: concatenate_padded([prepared.features["train"][key], prepared.features["dev"][key]]) for key in model.input
    }
    targets = concatenate_padded([prepared.tag_ids["train"], prepared.tag_ids["dev"]], fill=-1)
    lengths = [len(row) for row in prepared.rows("train") + prepared.rows("dev")]
    batches = BucketedBatches(
        inputs, targets, lengths, distribute.global_batch_size(config.batch_size, strategy), seed=config.seed
    )
    print(f"refit: {len(lengths)} train+dev rows, {epochs} epochs, learning rates {sorted(set(rates), reverse=True)}")
    callbacks = [
        keras.callbacks.LearningRateScheduler(lambda epoch: rates[epoch]),
        keras.callbacks.CSVLogger(str(Path(workdir) / "refit_log.csv")),
    ]
    start = time.time()
    model.fit(batches, epochs=epochs, callbacks=callbacks, verbose=2)
    seqkit.utils.save_model_atomic(model, Path(workdir) / "refit.keras")
    report = {"epochs": epochs, "learning_rates": rates, "rows": len(lengths), "seconds": round(time.time() - start, 1)}
    if contextual is not None:
        report["mix_weights"] = [round(float(w), 4) for w in contextual.mix_weights()]
    return model, report


def check_config(config):
    config_lib.check_choices(
        config,
        {"tag_scheme": ("bio", "bioes"), "output": ("crf", "softmax"), "char_encoder": ("cnn", "lstm", "none"),
         "distribute": distribute.STRATEGIES, "precision": seqkit.training.PRECISIONS},
    )
    if config.document_context < 0:
        raise config_lib.ConfigError(
            f"--document-context must be >= 0 (0: each sentence alone). Received: {config.document_context}"
        )
    if config.bilm_chars and config.char_encoder == "none":
        raise config_lib.ConfigError("--bilm-chars reads the tagger's character ids: it needs a --char-encoder.")
    for option in ("bilm_units", "bilm_layers", "bilm_epochs"):
        if getattr(config, option) < 1:
            raise config_lib.ConfigError(f"--{option.replace('_', '-')} must be >= 1. Received: {getattr(config, option)}")
    if config.bilm_sampled < 0:
        raise config_lib.ConfigError(f"--bilm-sampled must be >= 0 (0: the full softmax). Received: {config.bilm_sampled}")
    if config.bilm_at_output and not config.bilm:
        raise config_lib.ConfigError("--bilm-at-output joins the BiLM's features to the tagger's output: it needs --bilm.")
    if config.bilm_learning_rate_multiplier != 1 and not (config.bilm and config.bilm_trainable):
        raise config_lib.ConfigError(
            "--bilm-learning-rate-multiplier sets the rate of a fine-tuned BiLM: it needs --bilm and --bilm-trainable. "
            f"Received: --bilm-learning-rate-multiplier={config.bilm_learning_rate_multiplier}"
        )
    if config.bilm_learning_rate_multiplier < 0:
        raise config_lib.ConfigError(
            f"--bilm-learning-rate-multiplier must be >= 0. Received: {config.bilm_learning_rate_multiplier}"
        )


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
    predicted = summary.pop("predictions")

    workdir.mkdir(parents=True, exist_ok=True)
    conll.write_conll(workdir / "test_predictions.conll", prepared.sentences["test"], prepared.gold["test"], predicted)
    plot_learning_curves(summary["history"], workdir / "learning_curve.png")
    prepared.featurizer.save(workdir / "featurizer.json")
    metrics_json = json.dumps(summary, indent=2)
    seqkit.utils.atomic_write_text(workdir / "metrics.json", metrics_json)
    models = "best.keras, refit.keras" if config.refit else "best.keras"
    print(f"outputs: {workdir}/{{metrics.json, test_predictions.conll, learning_curve.png, {models}}}")
    if config.export:
        path = seqkit.export_tagger(
            model,
            prepared.featurizer,
            prepared.tag_names,
            export_root=export_dir,
            name=config.name,
            extra_files={"metrics.json": metrics_json, "config.json": config_lib.config_to_json(config)},
        )
        summary["export_path"] = str(path)
        print(f"exported: {path}")
    return summary


def main(argv=None):
    return config_lib.run_main(Config(), run, sys.argv[1:] if argv is None else argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
