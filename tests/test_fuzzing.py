"""Arbitrary input: tokenizers, vocabularies and readers work or raise a clear ValueError; exports always answer."""

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqkit.data import CharTokenizer, Vocabulary, WordTokenizer
from seqkit.data.conll import read_conll
from seqkit.data.readers import read_lines, read_pairs, read_table
from seqkit.data.tokenizers import NewsTokenizer

LONG = "a" * 100_000
LONG_EMOJI = "🙂" * 100_000
ODD = ["", " ", "\x00", "\x1b[31mred\x1b[0m", "\u200b\u200d\ufeff", "🙂👍🏽🇪🇸", "\ud7ff\ue000", "\r\n\t\x0b\x0c\x85"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.text())
@example(LONG)
@example(LONG_EMOJI)
@example("".join(ODD))
def test_tokenizers_take_any_unicode_and_long_strings(text):
    for tokenizer in (WordTokenizer(), CharTokenizer(), NewsTokenizer()):
        tokens = tokenizer(text)
        assert isinstance(tokens, list) and all(isinstance(token, str) and token for token in tokens)
    assert len(CharTokenizer(lowercase=False)(text)) == len(text)


@FUZZ
@given(st.lists(st.text(), max_size=20), st.text())
@example([LONG, "🙂", ""], LONG_EMOJI)
@example(["<pad>"], "")
def test_vocabulary_builds_from_and_encodes_any_tokens(tokens, text):
    try:
        vocabulary = Vocabulary.build([tokens])
    except ValueError as error:  # e.g. an empty token: refused, and the message says which.
        assert "Received" in str(error) or "token" in str(error), str(error)
        return
    queries = list(text) + tokens
    ids = vocabulary.encode(queries)
    assert all(0 <= i < vocabulary.size for i in ids)  # Never out of range: unknowns are <unk>.
    # Only the token `<pad>` itself is padding (the tokenizers never produce it from text).
    assert [i == 0 for i in ids] == [query == "<pad>" for query in queries]
    for token in tokens:
        if token in vocabulary:
            assert vocabulary.id_to_token(vocabulary.token_to_id(token)) == token


def _read_all(path):
    """Every reader on one file: each returns, or raises a ValueError that names the file."""
    readers = [lambda: read_lines(path), lambda: read_pairs(path), lambda: read_conll(path),
               lambda: read_conll(path, scheme="bio"), lambda: read_table(path, "text", "label")]
    for reader in readers:
        try:
            reader()
        except ValueError as error:
            assert str(path) in str(error) or path.name in str(error), str(error)[:300]


@FUZZ
@given(st.text(max_size=2000))
@example(LONG + "\t" + LONG_EMOJI + "\n")
@example("text,label\n" + "\n".join(ODD) + "\n")
@example("-DOCSTART- -X- O O\n\n\n")
def test_readers_take_any_text_file(tmp_path, content):
    path = tmp_path / "data.tsv"
    path.write_text(content, encoding="utf-8", newline="")
    _read_all(path)


@FUZZ
@given(st.binary(max_size=500))
@example(b"ok\t\xff\xfe broken\n")
def test_readers_name_the_file_for_bytes_that_are_not_utf8(tmp_path, content):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    _read_all(path)


# === Exports given odd input ===

ODD_INPUTS = ["", "🙂🙂🙂", "\x00\x01\x02\x1b[31m\x7f", "x" * 10_000, "a b " * 2_500, "Alice 🙂 went\tto\nParis",
              "\ufeff", "  ", "12/12/2012"]


def valid(kind, outputs, count):
    if kind == "classifier":
        probabilities = outputs["probabilities"]
        return probabilities.shape == (count, 2) and np.allclose(probabilities.sum(1), 1, atol=1e-5) and \
            all(label in (b"neg", b"pos") for label in outputs["labels"])
    if kind == "tagger":
        return outputs["lengths"].shape == (count,) and all(
            all(tag in (b"", b"O", b"B-LOC", b"I-LOC", b"B-PER", b"I-PER") for tag in row) for row in outputs["tags"])
    if kind == "lm":
        return outputs["text"].shape == (count,) and len(outputs["continuation"]) == count
    return outputs["output"].shape == (count,) and all(isinstance(o, bytes) for o in outputs["output"])


@pytest.mark.parametrize("kind", ["classifier", "tagger", "lm", "seq2seq"])
def test_exports_answer_empty_emoji_control_and_10k_character_input(tiny_exports, kind):
    loaded = tf.saved_model.load(str(tiny_exports[kind]))
    serve = loaded.signatures["serving_default"]
    name = "prompts" if kind == "lm" else "text"
    batch = {key: value.numpy() for key, value in serve(**{name: tf.constant(ODD_INPUTS)}).items()}
    assert valid(kind, batch, len(ODD_INPUTS)), batch
    for text in ODD_INPUTS:  # One at a time too: a batch of one odd string is its own shape.
        single = {key: value.numpy() for key, value in serve(**{name: tf.constant([text])}).items()}
        assert valid(kind, single, 1), (text[:20], single)
    if kind == "lm":
        scores = loaded.signatures["score"](text=tf.constant(ODD_INPUTS))
        log_prob, tokens = scores["log_prob"].numpy(), scores["num_tokens"].numpy()
        assert all(math.isfinite(value) and value <= 0 for value in log_prob)
        assert tokens[0] == 0 and tokens[3] == 10_000  # Empty: nothing to score; unknown characters are <unk>.


@pytest.mark.parametrize("kind", ["classifier", "tagger", "lm", "seq2seq"])
def test_every_signature_answers_an_empty_batch_with_empty_outputs(tiny_exports, kind):
    loaded = tf.saved_model.load(str(tiny_exports[kind]))
    for name, signature in loaded.signatures.items():
        inputs = {}
        for key, spec in signature.structured_input_signature[1].items():
            if spec.shape.rank:  # The batch: zero rows.
                inputs[key] = tf.zeros([0] * spec.shape.rank, spec.dtype)
            else:  # A parameter (max_new_tokens, temperature, seed): any valid value.
                inputs[key] = tf.constant(1, spec.dtype)
        outputs = signature(**inputs)
        assert outputs and all(value.shape[0] == 0 for value in outputs.values()), (name, outputs)
