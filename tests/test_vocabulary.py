"""Vocabulary: deterministic ids, size limits, lossless JSON files, and the Keras lookup layer."""

import json
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqkit.data import DataError, SPECIAL_TOKENS, Vocabulary, WordTokenizer, readers

CORPUS = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["the", "dog", "sat"],
    ["a", "cat", "and", "a", "dog"],
]


def test_special_tokens_take_the_first_four_ids():
    vocabulary = Vocabulary.build(CORPUS)
    assert SPECIAL_TOKENS == ("<pad>", "<unk>", "<bos>", "<eos>")
    assert vocabulary.tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (vocabulary.pad_id, vocabulary.unk_id, vocabulary.bos_id, vocabulary.eos_id) == (0, 1, 2, 3)


def test_tokens_are_ranked_by_frequency_then_alphabetically():
    vocabulary = Vocabulary.build(CORPUS)
    # the: 3; a, cat, dog, sat: 2 each; and, mat, on: 1 each.
    assert vocabulary.tokens[4:] == ["the", "a", "cat", "dog", "sat", "and", "mat", "on"]
    assert vocabulary.counts == {"the": 3, "a": 2, "cat": 2, "dog": 2, "sat": 2, "and": 1, "mat": 1, "on": 1}


def test_ties_are_broken_by_code_point_order():
    vocabulary = Vocabulary.build([["b", "é", "B", "a", "Z", "!"]])
    assert vocabulary.tokens[4:] == ["!", "B", "Z", "a", "b", "é"]


def test_special_tokens_in_the_corpus_are_not_duplicated():
    vocabulary = Vocabulary.build([["<unk>", "<pad>", "word", "<eos>"]])
    assert vocabulary.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "word"]


def test_ids_do_not_depend_on_corpus_order():
    reference = Vocabulary.build(CORPUS)
    rng = random.Random(0)
    for _ in range(5):
        shuffled = [rng.sample(tokens, len(tokens)) for tokens in rng.sample(CORPUS, len(CORPUS))]
        assert Vocabulary.build(shuffled).tokens == reference.tokens


def test_build_streams_a_generator_once():
    generator = (tokens for tokens in CORPUS)
    assert Vocabulary.build(generator) == Vocabulary.build(CORPUS)


@pytest.mark.parametrize(
    "min_freq, expected",
    [
        (1, ["the", "a", "cat", "dog", "sat", "and", "mat", "on"]),
        (2, ["the", "a", "cat", "dog", "sat"]),
        (3, ["the"]),
        (4, []),
    ],
)
def test_min_freq_drops_rare_tokens(min_freq, expected):
    assert Vocabulary.build(CORPUS, min_freq=min_freq).tokens[4:] == expected


@pytest.mark.parametrize(
    "max_size, expected",
    [(4, []), (5, ["the"]), (7, ["the", "a", "cat"]), (100, ["the", "a", "cat", "dog", "sat", "and", "mat", "on"])],
)
def test_max_size_counts_the_special_tokens(max_size, expected):
    vocabulary = Vocabulary.build(CORPUS, max_size=max_size)
    assert vocabulary.tokens[4:] == expected
    assert vocabulary.size == len(vocabulary) == 4 + len(expected)


@pytest.mark.parametrize("arguments", [{"min_freq": 0}, {"min_freq": 1.5}, {"max_size": 3}, {"max_size": "10"}])
def test_build_rejects_bad_limits(arguments):
    with pytest.raises(ValueError):
        Vocabulary.build(CORPUS, **arguments)


def test_build_rejects_untokenized_strings():
    with pytest.raises(ValueError, match="tokenize it first"):
        Vocabulary.build(["the cat sat"])


@pytest.mark.parametrize(
    "tokens",
    [
        ["<unk>", "<pad>", "<bos>", "<eos>"],  # Specials out of order.
        ["<pad>", "<unk>", "<bos>", "<eos>", "a", "a"],  # A duplicate.
        ["<pad>", "<unk>", "<bos>", "<eos>", 5],  # Not a string.
    ],
)
def test_constructor_rejects_invalid_token_lists(tokens):
    with pytest.raises(ValueError):
        Vocabulary(tokens)


def test_encode_maps_unknown_tokens_to_unk():
    vocabulary = Vocabulary.build(CORPUS)
    assert vocabulary.encode(["the", "cat", "zebra", "<pad>", "<eos>"]) == [4, 6, 1, 0, 3]
    assert vocabulary.token_to_id("zebra") == 1
    assert "cat" in vocabulary and "zebra" not in vocabulary


