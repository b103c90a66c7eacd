"""Naive Bayes log-count ratios over hashed n-grams: the prior of NBSVM (Wang & Manning 2012).

`r = log((p / |p|_1) / (q / |q|_1))`, where `p` and `q` count, with add-`alpha`
smoothing, the training documents of a class and of the other classes that
contain each n-gram (binarized counts). `build_classifier(naive_bayes_weights=r)`
starts a linear n-gram logit at `r` and trains it with the recurrent network, so
the network learns what the bag of n-grams misses.

No maintained library computes these over the same hashed n-gram ids that
`NgramEmbedding` uses inside a Keras model; this keeps the two in step.
"""

import numpy as np

from seqkit.layers import NgramEmbedding


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
    labels = np.asarray(labels)
    hasher = NgramEmbedding(vocabulary_size, 1, orders=orders, num_buckets=num_buckets)
    counts = np.zeros((vocabulary_size + num_buckets, num_classes), dtype=np.float64)
    start = 0
    for batch in token_ids:
        ids, valid = (np.asarray(a) for a in hasher.ngram_ids(np.asarray(batch)))
        for row in range(ids.shape[0]):
            counts[np.unique(ids[row][valid[row]]), labels[start + row]] += 1
        start += ids.shape[0]
    if start != len(labels):
        raise ValueError(f"`token_ids` has {start} rows but `labels` has {len(labels)}.")
    counts += alpha
    totals = counts.sum(axis=0)
    if num_classes == 2:
        ratio = np.log(counts[:, 1] / totals[1]) - np.log(counts[:, 0] / totals[0])
        return ratio[:, None].astype("float32")
    rest = counts.sum(axis=1, keepdims=True) - counts + alpha
    return (np.log(counts / totals) - np.log(rest / rest.sum(axis=0))).astype("float32")
