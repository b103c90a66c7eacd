"""LabelEncoder: sorted names, clear errors for unseen labels, multi-hot rows."""

import numpy as np
import pytest

from seqkit.data import DataError, LabelEncoder


def test_names_are_sorted_and_unique():
    encoder = LabelEncoder.fit(["pos", "neg", "pos", "neutral"])
    assert encoder.names == ["neg", "neutral", "pos"]
    assert encoder.num_classes == 3
    assert encoder.get_config() == {"names": ["neg", "neutral", "pos"]}


def test_encode_gives_int_ids():
    encoder = LabelEncoder.fit(["pos", "neg"])
    ids = encoder.encode(["pos", "neg", "neg"])
    assert ids.dtype == np.int32
    assert ids.tolist() == [1, 0, 0]


def test_labels_are_compared_as_strings():
    encoder = LabelEncoder.fit([1, 0, 1])
    assert encoder.names == ["0", "1"]
    assert encoder.encode([0, "1"]).tolist() == [0, 1]


def test_unseen_label_names_the_source_row_and_value():
    encoder = LabelEncoder.fit(["pos", "neg"])
    with pytest.raises(DataError) as error:
        encoder.encode(["pos", "neg", "neutral"], source="test.csv")
    message = str(error.value)
    assert "test.csv, row 3" in message
    assert "'neutral'" in message
    assert "['neg', 'pos']" in message


def test_empty_label_set_is_rejected():
    with pytest.raises(ValueError):
        LabelEncoder([])


def test_fit_with_a_separator_collects_every_name():
    encoder = LabelEncoder.fit(["drama|comedy", "action", " comedy | horror "], separator="|")
    assert encoder.names == ["action", "comedy", "drama", "horror"]


def test_multi_hot_encoding():
    encoder = LabelEncoder(["action", "comedy", "drama"])
    matrix = encoder.encode_multi_hot(["drama|comedy", "action", "", "comedy|comedy"])
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[0, 1, 1], [1, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_multi_hot_unseen_name_is_a_data_error():
    encoder = LabelEncoder(["action", "comedy"])
    with pytest.raises(DataError, match=r"genres.tsv, row 2: label 'horror'"):
        encoder.encode_multi_hot(["action", "comedy|horror"], source="genres.tsv")
