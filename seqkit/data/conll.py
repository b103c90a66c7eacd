"""CoNLL column files: one token a line, columns such as `token POS chunk NER`, blank lines between sentences.

`read_conll` returns plain Python lists and raises `DataError` naming the file,
the line and the offending value; `write_conll` writes predictions back in the
same format, for conlleval or seqeval.

Examples:
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.conll"
>>> _ = path.write_text("-DOCSTART- -X- O O\\n\\nEU NNP I-NP I-ORG\\nrejects VBZ I-VP O\\n\\nPeter NNP I-NP I-PER\\n")
>>> read_conll(path, scheme="iob1")
([['EU', 'rejects'], ['Peter']], [['B-ORG', 'O'], ['B-PER']])
"""

import os
from pathlib import Path

from seqkit.data import readers, tag_schemes
from seqkit.data.errors import DataError
from seqkit.utils import atomic_write_text

DOCSTART = "-DOCSTART-"


def _check_column(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"`{name}` must be an integer column index. Received: {name}={value!r}")


def read_conll(
    path,
    token_column=0,
    tag_column=-1,
    encoding="utf-8",
    scheme=None,
    target_scheme="bio",
    separator=None,
    return_lines=False,
    return_documents=False,
):
    """Reads a CoNLL column file into `(sentences, tags)`: lists of token lists and tag lists.

    Sentences are separated by empty or whitespace-only lines. `-DOCSTART-`
    lines are skipped and also end a sentence. Several breaks in a row (or a
    DOCSTART line next to a blank line) yield no empty sentence: an empty
    sentence is never returned.

    Args:
        path: the file.
        token_column: the column of the tokens (0-based; negative counts from the end).
        tag_column: the column of the tags, by default the last one. `None` reads an
            unlabelled file and returns `tags=None`.
        encoding: the file's text encoding.
        scheme: the file's tag scheme: "iob1", "bio" (alias "iob2"), "bioes", or `None`
            to return the tags exactly as written, unchecked. When given, every
            sentence is checked (a malformed one is a `DataError` naming the line of
            the bad tag) and converted to `target_scheme`.
        target_scheme: "bio" or "bioes"; used only when `scheme` is given.
        separator: the column separator; by default any run of whitespace. With an
            explicit separator (e.g. "\\t") tokens may hold spaces and cells are stripped.
        return_lines: also return a third list: the line number of each sentence's
            first token, so later checks can name a line.
        return_documents: also return the document number of each sentence (0 for the
            sentences before the second `-DOCSTART-`, then 1, ...), for models that
            read a sentence together with its neighbours (`seqkit.data.documents`).

    Returns:
        `(sentences, tags)`, followed by `lines` with `return_lines=True` and then by
        `documents` with `return_documents=True`.
    """
    _check_column(token_column, "token_column")
    _check_column(tag_column, "tag_column")
    if token_column is None:
        raise ValueError("`token_column` must be an integer column index, not None.")
    if scheme is not None:
        scheme = tag_schemes.scheme_name(scheme)
        target_scheme = tag_schemes.scheme_name(target_scheme)
        if target_scheme == "iob1":
            raise ValueError("`target_scheme` must be 'bio' or 'bioes': IOB1 is an input scheme only.")
    path = Path(os.fspath(path)).expanduser()

    sentences, tags, lines, documents = [], [], [], []
    tokens, labels, first_line = [], [], None
    document = 0  # Bumped by each DOCSTART after the first sentence.
    columns = None  # (count, line number) of the first data row.

    def end_sentence():
        nonlocal tokens, labels, first_line
        if tokens:
            sentences.append(tokens)
            if tag_column is not None:
                tags.append(labels)
            lines.append(first_line)
            documents.append(document)
        tokens, labels, first_line = [], [], None

    for number, line in readers.iter_lines(path, encoding=encoding, skip_empty=False):
        if not line.strip():
            end_sentence()
            continue
        cells = line.split(separator)
        if separator is not None:
            cells = [cell.strip() for cell in cells]
        if cells[0] == DOCSTART or (separator is not None and cells[0].split()[:1] == [DOCSTART]):
            end_sentence()
            if sentences and documents[-1] == document:
                document += 1
            continue
        if columns is None:
            columns = (len(cells), number)
            for name, index in (("token", token_column), ("tag", tag_column)):
                if index is not None and not -len(cells) <= index < len(cells):
                    raise DataError(
                        f"{path}, line {number}: {name} column {index} is out of range; the line has "
                        f"{len(cells)} column(s): {line!r}. Choose {name}_column in "
                        f"[{-len(cells)}, {len(cells) - 1}]."
                    )
        elif len(cells) != columns[0]:
            raise DataError(
                f"{path}, line {number}: expected {columns[0]} columns (as on line {columns[1]}), got "
                f"{len(cells)}: {line!r}"
            )
        token = cells[token_column]
        if not token:
            raise DataError(f"{path}, line {number}: empty token in column {token_column}: {line!r}")
        if first_line is None:
            first_line = number
        tokens.append(token)
        if tag_column is not None:
            label = cells[tag_column]
            if not label:
                raise DataError(f"{path}, line {number}: empty tag in column {tag_column}: {line!r}")
            labels.append(label)
    end_sentence()

    if not sentences:
        raise DataError(f"{path}: no sentences (the file is empty or holds only blank and {DOCSTART} lines).")
    if scheme is not None and tag_column is not None:
        for index, (sentence, sentence_tags) in enumerate(zip(sentences, tags)):
            problems = tag_schemes.errors(sentence_tags, scheme)
            if problems:
                position, tag, reason = problems[0]
                hint = (
                    " If the file is IOB1 (I- on every entity token), read it with scheme='iob1'; "
                    "scheme=None keeps the tags as they are."
                    if scheme == "bio"
                    else ""
                )
                raise DataError(
                    f"{path}, line {lines[index] + position}: malformed {scheme.upper()} tag {tag!r} "
                    f"(token {sentence[position]!r}): {reason}.{hint}"
                )
            tags[index] = tag_schemes.convert(sentence_tags, scheme, target_scheme)
    result = (sentences, tags if tag_column is not None else None)
    return result + ((lines,) if return_lines else ()) + ((documents,) if return_documents else ())


