"""TextPreprocessor: strings to padded id matrices, in eager and graph mode, and its config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqkit.data import TextPreprocessor, Vocabulary, WordTokenizer

TEXTS = ["A good film.", "A bad, bad film!", "Good"]


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.build(WordTokenizer()(TEXTS))


@pytest.fixture(scope="module")
def preprocessor(vocabulary):
    return TextPreprocessor("word", vocabulary)


def expected_ids(vocabulary, text, max_length=None):
    ids = vocabulary.encode(WordTokenizer()(text))[:max_length]
    return ids or [vocabulary.unk_id]


def test_scalar_string_gives_a_1d_id_vector(preprocessor, vocabulary):
    ids = preprocessor(tf.constant("A good film."))
    assert ids.shape.rank == 1
    assert ids.dtype == tf.int32
    assert ids.numpy().tolist() == vocabulary.encode(["a", "good", "film", "."])


def test_python_string_is_accepted_like_a_scalar_tensor(preprocessor):
    assert preprocessor("A good film.").numpy().tolist() == preprocessor(tf.constant("A good film.")).numpy().tolist()


def test_batch_gives_a_matrix_padded_with_zeros(preprocessor, vocabulary):
    texts = ["A bad, bad film!", "Good", "unknown words here"]
    ids = preprocessor(texts).numpy()
    assert ids.shape == (3, 6)
    for row, text in zip(ids, texts):
        expected = expected_ids(vocabulary, text)
        assert row[: len(expected)].tolist() == expected
        assert not row[len(expected) :].any()
    assert ids[2].tolist() == [1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("empty", ["", "   ", "<br />"])
def test_a_text_without_tokens_becomes_a_single_unk(preprocessor, empty):
    assert preprocessor(tf.constant(empty)).numpy().tolist() == [1]
    assert preprocessor(["good film", empty]).numpy().tolist()[1] == [1, 0]


def test_a_batch_of_empty_texts_is_a_column_of_unk(preprocessor):
    assert preprocessor(["", ""]).numpy().tolist() == [[1], [1]]


@pytest.mark.parametrize("max_length", [1, 2, 5])
def test_max_length_truncates(vocabulary, max_length):
    preprocessor = TextPreprocessor("word", vocabulary, max_length=max_length)
    ids = preprocessor(TEXTS).numpy()
    assert ids.shape[1] == min(max_length, 6)
    for row, text in zip(ids, TEXTS):
        expected = expected_ids(vocabulary, text, max_length)
        assert row[: len(expected)].tolist() == expected


@pytest.mark.parametrize("max_length", [0, -1, 2.5, "3"])
def test_invalid_max_length_is_rejected(vocabulary, max_length):
    with pytest.raises(ValueError, match="max_length"):
        TextPreprocessor("word", vocabulary, max_length=max_length)


def test_invalid_utf8_does_not_crash(preprocessor, vocabulary):
    ids = preprocessor(tf.constant([b"\xff\xfe", b"good \xc3 film"])).numpy()
    assert ids[0].tolist() == [1, 1, 0]  # Two U+FFFD tokens, both unknown.
    assert ids[1].tolist() == [vocabulary.token_to_id("good"), 1, vocabulary.token_to_id("film")]


def test_graph_mode_matches_eager_mode(preprocessor):
    graph = tf.function(preprocessor, input_signature=[tf.TensorSpec([None], tf.string)])
    texts = TEXTS + ["", "Ünknown ÉCOLE"]
    assert graph(tf.constant(texts)).numpy().tolist() == preprocessor(texts).numpy().tolist()


def test_accepts_a_token_list_and_a_tokenizer_instance(vocabulary):
    from_list = TextPreprocessor(WordTokenizer(lowercase=False), vocabulary.tokens)
    assert from_list.vocabulary == vocabulary
    assert from_list(["Good good"]).numpy().tolist() == [[1, vocabulary.token_to_id("good")]]


def test_config_round_trip_gives_identical_outputs(vocabulary):
    original = TextPreprocessor({"type": "char", "lowercase": False}, vocabulary, max_length=7, name="prep")
    config = original.get_config()
    assert config["vocabulary"] == vocabulary.tokens
    restored = TextPreprocessor.from_config(config)
    assert restored.name == "prep"
    assert restored.max_length == 7
    assert restored.tokenizer == original.tokenizer
    texts = TEXTS + ["", "Ça"]
    np.testing.assert_array_equal(restored(texts).numpy(), original(texts).numpy())


def test_keras_serialization_round_trip(preprocessor):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(preprocessor))
    assert isinstance(restored, TextPreprocessor)
    np.testing.assert_array_equal(restored(TEXTS).numpy(), preprocessor(TEXTS).numpy())
