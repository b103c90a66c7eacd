"""Readers: the real MR and IMDB files, and malformed inputs that must fail clearly."""

import io
import re
import tarfile

import pytest

from seqkit.data import DataError, readers


@pytest.fixture(scope="module")
def mr(shared_data):
    return readers.read_mr(shared_data / "mr-rt-polarity")


@pytest.fixture(scope="module")
def imdb(shared_data):
    # Streams the 28 MB tarball once for the whole module (a few seconds).
    return readers.read_imdb_archive(shared_data / "imdb-aclImdb" / "aclImdb_train_test.tar.gz")


# === Real data ===


def test_mr_has_10662_sentences_balanced(mr):
    texts, labels = mr
    assert len(texts) == len(labels) == 10_662
    assert labels.count("pos") == labels.count("neg") == 5_331
    assert labels[:5_331] == ["neg"] * 5_331  # Negatives first.


def test_mr_is_decoded_as_latin1(mr):
    texts, _ = mr
    assert any("é" in text for text in texts)
    assert not any("\ufffd" in text or "Ã©" in text for text in texts)
    assert all(text and text == text.strip() for text in texts)


def test_mr_read_as_utf8_fails_with_a_hint(shared_data):
    with pytest.raises(DataError, match=r"rt-polarity\.neg, line \d+: .*--encoding"):
        readers.read_mr(shared_data / "mr-rt-polarity", encoding="utf-8")


def test_imdb_archive_has_25000_train_and_test_reviews(imdb):
    assert sorted(imdb) == ["test", "train"]
    for texts, labels in imdb.values():
        assert len(texts) == len(labels) == 25_000
        assert labels.count("pos") == labels.count("neg") == 12_500
        assert all(text.strip() for text in texts)


def test_imdb_reviews_keep_their_html_and_order(imdb):
    texts, labels = imdb["train"]
    # Sorted by member name: train/neg/* then train/pos/*; train/pos/0_9.txt is the first positive.
    first_positive = labels.index("pos")
    assert first_positive == 12_500
    assert texts[first_positive].startswith("Bromwell High is a cartoon comedy.")
    assert sum("<br />" in text for text in texts) > 10_000


def test_imdb_archive_can_read_one_split(tmp_path):
    path = tmp_path / "mini.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in [
            ("aclImdb/train/pos/0_9.txt", "Great."),
            ("aclImdb/train/neg/0_1.txt", "Awful."),
            ("aclImdb/train/unsup/0_0.txt", "Unlabelled."),
            ("aclImdb/test/pos/0_8.txt", "Fine."),
            ("aclImdb/README", "readme"),
        ]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert readers.read_imdb_archive(path, splits=("train",)) == {"train": (["Awful.", "Great."], ["neg", "pos"])}
    with pytest.raises(DataError, match="no labelled reviews for split 'valid'"):
        readers.read_imdb_archive(path, splits=("valid",))


def test_imdb_archive_that_is_not_a_tar_is_a_data_error(tmp_path):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"not a tarball")
    with pytest.raises(DataError, match=re.escape(str(path))):
        readers.read_imdb_archive(path)


# === Tables ===


@pytest.mark.parametrize(
    "filename, content",
    [
        ("reviews.csv", 'id,review,sentiment\n1,"Great, really",pos\n2,Awful,neg\n'),
        ("reviews.tsv", 'id\treview\tsentiment\n1\tGreat, really\tpos\n2\tAwful\tneg\n'),
        ("reviews.TSV", 'id\treview\tsentiment\n1\tGreat, really\tpos\n2\tAwful\tneg\n'),
    ],
)
def test_read_table_picks_the_separator_from_the_extension(tmp_path, filename, content):
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    texts, labels = readers.read_table(path, text_column="review", label_column="sentiment")
    assert texts == ["Great, really", "Awful"]
    assert labels == ["pos", "neg"]