def test_decode_inverts_encode():
    vocabulary = Vocabulary.build(CORPUS)
    tokens = ["the", "dog", "sat", "on", "the", "mat"]
    assert vocabulary.decode(vocabulary.encode(tokens)) == tokens
    assert vocabulary.decode(np.array([2, 4, 1, 3, 0])) == ["<bos>", "the", "<unk>", "<eos>", "<pad>"]
    assert vocabulary.decode([2, 4, 1, 3, 0], skip_special=True) == ["the"]


@pytest.mark.parametrize("token_id", [-1, 12, 1000])
def test_decode_rejects_out_of_range_ids(token_id):
    with pytest.raises(ValueError, match=r"\[0, 12\)"):
        Vocabulary.build(CORPUS).decode([token_id])


def test_save_and_load_round_trip_is_lossless(tmp_path):
    extra = ["<b>", "</i>", "café", "日本", "😀", 'a"b', "back\\slash", "tab\there", " ", "\u2028"]
    tokens = list(SPECIAL_TOKENS) + extra
    vocabulary = Vocabulary(tokens)
    path = tmp_path / "nested" / "vocab.json"
    vocabulary.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.tokens == tokens
    assert loaded == vocabulary
    assert loaded.encode(["<b>", "😀", "missing"]) == [4, 8, 1]


def test_saved_file_is_plain_utf8_json(tmp_path):
    path = tmp_path / "vocab.json"
    Vocabulary.build([["café", "<b>"]]).save(path)
    data = json.loads(path.read_bytes().decode("utf-8"))
    assert data["format"] == "seqkit.Vocabulary"
    assert data["tokens"] == ["<pad>", "<unk>", "<bos>", "<eos>", "<b>", "café"]
    assert "café" in path.read_text(encoding="utf-8")  # Written as text, not escaped or pickled.


def test_load_refuses_a_pickle(tmp_path):
    path = tmp_path / "vocab.pkl"
    path.write_bytes(pickle.dumps(Vocabulary.build(CORPUS)))
    with pytest.raises(DataError, match=str(path)):
        Vocabulary.load(path)


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"]}',
        '{"format": "other", "tokens": []}',
        '{"format": "seqkit.Vocabulary"}',
        '{"format": "seqkit.Vocabulary", "tokens": ["a", "b"]}',
        '{"format": "seqkit.Vocabulary", "tokens": 7}',
        "not json at all",
        "",
    ],
)
def test_load_rejects_non_vocabulary_files_naming_the_path(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=str(path)):
        Vocabulary.load(path)


def test_load_of_a_missing_file_names_the_path(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(DataError, match=str(path)):
        Vocabulary.load(path)


@pytest.fixture(scope="module")
def mr_vocabulary_and_tokens(shared_data):
    texts, _ = readers.read_mr(shared_data / "mr-rt-polarity")
    tokenized = WordTokenizer()(texts[:3000])
    return Vocabulary.build(tokenized, min_freq=2), [token for tokens in tokenized for token in tokens]


def test_lookup_layer_gives_the_same_ids_as_encode(mr_vocabulary_and_tokens):
    vocabulary, tokens = mr_vocabulary_and_tokens
    queries = tokens + list(SPECIAL_TOKENS) + ["never-seen-token", "", "Ünïcode"]
    layer_ids = vocabulary.lookup_layer()(np.array(queries, dtype=object)).numpy().tolist()
    assert layer_ids == vocabulary.encode(queries)
    assert 1 in layer_ids  # Rare tokens (min_freq=2) really were looked up as unknown.


def test_inverted_lookup_layer_gives_the_same_tokens_as_decode(mr_vocabulary_and_tokens):
    vocabulary, _ = mr_vocabulary_and_tokens
    ids = list(range(vocabulary.size))
    layer_tokens = vocabulary.lookup_layer(invert=True)(np.array(ids)).numpy().tolist()
    assert [token.decode("utf-8") for token in layer_tokens] == vocabulary.decode(ids)


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("vocab")


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.text(max_size=20), unique=True, max_size=30))
def test_any_unicode_tokens_survive_save_and_load(vocab_dir, words):
    tokens = list(SPECIAL_TOKENS) + [word for word in words if word not in SPECIAL_TOKENS]
    path = vocab_dir / "vocab.json"
    Vocabulary(tokens).save(path)
    assert Vocabulary.load(path).tokens == tokens
