"""make_dataset: every example once per epoch, zero padding, bucketing, seeded shuffles, streaming."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.data import TextPreprocessor, Vocabulary, WordTokenizer, make_dataset
from seqkit.data.pipeline import bucket_boundaries, count_batches

WORDS = ["good", "bad", "film", "plot", "actor", "scene", "great", "dull"]


def make_texts(num_texts, max_words, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_words + 1, size=num_texts)
    texts = [" ".join(rng.choice(WORDS, size=int(length))) for length in lengths]
    texts[3] = ""  # An empty text becomes one <unk>.
    texts[7] = "good unknownword film!"  # Unknown tokens are id 1, not padding.
    return texts


TEXTS = make_texts(300, 120)


@pytest.fixture(scope="module")
def preprocessor():
    return TextPreprocessor("word", Vocabulary.build([WORDS]))


def epoch(dataset):
    """One pass as NumPy: (list of id batches, concatenated targets)."""
    batches, targets = [], []
    for ids, target in dataset:
        batches.append(ids.numpy())
        targets.append(target.numpy())
    return batches, np.concatenate(targets)


def token_counts(texts):
    """Tokens per text, as the word tokenizer sees them (an empty text still has its <unk>)."""
    return [max(1, len(tokens)) for tokens in WordTokenizer()(texts)]


@pytest.mark.parametrize("bucketing", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_example_appears_once_per_epoch(preprocessor, bucketing, shuffle):
    dataset = make_dataset(
        TEXTS,
        np.arange(len(TEXTS)),
        preprocessor=preprocessor,
        batch_size=16,
        bucketing=bucketing,
        shuffle=shuffle,
        seed=1,
    )
    for _ in range(2):  # The cached second epoch too.
        _, targets = epoch(dataset)
        assert sorted(targets.tolist()) == list(range(len(TEXTS)))


@pytest.mark.parametrize("bucketing", [True, False])
def test_rows_are_padded_with_zeros_after_their_tokens(preprocessor, bucketing):
    expected = preprocessor.ragged_ids(tf.constant(TEXTS)).to_list()
    counts = token_counts(TEXTS)
    assert [len(ids) for ids in expected] == counts
    dataset = make_dataset(TEXTS, np.arange(len(TEXTS)), preprocessor=preprocessor, batch_size=16, bucketing=bucketing)
    for ids, targets in dataset.as_numpy_iterator():
        assert ids.dtype == np.int32
        assert len(ids) <= 16
        assert ids.shape[1] == max(len(expected[index]) for index in targets)  # Padded to the longest row only.
        for row, index in zip(ids, targets):
            length = counts[index]
            assert np.count_nonzero(row) == length
            assert row[:length].tolist() == expected[index]
            assert not row[length:].any()  # Zeros only after the tokens.


def padding_cells(dataset):
    batches, _ = epoch(dataset)
    return sum(ids.size - np.count_nonzero(ids) for ids in batches)


def test_bucketing_removes_most_padding(preprocessor):
    texts = make_texts(400, 400, seed=2)
    targets = np.arange(len(texts))
    options = dict(preprocessor=preprocessor, batch_size=16, shuffle=True, seed=0)
    bucketed = padding_cells(make_dataset(texts, targets, **options))
    plain = padding_cells(make_dataset(texts, targets, bucketing=False, **options))
    assert bucketed < 0.25 * plain


def test_bucket_boundaries_grow_geometrically():
    boundaries = bucket_boundaries(100)
    assert boundaries[:6] == [8, 10, 12, 15, 19, 24]
    assert boundaries[-1] < 100
    assert all(b / a <= 1.3 for a, b in zip(boundaries, boundaries[1:]))
    assert bucket_boundaries(4) == []


def test_shuffle_with_a_seed_is_reproducible(preprocessor):
    def orders(seed):
        dataset = make_dataset(
            TEXTS, np.arange(len(TEXTS)), preprocessor=preprocessor, batch_size=8, shuffle=True, seed=seed
        )
        return [epoch(dataset)[1].tolist() for _ in range(2)]

    first, again, other = orders(7), orders(7), orders(8)
    assert first == again
    assert first[0] != first[1]  # Reshuffled each epoch.
    assert first != other


def test_without_shuffle_and_bucketing_order_is_kept(preprocessor):
    dataset = make_dataset(TEXTS, np.arange(len(TEXTS)), preprocessor=preprocessor, batch_size=32, bucketing=False)
    assert epoch(dataset)[1].tolist() == list(range(len(TEXTS)))


def test_multi_hot_targets_stay_aligned(preprocessor):
    texts = ["good film", "bad", "dull plot plot"]
    targets = np.eye(3, dtype=np.float32)
    dataset = make_dataset(texts, targets, preprocessor=preprocessor, batch_size=3, bucketing=False)
    ids, batch_targets = next(iter(dataset))
    np.testing.assert_array_equal(batch_targets.numpy(), targets)
    assert np.count_nonzero(ids.numpy(), axis=1).tolist() == [2, 1, 3]


def test_streamed_text_lines_without_targets(preprocessor, tmp_path):
    lines = ["good film", "", "bad plot plot", "dull"] * 10
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = make_dataset(
        tf.data.TextLineDataset(str(path)), targets=None, preprocessor=preprocessor, batch_size=8, cache=False
    )
    lengths = []
    for element in dataset:
        (ids,) = tf.nest.flatten(element)  # Token ids only: there is no target.
        lengths += np.count_nonzero(ids.numpy(), axis=1).tolist()
    assert sorted(lengths) == sorted(token_counts(lines))


def test_dataset_of_text_target_pairs(preprocessor):
    pairs = tf.data.Dataset.from_tensor_slices((["good", "bad film", "plot"], [0, 1, 2]))
    _, targets = epoch(make_dataset(pairs, preprocessor=preprocessor, batch_size=2, bucketing=False))
    assert targets.tolist() == [0, 1, 2]


def test_repeat_makes_an_endless_dataset(preprocessor):
    dataset = make_dataset(["good", "bad"], np.array([0, 1]), preprocessor=preprocessor, batch_size=2, repeat=True)
    assert sum(1 for _ in dataset.take(5)) == 5


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, None, "8"])
def test_bad_batch_size_is_rejected(preprocessor, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(["good"], preprocessor=preprocessor, batch_size=batch_size)


def test_mismatched_lengths_are_rejected(preprocessor):
    with pytest.raises(ValueError, match="3 texts and 2 targets"):
        make_dataset(["good", "bad", "film"], np.array([0, 1]), preprocessor=preprocessor)


def test_preprocessor_must_be_a_text_preprocessor():
    with pytest.raises(ValueError, match="TextPreprocessor"):
        make_dataset(["good"], preprocessor=WordTokenizer())


def test_batches_round_their_length_to_a_multiple_for_jax():
    """On JAX (`"auto"`), each batch's time axis is rounded up to a multiple of 8: a bounded set of shapes."""
    from seqkit.data import TextPreprocessor, Vocabulary
    from seqkit.data.pipeline import make_dataset, make_pair_dataset

    texts = ["a b c", "a", "b c a b c a b c a b", "c"]
    preprocessor = TextPreprocessor("word", Vocabulary.build([["a", "b", "c"]]))
    plain = list(make_dataset(texts, preprocessor=preprocessor, batch_size=4, bucketing=False,
                              pad_to_multiple_of=None))
    rounded = list(make_dataset(texts, np.arange(4), preprocessor=preprocessor, batch_size=4, bucketing=False,
                                pad_to_multiple_of=8))
    assert plain[0][0].shape == (4, 10) and rounded[0][0].shape == (4, 16)
    np.testing.assert_array_equal(rounded[0][0].numpy()[:, :10], plain[0][0].numpy())
    assert not rounded[0][0].numpy()[:, 10:].any()  # Padding id 0: masked.
    inputs, next_ids = next(iter(make_pair_dataset(["a b", "c"], ["b", "a c"], source_preprocessor=preprocessor,
                                                   target_preprocessor=preprocessor, batch_size=2,
                                                   pad_to_multiple_of=8)))
    assert inputs["source_ids"].shape[1] % 8 == inputs["target_ids"].shape[1] % 8 == next_ids.shape[1] % 8 == 0
    assert inputs["target_ids"].numpy()[:, 0].tolist() == [2, 2]
    with pytest.raises(ValueError, match="pad_to_multiple_of"):
        make_dataset(texts, preprocessor=preprocessor, pad_to_multiple_of=0)


