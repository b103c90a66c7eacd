"""Word and character tokenizers: known outputs, Unicode, and Python/graph agreement."""

import pytest
import tensorflow as tf
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqkit.data import CharTokenizer, NewsTokenizer, Tokenizer, WordTokenizer, get_tokenizer


_GRAPHS = {}


def graph_tokenize(tokenizer, texts):
    """Runs `tokenize_tensor` inside a `tf.function`, as an exported model does (one per config)."""
    key = repr(tokenizer)
    if key not in _GRAPHS:
        _GRAPHS[key] = tf.function(tokenizer.tokenize_tensor, input_signature=[tf.TensorSpec([None], tf.string)])
    ragged = _GRAPHS[key](tf.constant(texts, dtype=tf.string))
    return [[token.decode("utf-8") for token in row] for row in ragged.to_list()]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello, world!", ["hello", ",", "world", "!"]),
        ("Great film... really.", ["great", "film", ".", ".", ".", "really", "."]),
        ('He said "no" (twice); ok?', ["he", "said", '"', "no", '"', "(", "twice", ")", ";", "ok", "?"]),
        ("don't stop", ["don't", "stop"]),
        ("It's rock'n'roll", ["it's", "rock'n'roll"]),
        ("3.14 costs $5", ["3", ".", "14", "costs", "$", "5"]),
        ("Café naïve, señor", ["café", "naïve", ",", "señor"]),
        ("Ça marche, n'est-ce pas?", ["ça", "marche", ",", "n'est", "-", "ce", "pas", "?"]),
        ("e\u0301cole", ["e\u0301cole"]),  # A combining accent stays with its letter.
        ("我爱你。", ["我爱你", "。"]),
        ("日本語テキスト", ["日本語テキスト"]),
        ("I love it 😀!", ["i", "love", "it", "😀", "!"]),
        ("😀😀", ["😀", "😀"]),
        ("I ❤️ it", ["i", "❤️", "it"]),  # The emoji keeps its variation selector.
        ("a\u3000b\u00a0c", ["a", "b", "c"]),
        ("tab\there\nnew\r\nline", ["tab", "here", "new", "line"]),
        ("Good.<br /><br />Bad<br/>end", ["good", ".", "bad", "end"]),
        ("<b>Bold</b> <i>claim</i>", ["bold", "claim"]),
        ("", []),
        ("   ", []),
        (" \t\n\u3000\u00a0\u2028 ", []),
    ],
)
def test_word_tokenizer_known_outputs(text, expected):
    assert WordTokenizer()(text) == expected


@pytest.mark.parametrize(
    "lowercase, expected",
    [(True, ["école", "naïve", "straße", "ωμέγα"]), (False, ["ÉCOLE", "NAÏVE", "Straße", "ΩΜΈΓΑ"])],
)
def test_lowercase_can_be_turned_off_and_handles_non_ascii(lowercase, expected):
    assert WordTokenizer(lowercase=lowercase)("ÉCOLE NAÏVE Straße ΩΜΈΓΑ") == expected


def test_html_stripping_can_be_turned_off():
    tokens = WordTokenizer(strip_html=False)("a<br />b")
    assert tokens == ["a", "<", "br", "/", ">", "b"]


def test_char_tokenizer_splits_code_points_not_bytes():
    assert CharTokenizer()("Añ!日😀") == ["a", "ñ", "!", "日", "😀"]
    assert CharTokenizer(lowercase=False)("ÉÀ") == ["É", "À"]
    assert CharTokenizer()("e\u0301") == ["e", "\u0301"]


def test_char_tokenizer_keeps_spaces_and_html_by_default():
    assert CharTokenizer()("a b<br />") == ["a", " ", "b", "<", "b", "r", " ", "/", ">"]
    assert CharTokenizer(strip_html=True)("a<br />b") == ["a", " ", "b"]


@pytest.mark.parametrize("tokenizer", [WordTokenizer(), CharTokenizer()])
def test_empty_string_gives_no_tokens(tokenizer):
    assert tokenizer("") == []
    assert tokenizer(["", "x", ""]) == [[], ["x"], []]


def test_batch_and_single_calls_agree():
    texts = ["One film.", "", "Deux films!"]
    tokenizer = WordTokenizer()
    assert tokenizer(texts) == [tokenizer(text) for text in texts]
    assert tokenizer([]) == []


