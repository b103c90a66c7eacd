"""Readers for labelled and unlabelled text: CSV/TSV, plain lines, class folders, MR.

Every reader returns plain Python lists and raises `DataError` (a `ValueError`)
that names the file, the line or row, and the offending value.
"""

import csv
import io
import os
import tarfile
from pathlib import Path

from seqkit.data.errors import DataError


def _existing_file(path):
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise DataError(f"File not found: {path}")
    if not path.is_file():
        raise DataError(f"Expected a file, found a directory: {path}")
    return path


def _decode_error(path, error, encoding):
    """A DataError for undecodable bytes, naming the line and the bytes."""
    line = _line_of_offset(path, error.start) if path is not None else None
    where = f"{path}, line {line}" if line else str(path)
    bad = error.object[error.start : error.end]
    return DataError(
        f"{where}: cannot decode byte(s) {bad!r} with encoding {encoding!r}. "
        "Pass the file's encoding, e.g. --encoding latin-1 (or encoding='latin-1')."
    )


def _line_of_offset(path, offset):
    # Counts newlines before a byte offset without reading the whole file at once.
    line, seen = 1, 0
    with open(path, "rb") as file:
        while seen < offset:
            chunk = file.read(min(1 << 20, offset - seen))
            if not chunk:
                break
            line += chunk.count(b"\n")
            seen += len(chunk)
    return line


def _read_text(path, encoding):
    path = _existing_file(path)
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise _decode_error(path, error, encoding) from None
    except LookupError:
        raise DataError(f"Unknown encoding {encoding!r} for {path}.") from None


def read_text(path, encoding="utf-8"):
    """Reads a whole text file, e.g. a language-modelling corpus, as one string.

    Undecodable bytes are a `DataError` naming the line and the bytes.

    Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "poem.txt"
    >>> _ = path.write_text("To be,\\nor not.\\n")
    >>> read_text(path)
    'To be,\\nor not.\\n'
    """
    return _read_text(path, encoding)


def iter_lines(path, encoding="utf-8", skip_empty=True):
    """Streams `(line_number, text)` pairs from a text file, without line endings.

    Lines are read one at a time, so a corpus larger than memory is fine.
    """
    path = _existing_file(path)
    try:
        with open(path, encoding=encoding, newline="") as file:
            for number, line in enumerate(file, start=1):
                line = line.rstrip("\r\n")
                if skip_empty and not line.strip():
                    continue
                yield number, line
    except UnicodeDecodeError as error:
        # `error.start` is relative to the decoder's buffer; re-decode to find the line.
        try:
            path.read_bytes().decode(encoding)
        except UnicodeDecodeError as whole_file_error:
            raise _decode_error(path, whole_file_error, encoding) from None
        raise DataError(f"{path}: cannot decode with encoding {encoding!r}: {error}") from None
    except LookupError:
        raise DataError(f"Unknown encoding {encoding!r} for {path}.") from None


def read_lines(path, encoding="utf-8", skip_empty=True):
    """Reads a plain-text file into a list of lines (empty lines skipped by default).

    Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = path.write_text("first\\n\\nsecond\\n")
    >>> read_lines(path)
    ['first', 'second']
    """
    return [line for _, line in iter_lines(path, encoding=encoding, skip_empty=skip_empty)]


def read_pairs(path, encoding="utf-8", separator="\t", reverse=False):
    """Reads parallel sentence pairs, one `source<TAB>target` pair per line (Anki's layout).

    Columns after the second (Anki's newer exports add an attribution) are
    ignored; empty lines are skipped. A line with fewer than two columns, or an
    empty side, is a `DataError` naming the file, the line and its text.

    Args:
        path: the file.
        encoding: its text encoding.
        separator: the column separator.
        reverse: swap the sides (translate the other direction).

    Returns:
        `(sources, targets)`, two lists of strings.

    Examples:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> _ = path.write_text("Go.\\tVe.\\nHi.\\tHola.\\tCC-BY 2.0\\n")
    >>> read_pairs(path, reverse=True)
    (['Ve.', 'Hola.'], ['Go.', 'Hi.'])
    """
    sources, targets = [], []
    for number, line in iter_lines(path, encoding=encoding):
        columns = line.split(separator)
        if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
            raise DataError(
                f"{path}, line {number}: expected 'source{separator!r}target' with two non-empty sides. "
                f"Received: {line[:200]!r}"
            )
        sources.append(columns[0].strip())
        targets.append(columns[1].strip())
    if not sources:
        raise DataError(f"{path}: no sentence pairs found.")
    return (targets, sources) if reverse else (sources, targets)


