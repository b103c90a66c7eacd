"""TagFeaturizer: casing classes, normalisation, vocabularies, padding and serialisation."""

import json

import numpy as np
import pytest
import tensorflow as tf

from seqkit.data import CASING_NAMES, DataError, TagFeaturizer, Vocabulary

TRAIN = [
    ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
    ["Peter", "Blackburn"],
    ["The", "European", "Commission", "said", "on", "Thursday", "it", "disagreed", "."],
    ["In", "1996", ",", "the", "EU", "said", "3.5", "percent", "."],
]


@pytest.fixture(scope="module")
def featurizer():
    return TagFeaturizer.build(TRAIN)


def casing_names(featurizer, tokens):
    ids = featurizer.encode([tokens])["casing"][0]
    return [CASING_NAMES[i] for i in ids]


def test_casing_names_are_fixed():
    # Saved models depend on these ids: 0 is padding, the order never changes.
    assert CASING_NAMES == (
        "<pad>", "numeric", "punctuation", "initial_upper", "all_upper",
        "all_lower", "mixed_case", "contains_digit", "other",
    )


@pytest.mark.parametrize(
    "token, expected",
    [
        ("EU", "all_upper"),
        ("Germany", "initial_upper"),
        ("rejects", "all_lower"),
        ("1996", "numeric"),
        ("3.5", "numeric"),
        ("1,000", "numeric"),
        ("12:30", "numeric"),
        ("1-2", "numeric"),
        (".", "punctuation"),
        ("--", "punctuation"),
        ("(", "punctuation"),
        ("McDonald", "mixed_case"),
        ("iPhone", "mixed_case"),
        # Letters win over digits: a cased letter decides the class.
        ("A4", "all_upper"),
        ("B-52", "all_upper"),
        ("a4", "all_lower"),
        ("4th", "all_lower"),
        ("U.S.", "all_upper"),
        ("'s", "all_lower"),
        # Unicode letters and digits.
        ("Ça", "initial_upper"),
        ("ÉTAT", "all_upper"),
        ("É", "all_upper"),
        ("straße", "all_lower"),
        ("٣", "numeric"),  # Arabic-Indic three.
        # Uncased scripts: no cased letter, so digit or other.
        ("日本4", "contains_digit"),
        ("日本", "other"),
    ],
)
def test_casing_of_hand_picked_tokens(featurizer, token, expected):
    assert casing_names(featurizer, [token]) == [expected]


def test_docstring_example():
    featurizer = TagFeaturizer.build([["EU", "rejects", "German", "call"]])
    assert featurizer.word_vocabulary.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "call", "eu", "german", "rejects"]
    features = featurizer.encode([["EU", "calls", "1996"]])
    assert features["words"].tolist() == [[5, 1, 1]]
    assert features["casing"].tolist() == [[4, 5, 1]]


def test_words_are_lowercased_and_digits_normalised(featurizer):
    vocabulary = featurizer.word_vocabulary
    assert "eu" in vocabulary and "EU" not in vocabulary
    assert "0000" in vocabulary and "1996" not in vocabulary
    assert "0.0" in vocabulary
    words = featurizer.encode([["EU", "eu", "Eu", "1996", "2001", "0000", "7.2", "3.5"]])["words"][0]
    eu, year, decimal = vocabulary.token_to_id("eu"), vocabulary.token_to_id("0000"), vocabulary.token_to_id("0.0")
    assert words.tolist() == [eu, eu, eu, year, year, year, decimal, decimal]
    assert min(eu, year, decimal) > 3


def test_unicode_lowercasing():
    built = TagFeaturizer.build([["ÉTAT", "Ça"]])
    vocabulary = built.word_vocabulary
    assert {"état", "ça"} <= set(vocabulary.tokens)
    expected = [vocabulary.token_to_id("état")] * 2 + [vocabulary.token_to_id("ça")]
    assert built.encode([["état", "ÉTAT", "ÇA"]])["words"][0].tolist() == expected
    assert min(expected) > 3


def test_normalisation_options_off():
    built = TagFeaturizer.build(TRAIN, lowercase=False, normalize_digits=False)
    vocabulary = built.word_vocabulary
    assert {"EU", "1996", "3.5", "The"} <= set(vocabulary.tokens)
    assert "eu" not in vocabulary and "0000" not in vocabulary
    words = built.encode([["EU", "eu", "1996", "2001"]])["words"][0]
    assert words.tolist() == [vocabulary.token_to_id("EU"), 1, vocabulary.token_to_id("1996"), 1]

    digits_only = TagFeaturizer.build(TRAIN, lowercase=False)
    words = digits_only.encode([["EU", "eu", "1996", "2001"]])["words"][0]
    assert words[0] == digits_only.word_vocabulary.token_to_id("EU") > 3
    assert words[1] == 1
    assert words[2] == words[3] == digits_only.word_vocabulary.token_to_id("0000") > 3