def test_iter_tokenize_streams_in_batches():
    texts = [f"text number {index}" for index in range(10)]
    assert list(WordTokenizer().iter_tokenize(iter(texts), batch_size=3)) == WordTokenizer()(texts)


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", 5]])
def test_call_rejects_non_strings(bad):
    with pytest.raises(ValueError):
        WordTokenizer()(bad)


TRICKY_TEXTS = [
    "Hello, world!",
    "ÉCOLE naïve — «quoted»",
    "我爱你。日本語",
    "I ❤️ it 😀👍🏽!",
    "a\u3000b\u00a0c\u2009d",
    "Good<br />bad<br/>",
    "",
    "   ",
    "don't-stop",
]


@pytest.mark.parametrize(
    "tokenizer", [WordTokenizer(), WordTokenizer(lowercase=False, strip_html=False), CharTokenizer()], ids=repr
)
def test_python_and_graph_paths_give_identical_tokens(tokenizer):
    assert graph_tokenize(tokenizer, TRICKY_TEXTS) == tokenizer(TRICKY_TEXTS)


def test_a_long_text_is_tokenized_completely():
    text = "word, " * 16_666 + "end."  # 100,000 characters.
    assert len(text) == 100_000
    tokens = WordTokenizer()(text)
    assert len(tokens) == 2 * 16_666 + 2
    assert tokens[-2:] == ["end", "."]
    assert len(CharTokenizer()(text)) == 100_000


@pytest.mark.parametrize("identifier, expected", [
    ("word", WordTokenizer()),
    ("char", CharTokenizer()),
    ({"type": "word", "lowercase": False}, WordTokenizer(lowercase=False)),
    ({"type": "char", "strip_html": True}, CharTokenizer(strip_html=True)),
])
def test_get_tokenizer_accepts_names_and_configs(identifier, expected):
    tokenizer = get_tokenizer(identifier)
    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer == expected


def test_get_tokenizer_returns_instances_unchanged():
    tokenizer = WordTokenizer(lowercase=False)
    assert get_tokenizer(tokenizer) is tokenizer


@pytest.mark.parametrize("tokenizer", [WordTokenizer(lowercase=False), CharTokenizer(strip_html=True)], ids=repr)
def test_config_round_trip(tokenizer):
    assert get_tokenizer(tokenizer.get_config()) == tokenizer


@pytest.mark.parametrize(
    "identifier",
    ["bpe", "", None, 3, {"lowercase": True}, {"type": "sentencepiece"}, {"type": "word", "casefold": True}],
)
def test_get_tokenizer_rejects_bad_identifiers(identifier):
    with pytest.raises(ValueError, match="tokenizer"):
        get_tokenizer(identifier)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
@example("a\x85b\x1cc\x0bd")  # NEL and the information separators are whitespace to Python.
@example("x\x00y Z")  # A NUL must not cut the text short.
def test_word_tokenizer_never_crashes_and_tokens_hold_no_whitespace(text):
    tokens = WordTokenizer()(text)
    assert all(token and not any(character.isspace() for character in token) for token in tokens)
    assert graph_tokenize(WordTokenizer(), [text]) == [tokens]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
@example("tab\tvt\x0bfs\x1cnel\x85nbsp\xa0ideo\u3000nul\x00end")
def test_word_tokenizer_only_drops_whitespace(text):
    tokens = WordTokenizer(lowercase=False, strip_html=False)(text)
    kept = "".join(character for character in text if not character.isspace())
    assert "".join(tokens) == kept.replace("\x00", "\ufffd")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=100), min_size=1, max_size=4))
@example(["x\x00y"])
def test_char_tokenizer_keeps_every_code_point(texts):
    tokenizer = CharTokenizer(lowercase=False)
    # NUL is the one exception: it becomes U+FFFD, like invalid UTF-8.
    expected = [["\ufffd" if character == "\x00" else character for character in text] for text in texts]
    assert tokenizer(texts) == expected


@pytest.mark.parametrize("tokenizer", [WordTokenizer(), WordTokenizer(lowercase=False)], ids=repr)
def test_a_nul_character_does_not_cut_the_text(tokenizer):
    assert tokenizer("x\x00y z") == ["x", "\ufffd", "y", "z"]


def test_invalid_utf8_bytes_become_replacement_characters():
    tokens = WordTokenizer().tokenize_tensor(tf.constant([b"ok \xff\xfe end"])).to_list()
    assert tokens == [[b"ok", "\ufffd".encode(), "\ufffd".encode(), b"end"]]