def read_table(path, text_column, label_column=None, encoding="utf-8", separator=None, allow_empty=False):
    """Reads a CSV or TSV file with pandas into `(texts, labels)`.

    Args:
        path: a `.csv`, `.tsv` or `.txt` file. The separator follows the extension
            (tab for `.tsv`/`.tab`, comma otherwise) unless `separator` is given.
        text_column: the column holding the text.
        label_column: the column holding the label; `None` returns `labels=None`.
        encoding: the file's text encoding.
        separator: overrides the separator chosen from the extension.
        allow_empty: keep rows whose text is empty instead of raising.

    Returns:
        `(texts, labels)`: lists of strings (labels are read as strings, so "1"
        and "pos" are both label names).
    """
    import pandas as pd

    path = _existing_file(path)
    if separator is None:
        separator = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    text = _read_text(path, encoding)
    if not text.strip():
        raise DataError(f"{path}: the file is empty.")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE if separator == "\t" else csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as error:
        raise DataError(f"{path}: malformed {'TSV' if separator == chr(9) else 'CSV'}: {error}") from None
    columns = [str(column) for column in frame.columns]
    for role, column in (("text", text_column), ("label", label_column)):
        if column is not None and column not in columns:
            raise DataError(
                f"{path}: no {role} column {column!r}. Available columns: {columns}. "
                f"Choose one with --{role}-column."
            )
    if frame.empty:
        raise DataError(f"{path}: no data rows, only the header {columns}.")
    texts = frame[text_column].tolist()
    labels = frame[label_column].tolist() if label_column is not None else None
    for row, value in enumerate(texts, start=1):
        if not allow_empty and not value.strip():
            raise DataError(
                f"{path}, data row {row} (line {row + 1} with the header): empty text in column "
                f"{text_column!r}. Received: {value!r}"
            )
    if labels is not None:
        for row, value in enumerate(labels, start=1):
            if not value.strip():
                raise DataError(
                    f"{path}, data row {row} (line {row + 1} with the header): empty label in column "
                    f"{label_column!r}."
                )
        labels = [label.strip() for label in labels]
    return texts, labels


def read_class_folders(root, classes=None, encoding="utf-8", pattern="*.txt"):
    """Reads a folder with one sub-folder per class (IMDB's layout) into `(texts, labels)`.

    Args:
        root: the folder holding the class sub-folders, e.g. `aclImdb/train`.
        classes: the sub-folders to read; by default every sub-folder that holds
            files matching `pattern`, in sorted order.
        encoding: the files' text encoding.
        pattern: the glob pattern of the text files.
    """
    root = Path(os.fspath(root)).expanduser()
    if not root.is_dir():
        raise DataError(f"Folder not found: {root}")
    if classes is None:
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob(pattern)))
    if not classes:
        raise DataError(f"{root}: no class sub-folders with {pattern} files.")
    texts, labels = [], []
    for label in classes:
        folder = root / label
        if not folder.is_dir():
            raise DataError(f"{root}: no class folder {label!r}.")
        for file in sorted(folder.glob(pattern)):
            texts.append(_read_text(file, encoding))
            labels.append(label)
    return texts, labels


def read_mr(directory, encoding="latin-1"):
    """Reads MR (rt-polarity v1.0): `rt-polarity.pos` and `.neg`, Latin-1, one sentence a line.

    Returns `(texts, labels)` with labels "pos" and "neg", negatives first.
    """
    directory = Path(os.fspath(directory)).expanduser()
    texts, labels = [], []
    for label in ("neg", "pos"):
        for _, line in iter_lines(directory / f"rt-polarity.{label}", encoding=encoding):
            texts.append(line.strip())
            labels.append(label)
    return texts, labels


def read_imdb_archive(path, splits=("train", "test")):
    """Reads the labelled IMDB reviews straight from an `aclImdb` tar(.gz) archive.

    Streams the archive once, without extracting 50,000 files to disk, and skips
    the unlabelled `unsup` folder of the original archive.

    Returns:
        A dict `{split: (texts, labels)}` with labels "neg"/"pos", sorted by file name.
    """
    path = _existing_file(path)
    found = {split: [] for split in splits}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                parts = member.name.split("/")
                if not member.isfile() or len(parts) < 4 or not parts[-1].endswith(".txt"):
                    continue
                split, label = parts[-3], parts[-2]
                if split in found and label in ("neg", "pos"):
                    data = archive.extractfile(member).read()
                    try:
                        text = data.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise DataError(f"{path}: member {member.name} is not UTF-8 ({error}).") from None
                    found[split].append((member.name, text, label))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{path}: not a readable tar archive ({error}).") from None
    result = {}
    for split, rows in found.items():
        if not rows:
            raise DataError(f"{path}: no labelled reviews for split {split!r}.")
        rows.sort()
        result[split] = ([text for _, text, _ in rows], [label for _, _, label in rows])
    return result
