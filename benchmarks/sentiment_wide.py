"""IMDB with a wide BiLSTM started from a wide BiLM (Dai & Le's width), trained on a GPU with the JAX backend.

The recipe's IMDB protocol (`benchmarks/sentiment.py imdb_pretrain`: the seeded
90/10 train/dev split, the training split's 30,000-word vocabulary, reviews cut
at 800 words, the BiLM trained on the training reviews with their labels unused,
the network stacked with trigram NBSVM by a logistic regression on dev) with the
network widened from 64 to `--units` per direction. The GPU machine has no
TensorFlow, so the work is split in three:

    python benchmarks/sentiment_wide.py prepare runs/wide_data    # here: the recipe's splits, ids and NBSVM logits
    KERAS_BACKEND=jax python benchmarks/sentiment_wide.py train runs/wide_data OUT --seed=0 --pretrain
    KERAS_BACKEND=jax python benchmarks/sentiment_wide.py train runs/wide_data OUT --seed=0   # from scratch
    python benchmarks/sentiment_wide.py stack runs/wide_data OUT   # stacked test accuracy, per seed and mean

`prepare` checks that its ids are exactly the recipe's (its `TextPreprocessor`'s)
for every seed. `train` runs on any Keras backend (numpy batches, no tf.data)
and writes the network's dev and test logits and a report to OUT; `--examples=N`
trains on a slice, to time steps on a slow machine. `stack` weighs the logits
with NBSVM's as `seqkit.stack_ngram_logit` does (the same regression on the
same two columns) and writes `benchmarks/results/imdb_wide.json`. The figures,
the options they used and the time on this CPU are in benchmarks/README.md
("Wider", in the transfer section).
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAX_LENGTH = 800  # The IMDB protocol's --max-length.
STACK_ORDERS, STACK_BUCKETS, STACK_C = (1, 2, 3), 2_000_000, 0.1  # --stack-ngram-order=3, the recipe's defaults.


# === prepare (TensorFlow: the recipe's own data path) ===


def recipe_data(data_dir):
    """The sentiment recipe's IMDB config and data."""
    sys.path.insert(0, str(HERE))
    from sentiment import load_recipe

    recipe = load_recipe()
    config = recipe.Config(dataset="imdb", max_length=MAX_LENGTH, data_dir=data_dir)
    return config, recipe.load_data(config)


def nbsvm_logits(train_ids, train_y, vocabulary_size, orders, parts):
    """NBSVM fit as the recipe's `--stack-nbsvm` fits it, and its logit (the n-gram weights summed) on each part."""
    import seqkit
    from seqkit.layers.ngram_embedding import NgramEmbedding

    weights = seqkit.nbsvm_weights(
        (train_ids[begin : begin + 1024] for begin in range(0, len(train_ids), 1024)), train_y, 2, vocabulary_size,
        orders=orders, num_buckets=STACK_BUCKETS, C=STACK_C,
    )
    ngrams = NgramEmbedding(vocabulary_size, 1, orders=orders, num_buckets=STACK_BUCKETS, combiner="sum", binary=True,
                            trainable=False)
    ngrams.build((None, None))
    ngrams.embedding.embeddings.assign(weights)
    return [np.concatenate([np.asarray(ngrams(ids[begin : begin + 512])).reshape(-1)
                            for begin in range(0, len(ids), 512)]) for ids in parts]


