"""benchmarks/bilm_text.py: IMDB's training reviews as CoNLL-style tokenized sentences for the NER BiLM."""

import pytest

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bilm_text():
    return load_benchmark("bilm_text")


def test_split_sentences_breaks_at_sentence_ends_and_html_tags(bilm_text):
    text = (
        'Mr. Smith didn\'t like it. "Awful!" he said.<br /><br />I rate it 3.5 out of 10... Sad?  Yes. '
        "J. R. Ewing (Dr. No) rules! (Really.) Fine"
    )
    assert bilm_text.split_sentences(text) == [
        "Mr. Smith didn't like it.",
        '"Awful!" he said.',
        "I rate it 3.5 out of 10...",
        "Sad?",
        "Yes.",
        "J. R. Ewing (Dr. No) rules!",
        "(Really.)",
        "Fine",
    ]


def test_main_writes_training_reviews_only_tokenized_like_conll(bilm_text, tmp_path):
    for split, review in (("train", "It's a U.S. film.<br />Too short. Bad"), ("test", "Never read this one.")):
        for label in ("neg", "pos"):
            folder = tmp_path / "aclImdb" / split / label
            folder.mkdir(parents=True)
            (folder / "0_1.txt").write_text(review, encoding="utf-8")
    output = tmp_path / "out" / "text.txt"
    bilm_text.main([str(output), "--data-dir", str(tmp_path), "--min-length=3"])
    lines = output.read_text(encoding="utf-8").splitlines()
    # Both training reviews, test never read; "Bad" is below --min-length; clitics split as in CoNLL.
    assert lines == ["It 's a U.S. film .", "Too short .", "It 's a U.S. film .", "Too short ."]
    assert not output.with_name("text.txt.partial").exists()
