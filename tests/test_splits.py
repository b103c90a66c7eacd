"""Seeded holdout splits and (stratified) k-fold cross-validation."""

import collections

import numpy as np
import pytest

from seqkit.data import splits

TEXTS = [f"text {index}" for index in range(1000)]
LABELS = ["pos"] * 700 + ["neg"] * 200 + ["neutral"] * 100


def test_holdout_is_deterministic_per_seed():
    first = splits.holdout_split(TEXTS, LABELS, test_size=0.2, seed=3)
    second = splits.holdout_split(TEXTS, LABELS, test_size=0.2, seed=3)
    assert first == second


def test_holdout_differs_across_seeds():
    train_a, test_a = splits.holdout_split(TEXTS, test_size=0.2, seed=0)
    train_b, test_b = splits.holdout_split(TEXTS, test_size=0.2, seed=1)
    assert sorted(test_a) != sorted(test_b)


def test_holdout_partitions_and_keeps_pairs_aligned():
    train_x, test_x, train_y, test_y = splits.holdout_split(TEXTS, LABELS, test_size=0.2, seed=0)
    assert isinstance(train_x, list) and isinstance(test_y, list)
    assert (len(train_x), len(test_x)) == (800, 200)
    assert sorted(train_x + test_x) == sorted(TEXTS)
    label_of = dict(zip(TEXTS, LABELS))
    assert all(label_of[text] == label for text, label in zip(train_x + test_x, train_y + test_y))


def test_holdout_accepts_a_number_of_examples():
    train, test = splits.holdout_split(np.arange(50), test_size=7, seed=0)
    assert (len(train), len(test)) == (43, 7)
    assert isinstance(train, np.ndarray)


def test_stratified_holdout_keeps_class_ratios():
    _, _, train_y, test_y = splits.holdout_split(TEXTS, LABELS, test_size=0.1, seed=5, stratify=LABELS)
    assert collections.Counter(test_y) == {"pos": 70, "neg": 20, "neutral": 10}
    assert collections.Counter(train_y) == {"pos": 630, "neg": 180, "neutral": 90}


def assert_partition(folds, num_examples, n_splits):
    assert len(folds) == n_splits
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(num_examples))  # Every index is tested exactly once.
    for train, test in folds:
        assert not set(train.tolist()) & set(test.tolist())
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(num_examples))


@pytest.mark.parametrize("n_splits", [2, 5, 10])
def test_stratified_kfold_partitions_the_indices(n_splits):
    assert_partition(splits.stratified_kfold(LABELS, n_splits=n_splits, seed=0), len(LABELS), n_splits)


def test_stratified_kfold_keeps_class_ratios_in_each_fold():
    labels = np.array(LABELS)
    for _, test in splits.stratified_kfold(LABELS, n_splits=10, seed=0):
        assert collections.Counter(labels[test].tolist()) == {"pos": 70, "neg": 20, "neutral": 10}


def test_stratified_kfold_is_seeded():
    same = splits.stratified_kfold(LABELS, n_splits=5, seed=1), splits.stratified_kfold(LABELS, n_splits=5, seed=1)
    other = splits.stratified_kfold(LABELS, n_splits=5, seed=2)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(*same))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(same[0], other))


@pytest.mark.parametrize("num_examples, n_splits", [(10, 10), (103, 10), (7, 3)])
def test_kfold_partitions_the_indices(num_examples, n_splits):
    folds = splits.kfold(num_examples, n_splits=n_splits, seed=0)
    assert_partition(folds, num_examples, n_splits)
    sizes = sorted(len(test) for _, test in folds)
    assert sizes[-1] - sizes[0] <= 1


def test_kfold_shuffles_with_its_seed():
    first = splits.kfold(100, n_splits=4, seed=0)
    assert first[0][1].tolist() != list(range(25))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, splits.kfold(100, n_splits=4, seed=0)))
    assert not np.array_equal(first[0][1], splits.kfold(100, n_splits=4, seed=9)[0][1])


def test_take_works_for_lists_and_arrays():
    indices = np.array([2, 0])
    assert splits.take(["a", "b", "c"], indices) == ["c", "a"]
    assert splits.take(np.array([10, 11, 12]), indices).tolist() == [12, 10]
