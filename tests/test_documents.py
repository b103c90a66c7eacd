"""Document context: grouping a document's consecutive sentences into rows, and cutting rows back."""

import numpy as np
import pytest

from seqkit.data.documents import group_sentences, join_groups, split_groups


def test_groups_stop_at_document_ends_and_at_the_token_cap():
    lengths = [3, 4, 2, 5, 1, 1, 6]
    documents = [0, 0, 0, 0, 1, 1, 2]
    assert group_sentences(lengths, documents, max_tokens=9) == [[0, 1, 2], [3], [4, 5], [6]]
    assert group_sentences(lengths, documents, max_tokens=1000) == [[0, 1, 2, 3], [4, 5], [6]]
    assert group_sentences(lengths, documents, max_tokens=1) == [[i] for i in range(7)]  # Long ones stay whole.
    assert group_sentences([], [], max_tokens=5) == []


def test_a_document_number_seen_again_later_starts_a_new_group():
    # Only neighbours are joined: sentences of document 0 around one of document 1 are not.
    assert group_sentences([1, 1, 1], [0, 1, 0], max_tokens=10) == [[0], [1], [2]]


def test_join_then_split_gives_back_every_sentence():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, size=200).tolist()
    documents = np.sort(rng.integers(0, 20, size=200)).tolist()
    sentences = [[f"{index}.{position}" for position in range(length)] for index, length in enumerate(lengths)]
    groups = group_sentences(lengths, documents, max_tokens=25)
    assert sorted(index for group in groups for index in group) == list(range(200))
    rows = join_groups(sentences, groups)
    assert all(len(row) <= 25 or len(group) == 1 for row, group in zip(rows, groups))
    assert all(len({documents[index] for index in group}) == 1 for group in groups)
    assert split_groups(rows, groups, lengths) == sentences


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match=r"`max_tokens` must be an integer >= 1. Received: max_tokens=0"):
        group_sentences([1], [0], max_tokens=0)
    with pytest.raises(ValueError, match=r"Received: max_tokens=True"):
        group_sentences([1], [0], max_tokens=True)
    with pytest.raises(ValueError, match=r"one entry per sentence. Received: 2 lengths and 1 document numbers"):
        group_sentences([1, 2], [0], max_tokens=3)
    with pytest.raises(ValueError, match=r"A group of sentences \[0, 1\] holds 3 tokens but its row has 4 items"):
        split_groups([["a", "b", "c", "d"]], [[0, 1]], [1, 2])
