"""Naive Bayes log-count ratios over hashed n-grams: the prior of NBSVM (Wang & Manning 2012).

`r = log((p / |p|_1) / (q / |q|_1))`, where `p` and `q` count, with add-`alpha`
smoothing, the training documents of a class and of the other classes that
contain each n-gram (binarized counts). `build_classifier(naive_bayes_weights=r)`
starts a linear n-gram logit at `r` and trains it with the recurrent network, so
the network learns what the bag of n-grams misses. `nbsvm_weights` goes one step
further and fits NBSVM itself (a linear SVM on the ratio-scaled n-grams).

No maintained library computes these over the same hashed n-gram ids that
`NgramEmbedding` uses inside a Keras model; this keeps the two in step.
"""

import numpy as np
import scipy.sparse

from seqkit.layers import NgramEmbedding


def binary_ngram_matrix(token_ids, vocabulary_size, orders=(1, 2), num_buckets=200_000):
    """A sparse `(documents, vocabulary_size + num_buckets)` matrix: 1 where a document has that n-gram id.

    `token_ids` is an iterable of `(batch, time)` int arrays (0 is padding); the ids
    are those of `NgramEmbedding(vocabulary_size, ..., orders, num_buckets)`.
    """
    hasher = NgramEmbedding(vocabulary_size, 1, orders=orders, num_buckets=num_buckets)
    rows, columns, start = [], [], 0
    for batch in token_ids:
        ids, valid = (np.asarray(a) for a in hasher.ngram_ids(np.asarray(batch)))
        for row in range(ids.shape[0]):
            unique = np.unique(ids[row][valid[row]])
            rows.append(np.full(len(unique), start + row, dtype=np.int64))
            columns.append(unique.astype(np.int64))
        start += ids.shape[0]
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    columns = np.concatenate(columns) if columns else np.zeros(0, np.int64)
    return scipy.sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(start, vocabulary_size + num_buckets)
    )


def naive_bayes_weights(token_ids, labels, num_classes, vocabulary_size, orders=(1, 2), num_buckets=200_000, alpha=1.0):
    """Log-count ratios for every id of an `NgramEmbedding(vocabulary_size, ..., orders, num_buckets)`.

    Args:
        token_ids: an iterable of `(batch, time)` int arrays (0 is padding), e.g. a
            `TextPreprocessor`'s output on batches of training texts.
        labels: int class ids aligned with the rows of `token_ids`, in order.
        num_classes: 2 gives one column (positive vs negative, for a sigmoid
            head); more gives one column per class (the class vs the rest).
        vocabulary_size, orders, num_buckets: the `NgramEmbedding` settings.
        alpha: additive smoothing.

    Returns:
        A float32 array `(vocabulary_size + num_buckets, 1 or num_classes)`.

    Examples:
    >>> import numpy as np
    >>> weights = naive_bayes_weights([np.array([[5, 6], [7, 0]])], [1, 0], 2, vocabulary_size=10, num_buckets=4)
    >>> weights.shape, bool(weights[5, 0] > 0 > weights[7, 0])
    ((14, 1), True)
    """
    documents = binary_ngram_matrix(token_ids, vocabulary_size, orders=orders, num_buckets=num_buckets)
    return _log_count_ratios(documents, labels, num_classes, alpha)


def _log_count_ratios(documents, labels, num_classes, alpha):
    """`naive_bayes_weights` from an already built `binary_ngram_matrix`."""
    labels = np.asarray(labels)
    if documents.shape[0] != len(labels):
        raise ValueError(f"`token_ids` has {documents.shape[0]} rows but `labels` has {len(labels)}.")
    one_hot = np.eye(num_classes)[labels]
    counts = np.asarray((documents.T @ one_hot), dtype=np.float64)
    counts += alpha
    totals = counts.sum(axis=0)
    if num_classes == 2:
        ratio = np.log(counts[:, 1] / totals[1]) - np.log(counts[:, 0] / totals[0])
        return ratio[:, None].astype("float32")
    rest = counts.sum(axis=1, keepdims=True) - counts + alpha
    return (np.log(counts / totals) - np.log(rest / rest.sum(axis=0))).astype("float32")


def nbsvm_weights(
    token_ids, labels, num_classes, vocabulary_size, orders=(1, 2), num_buckets=200_000, alpha=1.0, C=1.0, beta=0.25
):
    """NBSVM's weights per n-gram id (Wang & Manning 2012), in `naive_bayes_weights`' layout.

    A linear SVM (scikit-learn's `LinearSVC`) is fit on the binarized n-grams
    scaled by the log-count ratios `r`; its weights `w` are interpolated towards
    their mean magnitude, `w' = (1 - beta) * mean(|w|) + beta * w`, and the
    returned weight of n-gram `j` is `r_j * w'_j`, so that the sum over a text's
    n-grams is the NBSVM margin (without the intercept). With more than two
    classes, one SVM per class against the rest.

    Examples:
    >>> import numpy as np
    >>> ids = [np.array([[5, 6], [7, 8], [5, 8], [7, 6]])]
    >>> weights = nbsvm_weights(ids, [1, 0, 1, 0], 2, vocabulary_size=10, num_buckets=4)
    >>> weights.shape, bool(weights[5, 0] > 0 > weights[7, 0])
    ((14, 1), True)
    """
    from sklearn.svm import LinearSVC

    labels = np.asarray(labels)
    documents = binary_ngram_matrix(token_ids, vocabulary_size, orders=orders, num_buckets=num_buckets)
    ratios = _log_count_ratios(documents, labels, num_classes, alpha)
    columns = []
    for column in range(ratios.shape[1]):
        target = labels == 1 if num_classes == 2 else labels == column
        svm = LinearSVC(C=C, max_iter=10_000).fit(documents.multiply(ratios[:, column]).tocsr(), target)
        weights = svm.coef_.ravel()
        interpolated = (1.0 - beta) * np.abs(weights).mean() + beta * weights
        columns.append(ratios[:, column] * interpolated)
    return np.stack(columns, axis=1).astype("float32")
