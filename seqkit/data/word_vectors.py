"""Pretrained word vectors (GloVe or word2vec text format) as an embedding matrix for a vocabulary.

Examples:
>>> import tempfile, pathlib
>>> from seqkit.data.vocabulary import Vocabulary
>>> path = pathlib.Path(tempfile.mkdtemp()) / "vectors.txt"
>>> _ = path.write_text("the 0.5 1.0\\ncat -1.0 2.0\\n")
>>> matrix, found = load_word_vectors(path, Vocabulary.build([["The", "cat", "sat"]]))
>>> matrix.shape, found
((7, 2), 2)
>>> matrix[0].tolist(), matrix[4].tolist()  # <pad> and "The" (found as "the").
([0.0, 0.0], [0.5, 1.0])
"""

import os
import warnings
from pathlib import Path

import numpy as np

from seqkit.data.errors import DataError
from seqkit.data.readers import _existing_file
from seqkit.data.vocabulary import SPECIAL_TOKENS


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _lines(path, encoding):
    """Streams `(line_number, text)` from a text file, decoding one line at a time.

    Reading bytes and decoding per line keeps memory flat for multi-GB files and
    names the exact line of undecodable bytes.
    """
    try:
        "".encode(encoding)
    except LookupError:
        raise DataError(f"Unknown encoding {encoding!r} for {path}.") from None
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                yield number, raw.decode(encoding)
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.end]
                raise DataError(
                    f"{path}, line {number}: cannot decode byte(s) {bad!r} with encoding {encoding!r}. "
                    "Pass the file's encoding, e.g. encoding='latin-1' (word2vec binary files are not "
                    "supported; save them in text format)."
                ) from None


def load_word_vectors(path, vocabulary, lowercase_fallback=True, seed=0, encoding="utf-8"):
    """Reads a GloVe or word2vec text file into an embedding matrix for `vocabulary`.

    The file has one `word v1 v2 ... vD` line per word, space-separated; a first
    line of two integers `count dim` (word2vec text format) is read as a header.
    The file is streamed line by line and only the vectors of vocabulary words
    are parsed, so a non-numeric value on a line of an unused word goes unnoticed.
    A word that holds spaces (a few GloVe 840B lines) is read from the right.

    Args:
        path: the vectors file.
        vocabulary: a `Vocabulary`; row `i` of the matrix is token id `i`.
        lowercase_fallback: a word missing from the file takes the vector of its
            lowercase form, when that is in the file ("Paris" -> "paris").
        seed: seeds the random rows of words not in the file.
        encoding: the file's text encoding.

    Returns:
        `(matrix, found)`: a float32 array of shape `(vocabulary.size, dim)` and the
        number of non-special vocabulary tokens found in the file. Row 0 (`<pad>`) is
        zeros; the other special tokens and the words not found get rows drawn from
        a normal distribution with mean 0 and the standard deviation of the found
        vectors. The first occurrence of a word in the file wins.
    """
    path = _existing_file(path)
    tokens = vocabulary.tokens
    # Vocabulary tokens are unique: word -> its row.
    wanted = {token: row for row, token in enumerate(tokens) if token not in SPECIAL_TOKENS}
    lower_wanted = {token.lower() for token in wanted} if lowercase_fallback else set()

    vectors = {}  # word -> parsed vector, for words in `wanted` or `lower_wanted`.
    dim, dim_line, header_count, count = None, None, None, 0
    for number, line in _lines(path, encoding):
        text = line.rstrip()
        if not text:
            continue
        if dim is None and header_count is None:
            fields = text.split()
            if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                header_count, dim, dim_line = int(fields[0]), int(fields[1]), f"the header on line {number}"
                if dim < 1:
                    raise DataError(f"{path}, line {number}: the header gives dimension {dim}; expected >= 1.")
                continue
        if dim is None:
            dim, dim_line = text.count(" "), f"line {number}"
            if dim < 1:
                raise DataError(f"{path}, line {number}: a word with no values: {text[:80]!r}")
        separators = text.count(" ")
        if separators == dim:
            word = text[: text.index(" ")]
        else:
            word = text.rsplit(" ", dim)[0] if separators > dim else None
            # More fields than values: a word with spaces, unless the extra field is a number.
            if word is None or _is_number(word.rsplit(" ", 1)[-1]):
                raise DataError(
                    f"{path}, line {number}: expected {dim} values (the dimension of {dim_line}), got "
                    f"{separators}. The line starts {text[:60]!r}."
                )
        count += 1
        if word in vectors or (word not in wanted and word not in lower_wanted):
            continue
        values = text.rsplit(" ", dim)[1:]
        try:
            vectors[word] = np.array(values, dtype=np.float32)
        except ValueError:
            bad = next(value for value in values if not _is_number(value))
            raise DataError(f"{path}, line {number}: non-numeric value {bad!r} in the vector of {word!r}.") from None

    if dim is None or count == 0:
        raise DataError(f"{path}: no word vectors (the file is empty or holds only a header).")
    if header_count is not None and header_count != count:
        raise DataError(
            f"{path}: the header announces {header_count} vectors but the file holds {count}; "
            "the file may be truncated."
        )

    rows = {}
    for token, row in wanted.items():
        vector = vectors.get(token)
        if vector is None and lowercase_fallback:
            vector = vectors.get(token.lower())
        if vector is not None:
            rows[row] = vector
    found = len(rows)
    if rows:
        found_matrix = np.stack(list(rows.values()))
        scale = float(found_matrix.std())
    else:
        warnings.warn(
            f"No vocabulary word was found in {path}; every row is random. Check the file and the "
            "tokenization (case, encoding).",
            stacklevel=2,
        )
        scale = 1.0 / np.sqrt(dim)
    generator = np.random.default_rng(seed)
    matrix = generator.standard_normal((vocabulary.size, dim), dtype=np.float32) * np.float32(scale)
    for row, vector in rows.items():
        matrix[row] = vector
    matrix[0] = 0.0
    return matrix, found