def test_casing_ignores_normalisation(featurizer):
    # Casing is read from the raw token, so lowercasing the words loses nothing.
    raw = TagFeaturizer.build(TRAIN, lowercase=False, normalize_digits=False)
    tokens = ["EU", "Germany", "1996", "McDonald", "."]
    assert featurizer.encode([tokens])["casing"].tolist() == raw.encode([tokens])["casing"].tolist()


def test_chars_are_raw_and_cut_to_max_word_length():
    built = TagFeaturizer.build(TRAIN, max_word_length=4)
    chars = built.char_vocabulary
    features = built.encode([["European", "EU", "."]])
    assert features["chars"].shape == (1, 3, 4)
    assert features["chars"][0, 0].tolist() == chars.encode(list("Euro"))
    assert features["chars"][0, 1].tolist() == chars.encode(["E", "U"]) + [0, 0]
    assert features["chars"][0, 2].tolist() == [chars.token_to_id("."), 0, 0, 0]
    # Characters keep their case (and digits), unlike words.
    assert chars.token_to_id("E") != chars.token_to_id("e")
    assert "9" in chars and "E" in chars


def test_unknown_words_and_chars_map_to_one(featurizer):
    features = featurizer.encode([["Zürich", "xyz"]])
    assert features["words"][0].tolist() == [1, 1]
    char_ids = features["chars"][0, 0, :6].tolist()
    vocabulary = featurizer.char_vocabulary
    assert char_ids == [1, 1, vocabulary.token_to_id("r"), vocabulary.token_to_id("i"), vocabulary.token_to_id("c"), vocabulary.token_to_id("h")]
    assert "Z" not in vocabulary and "ü" not in vocabulary
    assert min(char_ids[2:]) > 3


def test_padding_is_zero_in_all_three_arrays(featurizer):
    features = featurizer.encode([["EU", "rejects", "German", "call"], ["Peter"], ["zzz", "."]])
    assert features["words"].shape == features["casing"].shape == (3, 4)
    assert features["chars"].shape == (3, 4, featurizer.max_word_length)
    lengths = [4, 1, 2]
    for row, length in enumerate(lengths):
        assert (features["words"][row, :length] > 0).all()
        assert (features["casing"][row, :length] > 0).all()
        assert (features["chars"][row, :length, 0] > 0).all()
        assert (features["words"][row, length:] == 0).all()
        assert (features["casing"][row, length:] == 0).all()
        assert (features["chars"][row, length:] == 0).all()
    # Inside a token, chars past its end are 0 too.
    assert (features["chars"][0, 0, 2:] == 0).all()


def test_ragged_and_dense_inputs_give_identical_features(featurizer):
    sentences = [["EU", "rejects", "German", "call"], ["Peter"], ["1996", "ÉTAT", "McDonald"]]
    ragged = featurizer.features(tf.ragged.constant(sentences, dtype=tf.string))
    width = max(map(len, sentences))
    dense = featurizer.features(tf.constant([row + [""] * (width - len(row)) for row in sentences]))
    encoded = featurizer.encode(sentences)
    for key in ("words", "chars", "casing"):
        assert ragged[key].dtype == dense[key].dtype == tf.int32
        np.testing.assert_array_equal(ragged[key].numpy(), dense[key].numpy())
        np.testing.assert_array_equal(ragged[key].numpy(), encoded[key])


def test_features_inside_a_tf_function(featurizer):
    sentences = [["EU", "rejects", ""], ["Peter", "", ""]]
    graph = tf.function(featurizer.features, input_signature=[tf.TensorSpec([None, None], tf.string)])
    eager = featurizer.encode([["EU", "rejects"], ["Peter"]])
    result = graph(tf.constant(sentences))
    for key in eager:
        np.testing.assert_array_equal(result[key].numpy(), eager[key])


def test_encode_in_small_batches_pads_consistently(featurizer):
    sentences = [["EU"], ["Peter", "Blackburn"], ["The", "European", "Commission", "said", "on"], ["."], ["a", "b", "c"]]
    whole = featurizer.encode(sentences)
    chunked = featurizer.encode(sentences, batch_size=2)
    assert whole["words"].shape == chunked["words"].shape == (5, 5)
    for key in whole:
        np.testing.assert_array_equal(chunked[key], whole[key])
    # Rows come back in order and padded with 0.
    assert chunked["words"][0, 1:].tolist() == [0, 0, 0, 0]
    assert chunked["words"][0, 0] == featurizer.word_vocabulary.token_to_id("eu")