def write_conll(path, sentences, *tag_columns, separator=" ", encoding="utf-8"):
    """Writes tokens and any number of tag columns as a CoNLL file, atomically.

    Each token goes on its own line, followed by its tag in each column; a blank
    line ends each sentence. With `write_conll(path, sentences, gold, predicted)`
    the file is what conlleval reads.

    Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "predictions.conll"
    >>> _ = write_conll(path, [["Peter", "runs"]], [["B-PER", "O"]], [["B-PER", "B-LOC"]])
    >>> print(path.read_text(), end="")
    Peter B-PER B-PER
    runs O B-LOC
    <BLANKLINE>
    """
    sentences = [list(sentence) for sentence in sentences]
    tag_columns = [list(column) for column in tag_columns]
    for column_index, column in enumerate(tag_columns, start=1):
        if len(column) != len(sentences):
            raise ValueError(
                f"Tag column {column_index} has {len(column)} sentences; expected {len(sentences)} "
                "(one per sentence)."
            )
    lines = []
    for index, sentence in enumerate(sentences):
        rows = [sentence] + [list(column[index]) for column in tag_columns]
        for column_index, row in enumerate(rows[1:], start=1):
            if len(row) != len(sentence):
                raise ValueError(
                    f"Sentence {index}: tag column {column_index} has {len(row)} tags for "
                    f"{len(sentence)} tokens."
                )
        for cells in zip(*rows):
            for cell in cells:
                if not isinstance(cell, str) or not cell or "\n" in cell or "\r" in cell:
                    raise ValueError(f"Sentence {index}: cannot write cell {cell!r} (empty, a line break or not a string).")
                if (separator in cell) or (separator == " " and len(cell.split()) != 1):
                    raise ValueError(
                        f"Sentence {index}: cell {cell!r} contains the separator {separator!r} or whitespace; "
                        "write with separator='\\t' and read back with separator='\\t'."
                    )
            lines.append(separator.join(cells))
        lines.append("")
    atomic_write_text(path, "".join(line + "\n" for line in lines), encoding=encoding)
    return Path(os.fspath(path))
