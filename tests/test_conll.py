"""CoNLL column files: tiny files for every layout and error, and the real CoNLL-2003/2002 files."""

import collections

import pytest

from seqkit.data import DataError, datasets, read_conll, write_conll
from seqkit.data.tag_schemes import bio_errors, spans


def _write(tmp_path, text, name="data.conll", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


FOUR_COLUMNS = (
    "-DOCSTART- -X- O O\n"
    "\n"
    "EU NNP I-NP I-ORG\n"
    "rejects VBZ I-VP O\n"
    "German JJ I-NP I-MISC\n"
    "\n"
    "Peter NNP I-NP I-PER\n"
    "Blackburn NNP I-NP I-PER\n"
    "\n"
    "-DOCSTART- -X- O O\n"
    "\n"
    "Rome NNP I-NP I-LOC\n"
    "-DOCSTART- -X- O O"
)


# === Tiny files ===


def test_reads_first_and_last_columns_by_default(tmp_path):
    sentences, tags = read_conll(_write(tmp_path, FOUR_COLUMNS))
    assert sentences == [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["Rome"]]
    assert tags == [["I-ORG", "O", "I-MISC"], ["I-PER", "I-PER"], ["I-LOC"]]  # scheme=None: as written.


def test_any_column_can_be_chosen(tmp_path):
    path = _write(tmp_path, FOUR_COLUMNS)
    _, pos = read_conll(path, tag_column=1)
    assert pos == [["NNP", "VBZ", "JJ"], ["NNP", "NNP"], ["NNP"]]
    chunks, ner = read_conll(path, token_column=2, tag_column=3)
    assert chunks[0] == ["I-NP", "I-VP", "I-NP"] and ner[1] == ["I-PER", "I-PER"]
    sentences, tags = read_conll(path, tag_column=None)
    assert tags is None and sentences[2] == ["Rome"]


def test_iob1_is_converted_to_bio_and_bioes(tmp_path):
    path = _write(tmp_path, FOUR_COLUMNS)
    _, bio = read_conll(path, scheme="iob1")
    assert bio == [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"], ["B-LOC"]]
    _, bioes = read_conll(path, scheme="iob1", target_scheme="bioes")
    assert bioes == [["S-ORG", "O", "S-MISC"], ["B-PER", "E-PER"], ["S-LOC"]]


def test_docstart_and_whitespace_only_lines_break_sentences_without_empty_ones(tmp_path):
    text = "\n \n\t\nA O\nB B-PER\n   \n\n-DOCSTART- O\nC I-PER\n-DOCSTART- O\nD O\n\r\n \t \n"
    sentences, tags, lines = read_conll(_write(tmp_path, text), return_lines=True)
    assert sentences == [["A", "B"], ["C"], ["D"]]
    assert tags == [["O", "B-PER"], ["I-PER"], ["O"]]
    assert lines == [4, 9, 11]


def test_document_numbers_change_at_each_docstart_after_a_sentence(tmp_path):
    # A DOCSTART before any sentence, and two in a row, start no empty document.
    text = "-DOCSTART- O\n\nA O\n\nB O\n-DOCSTART- O\n\n-DOCSTART- O\nC O\n\n-DOCSTART- O\nD O\n\nE O\n"
    sentences, _, lines, documents = read_conll(_write(tmp_path, text), return_lines=True, return_documents=True)
    assert sentences == [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert documents == [0, 0, 1, 2, 2]
    _, _, documents = read_conll(_write(tmp_path, "A O\n\nB O\n"), return_documents=True)
    assert documents == [0, 0]  # No DOCSTART: one document.


def test_crlf_line_endings(tmp_path):
    sentences, tags = read_conll(_write(tmp_path, "A O\r\nB B-LOC\r\n\r\nC O\r\n"), scheme="bio")
    assert sentences == [["A", "B"], ["C"]] and tags == [["O", "B-LOC"], ["O"]]


def test_separator_keeps_spaces_inside_tokens(tmp_path):
    path = _write(tmp_path, "New York\tB-LOC\nis\tO\n\ncity hall \t O\n")
    sentences, tags = read_conll(path, separator="\t")
    assert sentences == [["New York", "is"], ["city hall"]]
    assert tags == [["B-LOC", "O"], ["O"]]


def test_utf8_tokens(tmp_path):
    path = _write(tmp_path, "Málaga B-LOC\nañade O\n")
    assert read_conll(path, scheme="bio") == ([["Málaga", "añade"]], [["B-LOC", "O"]])


def test_line_numbers_of_sentences(tmp_path):
    _, _, lines = read_conll(_write(tmp_path, FOUR_COLUMNS), return_lines=True)
    assert lines == [3, 7, 12]


# === Errors ===


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"File not found: .*nothing\.conll"):
        read_conll(tmp_path / "nothing.conll")


def test_undecodable_bytes_name_the_line_and_hint_at_the_encoding(tmp_path):
    path = _write(tmp_path, "A O\n\nM\xe1laga B-LOC\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"data\.conll, line 3: cannot decode byte\(s\) b'\\xe1'.*encoding='latin-1'"):
        read_conll(path)
    assert read_conll(path, encoding="latin-1")[0][1] == ["Málaga"]


def test_a_row_with_another_column_count(tmp_path):
    path = _write(tmp_path, "A NN O\nB NN O\n\nC O\n")
    with pytest.raises(DataError, match=r"data\.conll, line 4: expected 3 columns \(as on line 1\), got 2: 'C O'"):
        read_conll(path)


def test_a_column_out_of_range(tmp_path):
    path = _write(tmp_path, "-DOCSTART- -X- O O\n\nA NN O\n")
    with pytest.raises(DataError, match=r"data\.conll, line 3: tag column 3 is out of range; the line has 3 column"):
        read_conll(path, tag_column=3)
    with pytest.raises(DataError, match=r"line 3: token column -4 is out of range"):
        read_conll(path, token_column=-4)
    with pytest.raises(ValueError, match="`tag_column` must be an integer"):
        read_conll(path, tag_column="NER")


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- O O\n\n-DOCSTART- -X- O O\n"])
def test_a_file_without_sentences(tmp_path, text):
    with pytest.raises(DataError, match=r"data\.conll: no sentences"):
        read_conll(_write(tmp_path, text))


def test_malformed_bio_names_the_line_of_the_bad_tag(tmp_path):
    path = _write(tmp_path, "A O\nB B-PER\n\nC O\nD O\nE I-LOC\n")
    with pytest.raises(
        DataError,
        match=r"data\.conll, line 6: malformed BIO tag 'I-LOC' \(token 'E'\): I-LOC follows O.*scheme='iob1'",
    ):
        read_conll(path, scheme="bio")
    # Read as IOB1, the stray I- starts an entity, as conlleval counts it.
    assert read_conll(path, scheme="iob1")[1] == [["O", "B-PER"], ["O", "O", "B-LOC"]]
    assert read_conll(path)[1][1] == ["O", "O", "I-LOC"]  # scheme=None: unchecked.


def test_malformed_bioes_and_bad_tag_shapes(tmp_path):
    with pytest.raises(DataError, match=r"line 2: malformed BIOES tag 'B-PER' \(token 'B'\): .*but O follows"):
        read_conll(_write(tmp_path, "A O\nB B-PER\nC O\n"), scheme="bioes")
    with pytest.raises(DataError, match=r"line 3: malformed IOB1 tag 'PER'"):
        read_conll(_write(tmp_path, "A O\n\nB PER\n"), scheme="iob1")


def test_bad_scheme_names(tmp_path):
    path = _write(tmp_path, "A O\n")
    with pytest.raises(ValueError, match="Unknown tag scheme 'bilou'"):
        read_conll(path, scheme="bilou")
    with pytest.raises(ValueError, match="input scheme only"):
        read_conll(path, scheme="bio", target_scheme="iob1")


# === Writing ===


def test_write_then_read_round_trip(tmp_path):
    sentences = [["Peter", "lives", "in", "Málaga"], ["Yes"]]
    gold = [["B-PER", "O", "O", "B-LOC"], ["O"]]
    predicted = [["B-PER", "O", "B-LOC", "I-LOC"], ["O"]]
    path = write_conll(tmp_path / "out" / "predictions.txt", sentences, gold, predicted)
    assert path.read_text(encoding="utf-8").splitlines()[:2] == ["Peter B-PER B-PER", "lives O O"]
    assert read_conll(path, tag_column=1, scheme="bio") == (sentences, gold)
    assert read_conll(path) == (sentences, predicted)
    assert read_conll(path, tag_column=None) == (sentences, None)


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Tag column 1 has 1 sentences; expected 2"):
        write_conll(tmp_path / "x", [["a"], ["b"]], [["O"]])
    with pytest.raises(ValueError, match="Sentence 0: tag column 1 has 1 tags for 2 tokens"):
        write_conll(tmp_path / "x", [["a", "b"]], [["O"]])
    with pytest.raises(ValueError, match="Sentence 0: cell 'New York' contains the separator"):
        write_conll(tmp_path / "x", [["New York"]], [["B-LOC"]])
    with pytest.raises(ValueError, match="Sentence 0: cannot write cell ''"):
        write_conll(tmp_path / "x", [[""]])
    assert not (tmp_path / "x").exists()
    path = write_conll(tmp_path / "tabs.tsv", [["New York"]], [["B-LOC"]], separator="\t")
    assert read_conll(path, separator="\t") == ([["New York"]], [["B-LOC"]])


# === Real files ===


def _entity_counts(tags, scheme="bio"):
    return collections.Counter(type_ for sentence in tags for type_, _, _ in spans(sentence, scheme))


@pytest.fixture(scope="module")
def conll2003(shared_data):
    return datasets.load_conll2003(data_dir=shared_data, download=False)


@pytest.fixture(scope="module")
def conll2002(shared_data):
    return datasets.load_conll2002_es(data_dir=shared_data, download=False)


@pytest.mark.parametrize(
    "split, sentences, tokens, entities",
    [
        ("train", 14_041, 203_621, {"PER": 6_600, "LOC": 7_140, "ORG": 6_321, "MISC": 3_438}),
        ("dev", 3_250, 51_362, {"PER": 1_842, "LOC": 1_837, "ORG": 1_341, "MISC": 922}),
        ("test", 3_453, 46_435, {"PER": 1_617, "LOC": 1_668, "ORG": 1_661, "MISC": 702}),
    ],
)
def test_conll2003_counts(conll2003, split, sentences, tokens, entities):
    words, tags = conll2003[split]
    assert len(words) == len(tags) == sentences
    assert sum(map(len, words)) == tokens
    assert all(len(w) == len(t) for w, t in zip(words, tags))
    assert dict(_entity_counts(tags)) == entities
    assert all(bio_errors(sentence) == [] for sentence in tags)


def test_conll2003_train_has_23499_entities_after_iob1_to_bio(conll2003):
    sentences, tags = conll2003["train"]
    assert sum(_entity_counts(tags).values()) == 23_499
    assert sentences[0] == ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
    assert tags[0] == ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]
    assert not any("-DOCSTART-" in sentence for sentence in sentences)
    assert {tag for sentence in tags for tag in sentence} == {"O"} | {f"{p}-{t}" for p in "BI" for t in
                                                                      ("PER", "LOC", "ORG", "MISC")}


def test_conll2003_raw_iob1_and_line_numbers(shared_data):
    path = shared_data / "conll2003" / "eng.testb"
    sentences, tags, lines = read_conll(path, return_lines=True)
    assert len(sentences) == 3_453 and lines[0] == 1
    raw = path.read_text(encoding="utf-8").splitlines()
    for index in (0, 1, 1_000, 3_452):
        assert raw[lines[index] - 1].split()[0] == sentences[index][0]
        assert raw[lines[index] - 1].split()[-1] == tags[index][0]
    # Read as BIO, the IOB1 file fails on its first stray I- tag, with the file and line.
    with pytest.raises(DataError, match=r"eng\.testb, line 3: malformed BIO tag 'I-LOC' \(token 'JAPAN'\)"):
        read_conll(path, scheme="bio")


@pytest.mark.parametrize("name, documents", [("eng.train", 946), ("eng.testa", 216), ("eng.testb", 231)])
def test_conll2003_documents(shared_data, name, documents):
    """One document per -DOCSTART- line (SOURCE.md's counts), numbered in file order."""
    _, _, numbers = read_conll(shared_data / "conll2003" / name, return_documents=True)
    assert numbers[0] == 0 and numbers[-1] == documents - 1
    assert all(b - a in (0, 1) for a, b in zip(numbers, numbers[1:]))


@pytest.mark.parametrize(
    "split, sentences, tokens, entities",
    [
        ("train", 8_323, 264_715, {"PER": 4_321, "LOC": 4_914, "ORG": 7_390, "MISC": 2_173}),
        ("dev", 1_915, 52_923, {"PER": 1_222, "LOC": 985, "ORG": 1_700, "MISC": 445}),
        ("test", 1_517, 51_533, {"PER": 735, "LOC": 1_084, "ORG": 1_400, "MISC": 340}),
    ],
)
def test_conll2002_spanish_counts(conll2002, split, sentences, tokens, entities):
    words, tags = conll2002[split]
    assert len(words) == len(tags) == sentences
    assert sum(map(len, words)) == tokens
    assert dict(_entity_counts(tags)) == entities


def test_conll2002_spanish_is_valid_bio_and_utf8(shared_data, conll2002):
    folder = shared_data / "conll2002-esp"
    for split, name in (("train", "esp.train"), ("dev", "esp.testa"), ("test", "esp.testb")):
        # The loader checked every sequence as BIO; unchecked, the tags are the same (nothing to repair).
        _, raw = read_conll(folder / name)
        assert raw == conll2002[split][1]
        assert all(bio_errors(sentence) == [] for sentence in raw)
    words, _ = conll2002["train"]
    assert any("ñ" in word for sentence in words for word in sentence)


def test_conll2002_spanish_as_bioes(shared_data):
    bioes = datasets.load_conll2002_es(data_dir=shared_data, download=False, scheme="bioes")
    _, tags = bioes["test"]
    assert sum(_entity_counts(tags, "bioes").values()) == 3_559
    assert {tag[0] for sentence in tags for tag in sentence} == set("OBIES")