def prepare(directory, seeds, data_dir=None):
    import seqkit
    from seqkit.data import splits

    config, data = recipe_data(data_dir)
    texts, names = data.train
    test_texts, test_names = data.test
    tokenizer = seqkit.get_tokenizer({"type": config.tokenizer, "lowercase": config.lowercase})
    labels = seqkit.LabelEncoder.fit(names)
    directory.mkdir(parents=True, exist_ok=True)

    per_seed, union = {}, {}
    for seed in seeds:  # The recipe's train_and_evaluate, up to its preprocessor.
        train_index, dev_index = splits.holdout_split(
            np.arange(len(texts)), test_size=config.dev_fraction, seed=seed, stratify=names
        )
        vocabulary = seqkit.Vocabulary.build(
            tokenizer.iter_tokenize(splits.take(texts, train_index)), min_freq=config.min_freq,
            max_size=config.max_vocabulary,
        )
        recipe_split = splits.holdout_split(texts, names, test_size=config.dev_fraction, seed=seed, stratify=names)
        if list(recipe_split[1]) != list(splits.take(texts, dev_index)):
            raise AssertionError(f"seed {seed}: the dev split differs from the recipe's")
        per_seed[seed] = (np.asarray(train_index), np.asarray(dev_index), vocabulary)
        for token in vocabulary.tokens:
            union.setdefault(token, len(union))
    if len(union) >= 2**16:
        raise ValueError(f"The seeds' vocabularies must share fewer than 65,536 words. Received: {len(union)}")
    unknown = union["<unk>"]
    every = list(texts) + list(test_texts)
    rows = [np.array([union.get(token, unknown) for token in row[:MAX_LENGTH]], "uint16")
            for row in tokenizer.iter_tokenize(every)]
    lengths = np.array([len(row) for row in rows])
    np.savez_compressed(
        directory / "ids.npz", ids=np.concatenate(rows), lengths=lengths, num_train=len(texts),
        labels=np.concatenate([labels.encode(names), labels.encode(test_names)]).astype("int8"),
    )

    for seed, (train_index, dev_index, vocabulary) in per_seed.items():
        table = np.array([vocabulary.token_to_id(token) for token in union], "uint16")
        preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=MAX_LENGTH)
        padded = np.zeros((len(rows), MAX_LENGTH), "int32")
        for index, row in enumerate(rows):
            padded[index, : len(row)] = table[row]
        for begin in range(0, len(every), 4096):  # Exactly the recipe's ids, or stop.
            expected = preprocessor(every[begin : begin + 4096]).numpy()
            got = padded[begin : begin + 4096, : expected.shape[1]]
            if not np.array_equal(expected, got) or padded[begin : begin + 4096, expected.shape[1] :].any():
                raise AssertionError(f"seed {seed}: the ids of texts {begin}.. differ from the recipe's preprocessor")
        dev_logits, test_logits = nbsvm_logits(
            padded[train_index], labels.encode(names)[train_index], vocabulary.size, STACK_ORDERS,
            (padded[dev_index], padded[len(texts) :]),
        )
        np.savez_compressed(
            directory / f"seed{seed}.npz", table=table, train_index=train_index, dev_index=dev_index,
            nbsvm_dev=dev_logits, nbsvm_test=test_logits,
            vocabulary_size=vocabulary.size,
        )
        print(f"seed {seed}: vocabulary {vocabulary.size}, ids checked against the recipe's preprocessor", flush=True)


def prepare_chars(directory, seeds, data_dir=None):
    """NBSVM over character 1-6-grams per seed, as the recipe's `--stack-chars` adds it to the stack."""
    import seqkit

    config, data = recipe_data(data_dir)
    (texts, names), (test_texts, _) = data.train, data.test
    labels = np.load(directory / "ids.npz")["labels"]
    tokenizer = seqkit.get_tokenizer({"type": "char", "lowercase": config.lowercase})
    orders = tuple(range(1, config.stack_char_order + 1))
    for seed in seeds:
        own = np.load(directory / f"seed{seed}.npz")
        train_texts = [texts[index] for index in own["train_index"]]
        preprocessor = seqkit.TextPreprocessor(  # The recipe's: truncated near 800 words' worth of characters.
            tokenizer, seqkit.Vocabulary.build(tokenizer.iter_tokenize(train_texts), max_size=1000),
            max_length=8 * MAX_LENGTH,
        )

        def ids(some_texts):
            padded = np.zeros((len(some_texts), 8 * MAX_LENGTH), "int32")
            for begin in range(0, len(some_texts), 1024):
                batch = preprocessor(some_texts[begin : begin + 1024]).numpy()
                padded[begin : begin + len(batch), : batch.shape[1]] = batch
            return padded

        dev_logits, test_logits = nbsvm_logits(
            ids(train_texts), labels[own["train_index"]], preprocessor.vocabulary.size, orders,
            (ids([texts[index] for index in own["dev_index"]]), ids(list(test_texts))),
        )
        np.savez_compressed(directory / f"seed{seed}_chars.npz", nbsvm_dev=dev_logits, nbsvm_test=test_logits)
        print(f"seed {seed}: character NBSVM, test accuracy of its sign "
              f"{((test_logits > 0) == labels[len(texts):]).mean():.4f}", flush=True)


# === train (any backend; no TensorFlow needed) ===


def load_seed(directory, seed):
    """`(train, dev, test)` as `(padded ids, lengths, labels)` in the seed's vocabulary, and its size."""
    every, own = np.load(directory / "ids.npz"), np.load(directory / f"seed{seed}.npz")
    lengths, num_train, labels = every["lengths"], int(every["num_train"]), every["labels"].astype("int32")
    ids = own["table"][every["ids"]].astype("int32")
    padded = np.zeros((len(lengths), MAX_LENGTH), "int32")
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for index in range(len(lengths)):
        padded[index, : lengths[index]] = ids[offsets[index] : offsets[index + 1]]

    def part(index):
        return padded[index], lengths[index], labels[index]

    test = np.arange(num_train, len(lengths))
    return part(own["train_index"]), part(own["dev_index"]), part(test), int(own["vocabulary_size"])


