"""NBSVM alone on the sentiment recipe's tokens: n-gram orders x hash buckets x SVM C.

This is the linear model `recipes/sentiment.py --stack-nbsvm` stacks with the
network, fit the same way: the recipe's vocabulary and tokens, the training split
without its 10% dev share (seed 0), `seqkit.nbsvm_weights`, and a logistic
regression on the dev split for the intercept and scale. It picked the recipe's
`--stack-buckets` and `--stack-c` defaults.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/nbsvm_sweep.py mr      # 10-fold CV (folds seeded 0), ~6 min
    python benchmarks/nbsvm_sweep.py imdb    # train/test, ~10 min
    python benchmarks/nbsvm_sweep.py mr-chars  # MR: word and character NBSVM, alone and weighed together, ~2 min
    python benchmarks/nbsvm_sweep.py imdb-chars  # the same on IMDB (800 words, 6,400 characters), ~8 min
"""

import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

import seqkit
from seqkit.data import splits
from seqkit.models.naive_bayes import binary_ngram_matrix, nbsvm_weights

GRID = [(orders, buckets, C) for orders in ((1, 2), (1, 2, 3)) for buckets in (200_000, 2_000_000) for C in (0.1, 1.0)]


def accuracies(train, test, max_length=None, seed=0):
    """Test accuracy of NBSVM for every grid point, fit as the recipe fits it."""
    train_x, dev_x, train_y, dev_y = splits.holdout_split(*train, test_size=0.1, seed=seed, stratify=train[1])
    labels = seqkit.LabelEncoder.fit(train_y)
    tokenizer = seqkit.get_tokenizer({"type": "word", "lowercase": True})
    vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(train_x), max_size=30000)
    preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=max_length)

    def ids(texts):
        return [preprocessor(texts[begin : begin + 1024]).numpy() for begin in range(0, len(texts), 1024)]

    train_ids, dev_ids, test_ids = ids(train_x), ids(dev_x), ids(test[0])
    train_y, dev_y, test_y = (np.asarray(labels.encode(y)) for y in (train_y, dev_y, test[1]))
    result = {}
    for orders, buckets, C in GRID:
        weights = nbsvm_weights(train_ids, train_y, 2, vocabulary.size, orders=orders, num_buckets=buckets, C=C)

        def margins(token_ids):
            return binary_ngram_matrix(token_ids, vocabulary.size, orders=orders, num_buckets=buckets) @ weights

        regression = LogisticRegression().fit(margins(dev_ids), dev_y)
        result[(orders, buckets, C)] = float(regression.score(margins(test_ids), test_y))
    return result


def word_and_char_accuracies(train, test, max_length=None, seed=0):
    """Test accuracy of word (1-2, 1-3) and character (1-6) NBSVM, alone and weighed together on dev.

    As `--stack-nbsvm --stack-chars` fits them (2M buckets, C = 0.1), without the network: texts cut at
    `max_length` words, and at 8x as many characters.
    """
    train_x, dev_x, train_y, dev_y = splits.holdout_split(*train, test_size=0.1, seed=seed, stratify=train[1])
    labels = seqkit.LabelEncoder.fit(train_y)
    train_y, dev_y, test_y = (np.asarray(labels.encode(y)) for y in (train_y, dev_y, test[1]))
    margins = {}
    for name, kind, orders in (("word 1-2", "word", (1, 2)), ("word 1-3", "word", (1, 2, 3)),
                               ("char 1-6", "char", (1, 2, 3, 4, 5, 6))):
        tokenizer = seqkit.get_tokenizer({"type": kind, "lowercase": True})
        vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(train_x), max_size=30000 if kind == "word" else 1000)
        length = max_length if max_length is None or kind == "word" else 8 * max_length
        preprocessor = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=length)

        def ids(texts):
            return [preprocessor(texts[begin : begin + 1024]).numpy() for begin in range(0, len(texts), 1024)]

        weights = nbsvm_weights(ids(train_x), train_y, 2, vocabulary.size, orders=orders, num_buckets=2_000_000, C=0.1)
        margins[name] = [binary_ngram_matrix(x, vocabulary.size, orders=orders, num_buckets=2_000_000) @ weights
                         for x in (ids(dev_x), ids(test[0]))]
    result = {}
    for combination in (["word 1-2"], ["word 1-3"], ["char 1-6"], ["word 1-2", "char 1-6"], ["word 1-3", "char 1-6"]):
        dev, held_out = (np.hstack([margins[name][part] for name in combination]) for part in (0, 1))
        result[" + ".join(combination)] = float(LogisticRegression().fit(dev, dev_y).score(held_out, test_y))
    return result


def main(argv):
    if argv == ["mr-chars"]:
        texts, names = seqkit.datasets.load_mr()["all"]
        runs = []
        for train_index, test_index in splits.stratified_kfold(names, n_splits=10, seed=0):
            train = (splits.take(texts, train_index), splits.take(names, train_index))
            runs.append(word_and_char_accuracies(train, (splits.take(texts, test_index), splits.take(names, test_index))))
        print("| NBSVM (weighed on dev) | MR 10-fold |\n|---|---|")
        for key in runs[0]:
            print(f"| {key} | {100 * np.mean([run[key] for run in runs]):.2f} |")
        return 0
    if argv == ["imdb-chars"]:
        data = seqkit.datasets.load_imdb()
        result = word_and_char_accuracies(data["train"], data["test"], max_length=800)
        print("| NBSVM (weighed on dev) | IMDB test |\n|---|---|")
        for key, accuracy in result.items():
            print(f"| {key} | {100 * accuracy:.2f} |")
        return 0
    if argv not in (["mr"], ["imdb"]):
        print(__doc__)
        return 2
    runs = []
    if argv[0] == "mr":
        texts, names = seqkit.datasets.load_mr()["all"]
        for train_index, test_index in splits.stratified_kfold(names, n_splits=10, seed=0):
            train = (splits.take(texts, train_index), splits.take(names, train_index))
            runs.append(accuracies(train, (splits.take(texts, test_index), splits.take(names, test_index))))
    else:
        data = seqkit.datasets.load_imdb()
        runs.append(accuracies(data["train"], data["test"], max_length=800))
    print(f"| n-gram orders | hash buckets | C | {argv[0].upper()} test accuracy |")
    print("|---|---|---|---|")
    for key in GRID:
        orders, buckets, C = key
        print(f"| {'+'.join(map(str, orders))} | {buckets:,} | {C} | {100 * np.mean([run[key] for run in runs]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
