"""Seeded train/test splits and cross-validation folds, through scikit-learn."""

import numpy as np
from sklearn import model_selection


def holdout_split(*arrays, test_size=0.1, seed=0, stratify=None):
    """Splits each array into a train and a held-out part, reproducibly.

    Args:
        *arrays: lists or arrays of equal length (e.g. texts and labels).
        test_size: a fraction in (0, 1) or a number of examples.
        seed: the shuffling seed; the same seed gives the same split.
        stratify: labels whose class proportions both parts keep.

    Returns:
        `[a_train, a_test, b_train, b_test, ...]`, lists stay lists.

    Examples:
    >>> texts, labels = list("abcdefghij"), [0, 1] * 5
    >>> train_x, test_x, train_y, test_y = holdout_split(texts, labels, test_size=0.2, stratify=labels)
    >>> sorted(test_y)
    [0, 1]
    """
    return model_selection.train_test_split(
        *arrays, test_size=test_size, random_state=seed, shuffle=True, stratify=stratify
    )


def group_split(groups, test_size=0.1, seed=0):
    """Train and held-out indices such that every item of a group falls on the same side.

    For parallel corpora with several translations of one sentence (Anki has
    many), group by the source sentence: a plain shuffle would put one
    translation in training and another in the test set.

    Args:
        groups: one hashable group key per item (e.g. the source sentence).
        test_size: the held-out fraction of groups (or a number of groups).
        seed: the shuffling seed.

    Returns:
        `(train_indices, test_indices)` arrays.

    Examples:
    >>> train, test = group_split(["a", "a", "b", "c", "c", "d"], test_size=0.5)
    >>> sorted(set("aabccd"[i] for i in train) & set("aabccd"[i] for i in test))
    []
    """
    splitter = model_selection.GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    groups = np.asarray(groups, dtype=object)
    return next(splitter.split(np.zeros(len(groups)), groups=groups))


def stratified_kfold(labels, n_splits=10, seed=0):
    """`n_splits` folds as `(train_indices, test_indices)`, class proportions kept in each."""
    splitter = model_selection.StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    labels = np.asarray(labels)
    return list(splitter.split(np.zeros(len(labels)), labels))


def kfold(num_examples, n_splits=10, seed=0):
    """`n_splits` shuffled folds over `num_examples` items as `(train_indices, test_indices)`."""
    splitter = model_selection.KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(num_examples)))


def take(items, indices):
    """`[items[i] for i in indices]`, for lists as well as arrays."""
    if isinstance(items, np.ndarray):
        return items[indices]
    return [items[i] for i in indices]


def contiguous_split(sequence, train_fraction=0.9):
    """Splits a text or token sequence in two without shuffling: the first part trains.

    This is the language-modelling convention (nanoGPT: the first 90% of
    tiny-shakespeare trains, the last 10% validates), which keeps validation text
    unseen rather than interleaved with training windows.

    Examples:
    >>> contiguous_split("abcdefghij", 0.8)
    ('abcdefgh', 'ij')
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"`train_fraction` must be in (0, 1). Received: train_fraction={train_fraction!r}")
    cut = int(len(sequence) * train_fraction)
    return sequence[:cut], sequence[cut:]