# === NewsTokenizer ===


def test_news_tokenizer_docstring_example():
    text = "The U.S. firm's German-born CEO earned $1,000.50, didn't he?"
    assert NewsTokenizer()(text) == [
        "The", "U.S.", "firm", "'s", "German-born", "CEO", "earned", "$", "1,000.50", ",", "did", "n't", "he", "?",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # Clitics are split off, Penn Treebank style.
        ("Germany's", ["Germany", "'s"]),
        ("don't", ["do", "n't"]),
        ("DON'T", ["DO", "N'T"]),
        ("can't", ["ca", "n't"]),
        ("I'm", ["I", "'m"]),
        ("they're we've she'll he'd", ["they", "'re", "we", "'ve", "she", "'ll", "he", "'d"]),
        ("Peter's.", ["Peter", "'s", "."]),
        ("O'Neill", ["O'Neill"]),
        # Numbers keep their inner punctuation.
        ("1,000.50", ["1,000.50"]),
        ("12:30", ["12:30"]),
        ("3/4", ["3/4"]),
        ("1.000.000", ["1.000.000"]),
        ("3-2", ["3-2"]),
        ("$5 10%", ["$", "5", "10", "%"]),
        # Abbreviations and initials.
        ("U.S.", ["U.S."]),
        ("the U.S. team", ["the", "U.S.", "team"]),
        ("4 p.m.", ["4", "p.m."]),
        ("P. Simmons", ["P.", "Simmons"]),
        ("A. B. Smith", ["A.", "B.", "Smith"]),
        ("J.P. Morgan", ["J.P.", "Morgan"]),
        # Hyphenated words.
        ("German-born", ["German-born"]),
        ("state-of-the-art", ["state-of-the-art"]),
        ("a-b-c-d-e", ["a-b-c-d-e"]),
        # Ellipses and dashes stay whole; other punctuation splits off.
        ("well...", ["well", "..."]),
        ("He -- said", ["He", "--", "said"]),
        ("He--said", ["He", "--", "said"]),
        ("(EU)", ["(", "EU", ")"]),
        ('"quoted", end.', ['"', "quoted", '"', ",", "end", "."]),
        ("-5", ["-", "5"]),
        ("Ça, c'est", ["Ça", ",", "c'est"]),
        ("", []),
        ("   ", []),
    ],
)
def test_news_tokenizer_known_outputs(text, expected):
    assert NewsTokenizer()(text) == expected


def test_news_tokenizer_keeps_repeated_inner_apostrophes():
    assert NewsTokenizer()("rock'n'roll") == ["rock'n'roll"]


def test_news_tokenizer_keeps_case_unless_asked():
    assert NewsTokenizer()("EU Rejects") == ["EU", "Rejects"]
    assert NewsTokenizer(lowercase=True)("EU Rejects Germany's") == ["eu", "rejects", "germany", "'s"]


def test_news_tokenizer_batches_and_graph_agree():
    texts = ["The U.S. firm's CEO, didn't he?", "", "Ça -- 1,000.50 (EU)...", "P. Simmons won 3/4 at 12:30."]
    tokenizer = NewsTokenizer()
    assert tokenizer(texts) == [tokenizer(text) for text in texts]
    assert graph_tokenize(tokenizer, texts) == tokenizer(texts)


def test_get_tokenizer_news():
    tokenizer = get_tokenizer("news")
    assert isinstance(tokenizer, NewsTokenizer)
    assert tokenizer == NewsTokenizer()
    assert tokenizer("Germany's") == ["Germany", "'s"]
    assert get_tokenizer({"type": "news", "lowercase": True}) == NewsTokenizer(lowercase=True)
    assert get_tokenizer(NewsTokenizer().get_config()) == NewsTokenizer()
    assert NewsTokenizer() != WordTokenizer()


def test_news_tokenizer_reproduces_conll_dev_tokens(shared_data):
    from seqkit.data.conll import read_conll

    sentences, _ = read_conll(shared_data / "conll2003" / "eng.testa", scheme="iob1")
    assert len(sentences) > 3000
    retokenized = NewsTokenizer()([" ".join(tokens) for tokens in sentences])
    same = sum(tokens == again for tokens, again in zip(sentences, retokenized))
    assert same / len(sentences) >= 0.88, f"{same} of {len(sentences)} sentences re-tokenized identically"
