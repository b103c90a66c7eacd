"""Tag schemes: hand-checked conversions, round-trips, checks, and spans that agree with seqeval."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities

from seqkit.data import DataError, tag_schemes
from seqkit.data.tag_schemes import (
    bio_errors,
    bio_to_bioes,
    bioes_errors,
    bioes_to_bio,
    convert,
    iob1_to_bio,
    spans,
    validate,
)

TYPES = ["PER", "LOC", "ORG", "MISC"]


# === Conversion ===


def test_iob1_to_bio_starts_every_entity_with_b():
    iob1 = ["I-ORG", "O", "I-MISC", "O", "I-PER", "I-PER", "B-PER", "I-LOC", "I-ORG", "I-ORG", "O"]
    assert iob1_to_bio(iob1) == [
        "B-ORG", "O", "B-MISC", "O", "B-PER", "I-PER", "B-PER", "B-LOC", "B-ORG", "I-ORG", "O",
    ]


def test_iob1_to_bio_keeps_a_b_between_touching_entities():
    # "B-" in IOB1 marks a new entity right after one of the same type; its I- continues it.
    assert iob1_to_bio(["I-LOC", "B-LOC", "I-LOC"]) == ["B-LOC", "B-LOC", "I-LOC"]
    assert iob1_to_bio(["B-LOC", "I-LOC"]) == ["B-LOC", "I-LOC"]  # A B- after O is kept too.
    assert iob1_to_bio([]) == []


def test_bio_to_bioes_and_back():
    bio = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG", "O", "B-MISC"]
    bioes = ["B-PER", "I-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "S-ORG", "O", "S-MISC"]
    assert bio_to_bioes(bio) == bioes
    assert bioes_to_bio(bioes) == bio
    assert bio_to_bioes(["O", "O"]) == ["O", "O"]


def test_bio_to_bioes_treats_stray_i_as_an_entity_start():
    assert bio_to_bioes(["O", "I-PER", "I-PER", "I-LOC"]) == ["O", "B-PER", "E-PER", "S-LOC"]


def test_types_may_hold_dashes():
    assert bio_to_bioes(["B-GPE-CITY", "I-GPE-CITY"]) == ["B-GPE-CITY", "E-GPE-CITY"]
    assert spans(["B-GPE-CITY", "I-GPE-CITY"]) == [("GPE-CITY", 0, 2)]


def test_convert_by_name():
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]
    assert convert(iob1, "iob1", "bio") == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]
    assert convert(iob1, "IOB1", "bioes") == ["B-PER", "E-PER", "O", "S-LOC", "S-LOC"]
    assert convert(["B-PER", "E-PER"], "bioes", "iob2") == ["B-PER", "I-PER"]
    assert convert(("B-PER", "I-PER"), "bio", "bio") == ["B-PER", "I-PER"]


def test_convert_rejects_unknown_schemes_and_iob1_as_target():
    with pytest.raises(ValueError, match=r"Unknown tag scheme 'bilou'.*'iob1', 'bio', 'bioes', 'iob2'"):
        convert(["O"], "bilou", "bio")
    with pytest.raises(ValueError, match=r"Unknown tag scheme 'xyz'"):
        convert(["O"], "bio", "xyz")
    with pytest.raises(ValueError, match=r"not supported.*input scheme only"):
        convert(["O"], "bio", "iob1")


def test_conversions_reject_malformed_tags():
    with pytest.raises(ValueError, match=r"position 1: 'PER' is neither 'O' nor B-/I-"):
        bio_to_bioes(["O", "PER"])
    with pytest.raises(ValueError, match=r"position 0: 'E-PER'"):
        iob1_to_bio(["E-PER"])
    with pytest.raises(ValueError, match=r"position 0: 'B-'"):
        bioes_to_bio(["B-"])


# === Checks ===


def test_bio_errors_name_position_tag_and_reason():
    tags = ["I-PER", "B-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-PER", "per", "I-PER", "B-"]
    found = bio_errors(tags)
    assert [(position, tag) for position, tag, _ in found] == [
        (0, "I-PER"), (4, "I-LOC"), (6, "I-PER"), (7, "per"), (8, "I-PER"), (9, "B-"),
    ]
    reasons = [reason for _, _, reason in found]
    assert "starts the sequence" in reasons[0]
    assert "follows O" in reasons[1]
    assert "follows B-ORG, an entity of another type" in reasons[2]
    assert "neither 'O' nor B-/I-" in reasons[3]
    assert "follows the malformed tag 'per'" in reasons[4]
    assert bio_errors(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]) == []
    assert bio_errors([]) == []


def test_bioes_errors():
    assert bioes_errors(["B-PER", "I-PER", "E-PER", "S-LOC", "O", "S-LOC"]) == []
    found = bioes_errors(["B-PER", "O", "I-LOC", "E-LOC", "S-ORG", "E-ORG", "B-MISC", "S-MISC", "B-PER"])
    assert [(position, tag) for position, tag, _ in found] == [
        (0, "B-PER"), (2, "I-LOC"), (5, "E-ORG"), (6, "B-MISC"), (8, "B-PER"),
    ]
    assert found[0][2] == "B-PER must be followed by I-PER or E-PER, but O follows"
    assert found[1][2] == "I-LOC must continue B-LOC or I-LOC, but follows O"
    assert found[4][2] == "B-PER must be followed by I-PER or E-PER, but the sequence ends"
    assert bioes_errors(["B-PER", "E-LOC"])[0][:2] == (0, "B-PER")
    assert bioes_errors(["X-PER"])[0][2].startswith("'X-PER' is neither 'O' nor B-/I-/E-/S-")


def test_validate_raises_data_error_naming_where_position_and_tag():
    validate(["B-PER", "I-PER"], "bio")
    validate(["I-PER", "I-PER"], "iob1")  # IOB1 only checks the tag shapes.
    validate(["S-PER", "B-LOC", "E-LOC"], "bioes")
    with pytest.raises(DataError, match=r"^train\.txt, line 12: malformed BIO tag 'I-LOC' at position 2: "
                                        r"I-LOC follows B-PER, an entity of another type"):
        validate(["O", "B-PER", "I-LOC"], "iob2", where="train.txt, line 12")
    with pytest.raises(DataError, match=r"^malformed BIO tag 'I-PER' at position 0: .*\(1 more problem"):
        validate(["I-PER", "O", "I-PER"], "bio")
    with pytest.raises(DataError, match=r"malformed BIOES tag 'B-PER' at position 0"):
        validate(["B-PER", "S-PER"], "bioes", where="x")
    with pytest.raises(DataError, match=r"malformed IOB1 tag 'S-PER'"):
        validate(["S-PER"], "iob1")
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        validate(["O"], "bilou")


# === Spans ===


def test_spans_by_hand():
    assert spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    assert spans(["B-PER", "B-PER", "I-PER", "I-LOC", "O", "I-ORG"]) == [
        ("PER", 0, 1), ("PER", 1, 3), ("LOC", 3, 4), ("ORG", 5, 6),
    ]
    assert spans(["O", "O"]) == []
    assert spans([]) == []
    assert spans(["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], scheme="bioes") == [("PER", 0, 1), ("LOC", 1, 4)]
    assert spans(["I-PER", "I-PER", "B-PER"], scheme="iob1") == [("PER", 0, 2), ("PER", 2, 3)]


def _seqeval_spans(tags):
    return [(type_, start, end + 1) for type_, start, end in get_entities(list(tags))]


def test_spans_match_seqeval_on_hand_picked_malformed_sequences():
    for tags in (
        ["I-PER"],
        ["O", "I-PER", "I-LOC", "I-LOC", "B-LOC", "I-PER"],
        ["B-PER", "I-LOC", "B-LOC", "O", "I-ORG", "I-ORG"],
    ):
        assert spans(tags) == _seqeval_spans(tags)


# Valid BIO sequences, built from entities and "O" runs.
_entity = st.tuples(st.sampled_from(TYPES), st.integers(min_value=1, max_value=4)).map(
    lambda pair: [f"B-{pair[0]}"] + [f"I-{pair[0]}"] * (pair[1] - 1)
)
_segment = st.one_of(st.just(["O"]), _entity)
valid_bio = st.lists(_segment, max_size=12).map(lambda parts: [tag for part in parts for tag in part])
any_bio = st.lists(st.sampled_from(["O"] + [f"{p}-{t}" for p in "BI" for t in TYPES[:2]]), max_size=15)


@settings(max_examples=200, deadline=None)
@given(valid_bio)
def test_bio_bioes_round_trip_is_identity_for_valid_bio(tags):
    assert bio_errors(tags) == []
    bioes = bio_to_bioes(tags)
    assert bioes_errors(bioes) == []
    assert bioes_to_bio(bioes) == tags
    assert bio_to_bioes(bioes_to_bio(bioes)) == bioes
    assert spans(bioes, scheme="bioes") == spans(tags)


@settings(max_examples=200, deadline=None)
@given(valid_bio)
def test_spans_agree_with_seqeval_on_valid_bio(tags):
    assert spans(tags) == _seqeval_spans(tags)


@settings(max_examples=300, deadline=None)
@given(any_bio)
def test_spans_agree_with_seqeval_on_any_bio(tags):
    expected = _seqeval_spans(tags)
    assert spans(tags) == expected
    # Repairing a malformed sequence (as IOB1) or converting it to BIOES keeps its spans.
    assert spans(iob1_to_bio(tags)) == expected
    assert spans(bio_to_bioes(tags), scheme="bioes") == expected
    assert bio_errors(iob1_to_bio(tags)) == []
    assert (bio_errors(tags) == []) == (iob1_to_bio(tags) == tags)


def test_module_is_pure_python():
    source = tag_schemes.__spec__.origin
    with open(source, encoding="utf-8") as file:
        text = file.read()
    assert "import numpy" not in text and "tensorflow" not in text and "keras" not in text
