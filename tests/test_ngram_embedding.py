import keras
import numpy as np
import pytest

from seqkit.layers import NgramEmbedding
from seqkit.testing import run_layer_test


def test_ngram_ids_skip_padding():
    layer = NgramEmbedding(vocabulary_size=10, output_dim=2, orders=(1, 2), num_buckets=7)
    ids, valid = layer.ngram_ids(np.array([[4, 5, 6, 0]]))
    ids, valid = keras.ops.convert_to_numpy(ids), keras.ops.convert_to_numpy(valid)
    # 4 unigram slots, then 3 bigram slots: (4,5), (5,6), (6,<pad>).
    assert valid.tolist() == [[True, True, True, False, True, True, False]]
    assert ids[0, :3].tolist() == [4, 5, 6]
    expected_bigrams = [10 + (a * 46340 + b) % 7 for a, b in ((4, 5), (5, 6))]
    assert ids[0, 4:6].tolist() == expected_bigrams


def test_longer_ngrams_hash_every_token():
    # A regression test: trigrams starting with a frequent (small) id used to hash like their last pair: (1, 5, 6) and (2, 5, 6)
    # shared a bucket with each other and with the pair (5, 6).
    layer = NgramEmbedding(vocabulary_size=10, output_dim=1, orders=(2, 3), num_buckets=2_000_000)
    ids, _ = layer.ngram_ids(np.array([[1, 5, 6], [2, 5, 6]]))
    ids = keras.ops.convert_to_numpy(ids)  # Columns: pairs (x, 5), (5, 6), then the trigram.
    assert ids[0, 1] == ids[1, 1] == 10 + 5 * 46340 + 6
    assert len({ids[0, 1], ids[0, 2], ids[1, 2]}) == 3
    # On random 5-grams over a 30,000-word vocabulary, collisions are what chance predicts.
    layer = NgramEmbedding(vocabulary_size=30_000, output_dim=1, orders=(5,), num_buckets=2_000_000)
    grams = np.random.default_rng(0).integers(1, 30_000, size=(20_000, 5))
    ids = keras.ops.convert_to_numpy(layer.ngram_ids(grams)[0]).ravel()
    assert len(np.unique(ids)) > 0.99 * len(grams)


def test_output_is_the_mean_of_valid_ngram_vectors():
    layer = NgramEmbedding(vocabulary_size=10, output_dim=3, orders=(1, 2), num_buckets=7)
    inputs = np.array([[4, 5, 0, 0]])
    output = keras.ops.convert_to_numpy(layer(inputs))
    table = keras.ops.convert_to_numpy(layer.embedding.embeddings)
    rows = [4, 5, 10 + (4 * 46340 + 5) % 7]
    np.testing.assert_allclose(output[0], table[rows].mean(axis=0), rtol=1e-6)
    # Extra padding changes nothing.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(np.array([[4, 5, 0, 0, 0, 0]]))), output, rtol=1e-6)


def test_binary_counts_each_distinct_ngram_once():
    from seqkit.models.naive_bayes import binary_ngram_matrix

    layer = NgramEmbedding(vocabulary_size=10, output_dim=1, orders=(1, 2), num_buckets=7, combiner="sum", binary=True)
    counting = NgramEmbedding(vocabulary_size=10, output_dim=1, orders=(1, 2), num_buckets=7, combiner="sum")
    inputs = np.array([[4, 5, 4, 5, 4, 0], [6, 6, 6, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    layer.build(inputs.shape)
    counting.build(inputs.shape)
    table = np.arange(1, 18, dtype="float32")[:, None]
    layer.embedding.embeddings.assign(table)
    counting.embedding.embeddings.assign(table)
    # The same sum as NBSVM's binarized document-term matrix times the weights.
    expected = binary_ngram_matrix([inputs], 10, orders=(1, 2), num_buckets=7) @ table
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(inputs)), expected, rtol=1e-6)
    assert float(keras.ops.convert_to_numpy(counting(inputs))[0, 0]) > float(expected[0, 0])  # Counts repeats.
    assert expected[2, 0] == 0.0  # Padding only.
    assert NgramEmbedding.from_config(layer.get_config()).binary


def test_sequences_shorter_than_the_order():
    layer = NgramEmbedding(vocabulary_size=10, output_dim=2, orders=(1, 2, 3))
    assert layer(np.array([[4]])).shape == (1, 2)


def test_serialization():
    run_layer_test(NgramEmbedding, {"vocabulary_size": 20, "output_dim": 4, "num_buckets": 50},
                   np.array([[3, 4, 5, 0], [7, 0, 0, 0]], "int32"), (2, 4), expected_num_trainable_weights=1)


@pytest.mark.parametrize("kwargs,message", [({"orders": (0,)}, "`orders`"), ({"orders": (1, 17)}, "from 1 to 16"), ({"num_buckets": 0}, "`num_buckets`"),
     ({"num_buckets": 2**31}, "2\\*\\*30")])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NgramEmbedding(10, 2, **kwargs)
