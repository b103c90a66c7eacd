"""Pretrained word vectors: tiny GloVe and word2vec files, known rows, random rows, and each error."""

import numpy as np
import pytest

from seqkit.data import DataError, Vocabulary, load_word_vectors

GLOVE = (
    "the 0.1 0.2 0.3\n"
    "cat -1.0 0.5 2.0\n"
    "paris 3.0 -3.0 1.5\n"
    "Paris 9.0 9.0 9.0\n"
    "unused 7 7 7\n"
    "the 5 5 5\n"  # A repeated word: the first vector wins.
)


@pytest.fixture
def vocabulary():
    # Ids: <pad> <unk> <bos> <eos> then the (decreasing frequency, alphabetical) tokens.
    vocabulary = Vocabulary.build([["the", "the", "the", "cat", "cat", "Paris", "The", "London"]])
    assert vocabulary.tokens[4:] == ["the", "cat", "London", "Paris", "The"]
    return vocabulary


def _write(tmp_path, text, name="vectors.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_glove_rows(tmp_path, vocabulary):
    matrix, found = load_word_vectors(_write(tmp_path, GLOVE), vocabulary)
    assert matrix.shape == (9, 3) and matrix.dtype == np.float32
    assert found == 4  # the, cat, Paris (exact), The (as "the"); London is missing.
    np.testing.assert_array_equal(matrix[0], [0, 0, 0])
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("the")], [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("cat")], [-1.0, 0.5, 2.0])
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("Paris")], [9.0, 9.0, 9.0])  # Exact match first.
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("The")], [0.1, 0.2, 0.3], rtol=1e-6)
    london = matrix[vocabulary.token_to_id("London")]
    assert np.all(london != 0) and np.all(np.abs(london) < 20)


def test_without_lowercase_fallback(tmp_path, vocabulary):
    matrix, found = load_word_vectors(_write(tmp_path, GLOVE), vocabulary, lowercase_fallback=False)
    assert found == 3
    assert not np.allclose(matrix[vocabulary.token_to_id("The")], [0.1, 0.2, 0.3])


def test_random_rows_are_seeded_and_scaled_by_the_found_vectors(tmp_path, vocabulary):
    path = _write(tmp_path, GLOVE)
    first, _ = load_word_vectors(path, vocabulary, seed=3)
    again, _ = load_word_vectors(path, vocabulary, seed=3)
    other, _ = load_word_vectors(path, vocabulary, seed=4)
    np.testing.assert_array_equal(first, again)
    random_rows = [1, 2, 3, vocabulary.token_to_id("London")]
    assert not np.allclose(first[random_rows], other[random_rows])
    found_rows = [4, 5, 7, 8]
    np.testing.assert_array_equal(first[found_rows], other[found_rows])
    # Scale: the std of the found vectors, times the seeded standard normal draws.
    found_std = np.std(first[found_rows])
    expected = np.random.default_rng(3).standard_normal((9, 3), dtype=np.float32) * np.float32(found_std)
    np.testing.assert_allclose(first[random_rows], expected[random_rows], rtol=1e-5)


def test_word2vec_text_format_with_header(tmp_path, vocabulary):
    text = "3 2\nthe 1.5 -2.5 \ncat 0 1\nLondon 4e-1 1E1\n"
    matrix, found = load_word_vectors(_write(tmp_path, text), vocabulary)
    assert matrix.shape == (9, 2) and found == 4  # the, cat, London, The (as "the"); not Paris.
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("London")], [0.4, 10.0], rtol=1e-6)
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("cat")], [0.0, 1.0])
    np.testing.assert_array_equal(matrix[0], [0, 0])


def test_word_with_spaces_and_crlf(tmp_path, vocabulary):
    text = "cat 1 2\r\n. . . 3 4\r\n\u00a0 5 6\r\nthe 7 8\r\n"
    matrix, found = load_word_vectors(_write(tmp_path, text), vocabulary)
    assert found == 3
    np.testing.assert_allclose(matrix[vocabulary.token_to_id("the")], [7, 8])


def test_no_word_found_warns_and_keeps_the_shape(tmp_path, vocabulary):
    with pytest.warns(UserWarning, match="No vocabulary word was found"):
        matrix, found = load_word_vectors(_write(tmp_path, "zebra 1 2 3 4\n"), vocabulary)
    assert found == 0 and matrix.shape == (9, 4)
    np.testing.assert_array_equal(matrix[0], np.zeros(4))


# === Errors ===


def test_missing_file(tmp_path, vocabulary):
    with pytest.raises(DataError, match=r"File not found: .*glove\.txt"):
        load_word_vectors(tmp_path / "glove.txt", vocabulary)


def test_inconsistent_dimension(tmp_path, vocabulary):
    path = _write(tmp_path, "the 1 2 3\ncat 1 2\n")
    with pytest.raises(DataError, match=r"vectors\.txt, line 2: expected 3 values \(the dimension of line 1\), got 2"):
        load_word_vectors(path, vocabulary)
    path = _write(tmp_path, "2 3\nthe 1 2 3\ncat 1 2 3 4\n")
    with pytest.raises(DataError, match=r"line 3: expected 3 values \(the dimension of the header on line 1\), got 4"):
        load_word_vectors(path, vocabulary)


def test_non_numeric_value(tmp_path, vocabulary):
    path = _write(tmp_path, "the 1 2 3\n\ncat 1 two 3\n")
    with pytest.raises(DataError, match=r"vectors\.txt, line 3: non-numeric value 'two' in the vector of 'cat'"):
        load_word_vectors(path, vocabulary)


@pytest.mark.parametrize("text", ["", "\n\n", "0 300\n"])
def test_empty_file(tmp_path, vocabulary, text):
    with pytest.raises(DataError, match=r"vectors\.txt: no word vectors"):
        load_word_vectors(_write(tmp_path, text), vocabulary)


def test_a_word_without_values(tmp_path, vocabulary):
    with pytest.raises(DataError, match=r"line 1: a word with no values: 'the'"):
        load_word_vectors(_write(tmp_path, "the\n"), vocabulary)


def test_truncated_word2vec_file(tmp_path, vocabulary):
    with pytest.raises(DataError, match=r"header announces 5 vectors but the file holds 2"):
        load_word_vectors(_write(tmp_path, "5 2\nthe 1 2\ncat 3 4\n"), vocabulary)


def test_undecodable_bytes(tmp_path, vocabulary):
    path = _write(tmp_path, "the 1 2\ncaf\xe9 3 4\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"vectors\.txt, line 2: cannot decode byte\(s\) b'\\xe9'.*encoding='latin-1'"):
        load_word_vectors(path, vocabulary)
    _, found = load_word_vectors(path, vocabulary, encoding="latin-1")
    assert found == 2  # "the" and "The".