def test_read_table_keeps_quotes_in_tsv_and_labels_as_strings(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text('text\tlabel\nhe said "hi\t1\nNA\t0\n', encoding="utf-8")
    assert readers.read_table(path, "text", "label") == (['he said "hi', "NA"], ["1", "0"])


def test_read_table_without_label_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text\nfirst\nsecond\n", encoding="utf-8")
    assert readers.read_table(path, "text") == (["first", "second"], None)


def test_read_table_separator_can_be_overridden(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("text;label\na,b;x\n", encoding="utf-8")
    assert readers.read_table(path, "text", "label", separator=";") == (["a,b"], ["x"])


@pytest.mark.parametrize("role, arguments", [("text", {"text_column": "body"}), ("label", {"label_column": "class"})])
def test_wrong_column_names_the_file_column_and_available_columns(tmp_path, role, arguments):
    path = tmp_path / "data.csv"
    path.write_text("text,label\nhello,pos\n", encoding="utf-8")
    arguments = {"text_column": "text", **arguments}
    missing = arguments.get("label_column") or arguments["text_column"]
    with pytest.raises(DataError) as error:
        readers.read_table(path, **arguments)
    message = str(error.value)
    assert str(path) in message
    assert repr(missing) in message
    assert "['text', 'label']" in message
    assert f"--{role}-column" in message


@pytest.mark.parametrize(
    "filename, content",
    [("data.csv", 'text,label\nfine,pos\n"",neg\n'), ("data.tsv", "text\tlabel\nfine\tpos\n  \tneg\n")],
)
def test_empty_text_names_the_file_and_row(tmp_path, filename, content):
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}, data row 2 (line 3 with the header): empty text")):
        readers.read_table(path, "text", "label")


def test_empty_text_is_kept_with_allow_empty(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('text,label\nfine,pos\n"",neg\n', encoding="utf-8")
    assert readers.read_table(path, "text", "label", allow_empty=True) == (["fine", ""], ["pos", "neg"])


def test_empty_label_names_the_file_and_row(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\nfine,pos\nno label,\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}, data row 2 (line 3 with the header): empty label")):
        readers.read_table(path, "text", "label")


def test_inconsistent_column_counts_are_a_data_error(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,label\nfine,pos\ntoo,many,fields\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(str(path)) + ".*malformed CSV"):
        readers.read_table(path, "text", "label")


def test_empty_table_file_is_a_data_error(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        readers.read_table(path, "text")


def test_header_without_rows_is_a_data_error_naming_the_columns(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("text\tlabel\n", encoding="utf-8")
    with pytest.raises(DataError, match=re.escape(f"{path}: no data rows, only the header ['text', 'label']")):
        readers.read_table(path, "text", "label")


@pytest.fixture
def latin1_csv(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\nok,pos\ncafé crème,neg\n".encode("latin-1"))
    return path


def test_undecodable_bytes_name_the_file_line_and_encoding_option(latin1_csv):
    with pytest.raises(DataError) as error:
        readers.read_table(latin1_csv, "text", "label")
    message = str(error.value)
    assert f"{latin1_csv}, line 3" in message
    assert "b'\\xe9'" in message
    assert "--encoding" in message


def test_the_same_file_reads_with_its_encoding(latin1_csv):
    texts, labels = readers.read_table(latin1_csv, "text", "label", encoding="latin-1")
    assert (texts, labels) == (["ok", "café crème"], ["pos", "neg"])


def test_utf8_csv_with_a_byte_order_mark_finds_its_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,label\nnaïve,pos\n".encode("utf-8-sig"))
    assert readers.read_table(path, "text", "label") == (["naïve"], ["pos"])


def test_unknown_encoding_is_a_data_error(latin1_csv):
    with pytest.raises(DataError, match="Unknown encoding 'no-such-codec'"):
        readers.read_table(latin1_csv, "text", encoding="no-such-codec")


@pytest.mark.parametrize(
    "reader",
    [
        lambda path: readers.read_table(path, "text"),
        readers.read_lines,
        lambda path: list(readers.iter_lines(path)),
        readers.read_imdb_archive,
        lambda path: readers.read_mr(path.parent),
    ],
    ids=["read_table", "read_lines", "iter_lines", "read_imdb_archive", "read_mr"],
)
def test_missing_file_is_a_data_error_naming_it(tmp_path, reader):
    path = tmp_path / "nowhere" / "missing.csv"
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nowhere"))):
        reader(path)


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match="directory"):
        readers.read_lines(tmp_path)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# === Lines ===


def test_read_lines_skips_blank_lines_and_strips_line_endings(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"first\r\n\r\n   \nsecond  \n\nthird")
    assert readers.read_lines(path) == ["first", "second  ", "third"]
    assert readers.read_lines(path, skip_empty=False) == ["first", "", "   ", "second  ", "", "third"]


def test_iter_lines_reports_line_numbers(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("first\n\nthird\n\n\nsixth\n", encoding="utf-8")
    assert list(readers.iter_lines(path)) == [(1, "first"), (3, "third"), (6, "sixth")]


def test_iter_lines_decode_error_names_the_line(tmp_path):
    path = tmp_path / "notes.txt"
    # Put the bad byte far from the start, past the decoder's first buffer.
    path.write_bytes(b"ascii line\n" * 20_000 + "café\n".encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{path}, line 20001:") + ".*--encoding"):
        list(readers.iter_lines(path))
    assert readers.read_lines(path, encoding="latin-1")[-1] == "café"


def test_iter_lines_keeps_unicode_line_separators_inside_lines(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("a\x85b\u2028c\nd\n".encode("utf-8"))
    assert readers.read_lines(path) == ["a\x85b\u2028c", "d"]


# === Class folders ===


@pytest.fixture
def class_folders(tmp_path):
    for label, names in {"neg": ["b.txt", "a.txt"], "pos": ["c.txt"], "unsup": ["d.txt"]}.items():
        (tmp_path / label).mkdir()
        for name in names:
            (tmp_path / label / name).write_text(f"{label} {name} é", encoding="utf-8")
    (tmp_path / "pos" / "notes.md").write_text("not a review", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_read_class_folders_reads_every_class_in_sorted_order(class_folders):
    texts, labels = readers.read_class_folders(class_folders)
    assert labels == ["neg", "neg", "pos", "unsup"]
    assert texts == ["neg a.txt é", "neg b.txt é", "pos c.txt é", "unsup d.txt é"]


def test_read_class_folders_with_chosen_classes(class_folders):
    assert readers.read_class_folders(class_folders, classes=["pos", "neg"])[1] == ["pos", "neg", "neg"]


def test_read_class_folders_errors(class_folders):
    with pytest.raises(DataError, match="no class folder 'neutral'"):
        readers.read_class_folders(class_folders, classes=["neutral"])
    with pytest.raises(DataError, match="Folder not found"):
        readers.read_class_folders(class_folders / "missing")
    with pytest.raises(DataError, match="no class sub-folders"):
        readers.read_class_folders(class_folders / "empty")