def test_pipelines_turn_off_tf_data_autotuning():
    # Autotuning's thread makes deleting an iterator (Keras does at every epoch's end) wait for its next
    # wake-up, up to a minute; see `seqkit.data.pipeline.prefetch`.
    from seqkit.data import text_windows
    from seqkit.data.pipeline import make_pair_dataset

    words = TextPreprocessor("word", Vocabulary.build([["a", "b", "c"]]))
    chars = TextPreprocessor("char", Vocabulary.build([list("abc")]))
    stream = np.arange(4, 40, dtype="int32") % 7 + 4
    datasets = {
        "make_dataset": make_dataset(["a b", "c"], [0, 1], preprocessor=words, batch_size=2),
        "make_pair_dataset": make_pair_dataset(["ab", "c"], ["ba", "c"], source_preprocessor=chars,
                                               target_preprocessor=chars, batch_size=2),
        "window_dataset": text_windows.window_dataset(stream, 8, batch_size=2),
        "stateful_window_dataset": text_windows.stateful_window_dataset(stream, 8, batch_size=2),
    }
    for name, dataset in datasets.items():
        assert dataset.options().autotune.enabled is False, name
        assert dataset.take(1).options().autotune.enabled is False, name  # Inherited by what users chain on.
        assert len(list(dataset)) >= 1, name  # And it still yields batches.