def train(directory, out, seed, pretrain, units, embedding_dim, bilm_dropout, bilm_epochs, bilm_batch_size,
          bilm_minutes, batch_size, epochs, minutes, length_multiple, learning_rate, pretrain_learning_rate_multiplier=1.0,
          examples=None):
    import keras

    import seqkit
    from seqkit.data.bucketing import BucketedBatches
    from seqkit.models import bilm

    # The classifier's one input is named `token_ids`; `BucketedBatches` hands it over as a dict of that name.
    warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
    start = time.time()
    (train_x, train_len, train_y), (dev_x, dev_len, dev_y), (test_x, test_len, test_y), size = load_seed(
        directory, seed
    )
    if examples:  # A slice, to time a few steps on a slow machine: the first `examples` training and test reviews.
        train_x, train_len, train_y = (array[:examples] for array in (train_x, train_len, train_y))
        dev_x, dev_len, dev_y = (array[: examples // 9 + 1] for array in (dev_x, dev_len, dev_y))
        test_x, test_len, test_y = (array[:examples] for array in (test_x, test_len, test_y))
    seqkit.set_seed(seed)
    report = {"seed": seed, "pretrain": pretrain, "units": units, "embedding_dim": embedding_dim,
              "backend": keras.backend.backend(), "load_seconds": round(time.time() - start, 1),
              "options": dict(bilm_dropout=bilm_dropout, bilm_epochs=bilm_epochs, bilm_batch_size=bilm_batch_size,
                              bilm_minutes=bilm_minutes, batch_size=batch_size, epochs=epochs, minutes=minutes,
                              length_multiple=length_multiple, learning_rate=learning_rate, examples=examples)}

    def rows(x, lengths):
        return [row[:length] for row, length in zip(x, lengths)]

    language_model = None
    if pretrain:  # The recipe's pretrain_language_model, wider, on the same training reviews.
        language_model = seqkit.build_bidirectional_language_model(
            size, embedding_dim=embedding_dim, units=units, num_layers=1, dropout=bilm_dropout
        )
        seqkit.compile_bidirectional_language_model(language_model, clipnorm=1.0)
        bilm.initialize_output_bias(language_model, rows(train_x, train_len))
        report["pretraining"] = bilm.train_bidirectional_language_model(
            language_model, train_x, dev_x, epochs=bilm_epochs, batch_size=bilm_batch_size, seed=seed,
            num_sampled=1024, length_multiple=length_multiple,
            callbacks=[seqkit.training.TimeBudget(bilm_minutes)],
        )
        print(f"seed {seed}: pretraining {report['pretraining']}", flush=True)

    network = seqkit.build_classifier(  # The recipe's defaults but the width.
        size, num_classes=2, head="binary", embedding_dim=embedding_dim, units=units, ngram_dim=64,
        ngram_orders=(1, 2), ngram_buckets=200_000,
    )
    multipliers = None
    if language_model is not None:
        report["initialized"] = seqkit.initialize_from_language_model(network, language_model)
        if pretrain_learning_rate_multiplier != 1:  # As the recipe's --pretrain-learning-rate-multiplier.
            report["pretrain_learning_rate_multiplier"] = pretrain_learning_rate_multiplier
            multipliers = seqkit.optimizers.layer_learning_rate_multipliers(
                [network.get_layer(name) for name in report["initialized"]], pretrain_learning_rate_multiplier
            )
    seqkit.compile_classifier(network, head="binary", learning_rate=learning_rate, clipnorm=1.0,
                              learning_rate_multipliers=multipliers)

    def batches(x, lengths, y, shuffle, size=batch_size):
        return BucketedBatches({"token_ids": x}, y, lengths, batch_size=size, shuffle=shuffle, seed=seed,
                               length_multiple=length_multiple)

    began = time.time()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = network.fit(
        batches(train_x, train_len, train_y, True), validation_data=batches(dev_x, dev_len, dev_y, True),
        epochs=epochs, callbacks=[stop, seqkit.training.TimeBudget(minutes)], verbose=2,
    ).history
    report["train_seconds"] = round(time.time() - began, 1)
    report["history"] = {key: [round(float(v), 5) for v in values] for key, values in history.items()}
    report["best_epoch"] = int(np.argmin(history["val_loss"])) + 1

    logits_model = keras.Model(network.input, network.get_layer("logits").output)
    logits = {name: logits_model.predict(batches(x, lengths, None, False, 256), verbose=0).reshape(-1)
              for name, (x, lengths) in {"dev": (dev_x, dev_len), "test": (test_x, test_len)}.items()}
    report["dev_accuracy_network_alone"] = float(((logits["dev"] > 0) == dev_y).mean())
    report["test_accuracy_network_alone"] = float(((logits["test"] > 0) == test_y).mean())
    report["seconds"] = round(time.time() - start, 1)
    name = f"{'pretrained' if pretrain else 'scratch'}{seed}"
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"{name}.npz", dev=logits["dev"], test=logits["test"])
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    print(f"{name}: network alone test {report['test_accuracy_network_alone']:.4f}, {report['seconds']} s", flush=True)


# === stack (the regression of seqkit.stack_ngram_logit) ===


def stack(directory, out, results=HERE / "results" / "imdb_wide.json", chars=False):
    from sklearn.linear_model import LogisticRegression

    every = np.load(directory / "ids.npz")
    labels, num_train = every["labels"], int(every["num_train"])
    runs_by_name = {}
    for path in sorted(out.glob("*.json")):
        report = json.loads(path.read_text())
        seed, logits = report["seed"], np.load(path.with_suffix(".npz"))
        own = np.load(directory / f"seed{seed}.npz")
        dev_y, test_y = labels[own["dev_index"]], labels[num_train:]
        columns = [(logits["dev"], logits["test"]), (own["nbsvm_dev"], own["nbsvm_test"])]
        if chars:  # The recipe's --stack-chars: character NBSVM's logit as a third column.
            char_logits = np.load(directory / f"seed{seed}_chars.npz")
            columns.append((char_logits["nbsvm_dev"], char_logits["nbsvm_test"]))
        dev, test = (np.stack([column[part] for column in columns], axis=1).astype("float64") for part in (0, 1))
        regression = LogisticRegression(C=1.0, max_iter=1000).fit(dev, dev_y)  # stack_ngram_logit's.
        report["test_accuracy"] = float(regression.score(test, test_y))
        report["nbsvm_test_accuracy"] = float(((own["nbsvm_test"] > 0) == test_y).mean())
        report["stacking_weights"] = regression.coef_.ravel().round(4).tolist()
        report["dev_accuracy"] = float(regression.score(dev, dev_y))
        runs_by_name[path.stem] = report
        print(f"{path.stem}: stacked {report['test_accuracy']:.4f}, network alone "
              f"{report['test_accuracy_network_alone']:.4f}, best epoch {report['best_epoch']}")
    for kind in (True, False):
        runs = [r for r in runs_by_name.values() if r["pretrain"] is kind]
        if runs:
            for key in ("test_accuracy", "test_accuracy_network_alone"):
                values = 100 * np.array([r[key] for r in runs])
                print(f"{'pretrained' if kind else 'scratch'} {key}: {values.mean():.2f} ± {values.std():.2f} "
                      f"({len(values)} seeds)")
    results = Path(results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(runs_by_name, indent=1))
    return runs_by_name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("prepare", "chars", "train", "stack"))
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--seeds", default="0,1,2", help="prepare: the seeds to prepare")
    parser.add_argument("--data-dir", help="prepare: the folder holding aclImdb/ (default: the recipe's search)")
    parser.add_argument("--chars", action="store_true", help="stack: add the character NBSVM of the chars step")
    parser.add_argument("--results", type=Path, default=HERE / "results" / "imdb_wide.json", help="stack: the JSON written")
    parser.add_argument("--examples", type=int, help="train: only the first this many training and test reviews")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pretrain", action="store_true", help="train: start from a BiLM (else from scratch)")
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--bilm-dropout", type=float, default=0.2)
    parser.add_argument("--bilm-epochs", type=int, default=10)
    parser.add_argument("--bilm-batch-size", type=int, default=64)
    parser.add_argument("--bilm-minutes", type=float, default=4.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=3.0, help="train: the classifier's time budget")
    parser.add_argument("--length-multiple", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--pretrain-learning-rate-multiplier", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.data, [int(seed) for seed in args.seeds.split(",")], args.data_dir)
    elif args.step == "chars":
        prepare_chars(args.data, [int(seed) for seed in args.seeds.split(",")], args.data_dir)
    elif args.step == "train":
        train(args.data, args.out, args.seed, args.pretrain, args.units, args.embedding_dim, args.bilm_dropout,
              args.bilm_epochs, args.bilm_batch_size, args.bilm_minutes, args.batch_size, args.epochs, args.minutes,
              args.length_multiple, args.learning_rate, args.pretrain_learning_rate_multiplier, args.examples)
    else:
        stack(args.data, args.out, args.results, args.chars)


if __name__ == "__main__":
    main()