def test_encode_of_empty_sentences(featurizer):
    features = featurizer.encode([[], ["EU"]], batch_size=1)
    assert features["words"].tolist() == [[0], [featurizer.word_vocabulary.token_to_id("eu")]]
    assert features["chars"].shape == (2, 1, featurizer.max_word_length)
    with pytest.raises(ValueError, match="at least one sentence"):
        featurizer.encode([])


def test_config_round_trip_gives_identical_features(featurizer):
    config = featurizer.get_config()
    assert config["format"] == "seqkit.TagFeaturizer"
    clone = TagFeaturizer.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    sentences = [["EU", "rejects", "Zürich"], ["1996", "."]]
    for key, value in featurizer.encode(sentences).items():
        np.testing.assert_array_equal(clone.encode(sentences)[key], value)


def test_save_and_load_round_trip(tmp_path):
    original = TagFeaturizer.build(TRAIN + [["Ça", "ÉTAT", "日本"]], lowercase=False, normalize_digits=False, max_word_length=5)
    path = tmp_path / "sub" / "featurizer.json"
    original.save(path)
    loaded = TagFeaturizer.load(path)
    assert (loaded.lowercase, loaded.normalize_digits, loaded.max_word_length) == (False, False, 5)
    assert loaded.word_vocabulary == original.word_vocabulary
    assert loaded.char_vocabulary == original.char_vocabulary
    sentences = [["Ça", "ÉTAT", "1996", "European", "日本"], ["EU"]]
    for key, value in original.encode(sentences).items():
        np.testing.assert_array_equal(loaded.encode(sentences)[key], value)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "not a seqkit tag featurizer"),
        ('{"format": "seqkit.Vocabulary", "tokens": []}', "not a seqkit tag featurizer"),
    ],
)
def test_load_of_a_bad_file_names_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        TagFeaturizer.load(path)
    assert isinstance(info.value, DataError)
    assert str(path) in str(info.value)


def test_load_of_a_missing_file_names_the_file(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(DataError, match="not found") as info:
        TagFeaturizer.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe{}",
        b'{"format": "seqkit.TagFeaturizer", "version": 1}',
        b'{"format": "seqkit.TagFeaturizer", "version": 1, "lowercase": true, "normalize_digits": true, '
        b'"max_word_length": 20, "word_vocabulary": ["a"], "char_vocabulary": ["b"]}',
    ],
    ids=["not-utf8", "missing-keys", "bad-vocabulary"],
)
def test_load_of_a_corrupt_featurizer_file_names_the_file(tmp_path, content):
    path = tmp_path / "corrupt.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        TagFeaturizer.load(path)
    assert str(path) in str(info.value)


def test_build_is_deterministic_and_orders_by_frequency():
    forward = TagFeaturizer.build(TRAIN)
    backward = TagFeaturizer.build([list(reversed(row)) for row in reversed(TRAIN)])
    assert forward.word_vocabulary == backward.word_vocabulary
    assert forward.char_vocabulary == backward.char_vocabulary
    tokens = forward.word_vocabulary.tokens
    # "." (3 times) then "eu", "said", "the" (twice each, alphabetical), then the singletons alphabetically.
    assert tokens[4:8] == [".", "eu", "said", "the"]
    assert tokens[8:] == sorted(tokens[8:])
    assert forward.word_vocabulary.counts["the"] == 2


def test_build_options():
    frequent = TagFeaturizer.build(TRAIN, min_word_freq=2)
    assert frequent.word_vocabulary.tokens[4:] == [".", "eu", "said", "the"]
    small = TagFeaturizer.build(TRAIN, max_words=6)
    assert small.word_vocabulary.tokens[4:] == [".", "eu"]
    chars = TagFeaturizer.build(TRAIN, min_char_freq=5)
    assert all(chars.char_vocabulary.counts[c] >= 5 for c in chars.char_vocabulary.tokens[4:])
    assert "B" not in chars.char_vocabulary and "e" in chars.char_vocabulary


def test_build_handles_more_than_one_chunk():
    sentences = [[f"w{index}", "x"] for index in range(5000)]
    built = TagFeaturizer.build(sentences)
    # Counts add up across the 4096-sentence chunks; w10..w99 all normalise to "w00", etc.
    assert built.word_vocabulary.tokens[4:] == ["x", "w0000", "w000", "w00", "w0"]
    assert built.word_vocabulary.counts == {"x": 5000, "w0000": 4000, "w000": 900, "w00": 90, "w0": 10}


@pytest.mark.parametrize("bad", [0, -1, 2.5, None])
def test_max_word_length_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="max_word_length"):
        TagFeaturizer(Vocabulary.build([]), Vocabulary.build([]), max_word_length=bad)