@pytest.mark.parametrize("bucketing", [True, False])
@pytest.mark.parametrize("batch_size", [1, 7, 16])
def test_a_list_of_texts_gives_a_dataset_that_knows_its_number_of_batches(preprocessor, bucketing, batch_size):
    texts = make_texts(400, 400, seed=3)  # Lengths spread over many buckets.
    dataset = make_dataset(texts, np.arange(len(texts)), preprocessor=preprocessor, batch_size=batch_size,
                           bucketing=bucketing, shuffle=True, seed=0)
    counted = [len(epoch(dataset)[0]) for _ in range(2)]
    assert int(dataset.cardinality()) == counted[0] == counted[1]
    assert count_batches(token_counts(texts), batch_size, bucketing) == counted[0]


def test_keras_does_not_warn_that_a_list_dataset_ran_out_of_data(preprocessor):
    inputs = keras.Input((None,), dtype="int32")
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(preprocessor.vocabulary.size, 4)(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    dataset = make_dataset(TEXTS, np.zeros(len(TEXTS), "float32"), preprocessor=preprocessor, batch_size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(dataset, epochs=2, verbose=0)
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_a_pair_dataset_knows_its_number_of_batches():
    from seqkit.data.pipeline import make_pair_dataset

    sources = [" ".join(["a"] * n) for n in range(1, 60)]
    targets = [" ".join(["b"] * (n % 7 + 1)) for n in range(1, 60)]
    preprocessor = TextPreprocessor("word", Vocabulary.build([["a", "b"]]))
    dataset = make_pair_dataset(sources, targets, source_preprocessor=preprocessor, target_preprocessor=preprocessor,
                                batch_size=4, shuffle=True, seed=0)
    batches = list(dataset)
    assert int(dataset.cardinality()) == len(batches) == count_batches(range(1, 60), 4)
    assert sum(len(next_ids) for _, next_ids in batches) == len(sources)
