"""Word and character tokenizers that run the same way in Python and in a graph.

Each tokenizer is written once, with `tf.strings` ops. Calling it from Python runs
those ops eagerly, and an exported SavedModel runs them in its graph, so training
and serving can never tokenize differently.
"""

import tensorflow as tf

# Tags such as IMDB's `<br />`.
_HTML_TAG = r"<[^>]{0,200}>"
# Whitespace as Python's `str.isspace` sees it: RE2's `\s` is only [\t\n\f\r ], so add
# \v, the information separators U+001C-U+001F, NEL (U+0085, e.g. a Latin-1 decoded
# Windows-1252 ellipsis) and the Unicode separators `\p{Z}`.
_SPACE = r"\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}"
_WHITESPACE = rf"[{_SPACE}]+"
# One punctuation or symbol character, with any combining marks that follow it (an
# emoji's variation selector): not a letter, digit, combining mark, apostrophe or
# space. It becomes a token of its own ("great!" -> "great", "!").
_PUNCTUATION = rf"([^\p{{L}}\p{{N}}\p{{M}}{_SPACE}']\p{{M}}*)"


def _clean(strings, lowercase, strip_html):
    # Invalid UTF-8 (possible in raw serving requests) becomes U+FFFD instead of an error.
    strings = tf.strings.unicode_transcode(
        strings, "UTF-8", "UTF-8", errors="replace", replace_control_characters=False
    )
    # NUL becomes U+FFFD too: `tf.strings.lower` would silently cut the text at a NUL.
    strings = tf.strings.regex_replace(strings, r"\x00", "\ufffd")
    if strip_html:
        strings = tf.strings.regex_replace(strings, _HTML_TAG, " ")
    if lowercase:
        strings = tf.strings.lower(strings, encoding="utf-8")
    return strings


def _to_python(ragged):
    return [[token.decode("utf-8") for token in row] for row in ragged.to_list()]


class Tokenizer:
    """Base class: `tokenize_tensor` holds the logic, `__call__` runs it on Python strings."""

    name = None

    def tokenize_tensor(self, strings):
        """Tokenizes a 1-D string tensor into a `tf.RaggedTensor` of tokens."""
        raise NotImplementedError

    def __call__(self, texts):
        """Tokenizes a string or a list of strings into Python token lists.

        Examples:
        >>> WordTokenizer()(["Great film!"])
        [['great', 'film', '!']]
        """
        single = isinstance(texts, str)
        try:
            batch = [texts] if single else list(texts)
        except TypeError:
            raise ValueError(
                f"Tokenizers take a string or a list of strings. Received: {type(texts).__name__} {texts!r}"
            ) from None
        for position, text in enumerate(batch):
            if not isinstance(text, str):
                raise ValueError(
                    f"Tokenizers take strings. Received: {type(text).__name__} {text!r} "
                    f"at position {position}"
                )
        if not batch:
            return []
        tokens = _to_python(self.tokenize_tensor(tf.constant(batch, dtype=tf.string)))
        return tokens[0] if single else tokens

    def iter_tokenize(self, texts, batch_size=1024):
        """Yields token lists for an iterable of strings, a batch at a time (for large corpora)."""
        batch = []
        for text in texts:
            batch.append(text)
            if len(batch) == batch_size:
                yield from self(batch)
                batch = []
        if batch:
            yield from self(batch)

    def get_config(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class WordTokenizer(Tokenizer):
    """Splits text into words and punctuation marks.

    Letters, digits and combining marks of any script stay together (apostrophes
    too: "don't" is one token). Every other symbol becomes a token of its own.

    Args:
        lowercase: lowercase the text first (Unicode-aware).
        strip_html: replace HTML tags such as `<br />` with a space.

    Examples:
    >>> WordTokenizer()("Ça marche, n'est-ce pas?")
    ['ça', 'marche', ',', "n'est", '-', 'ce', 'pas', '?']
    """

    name = "word"

    def __init__(self, lowercase=True, strip_html=True):
        self.lowercase = bool(lowercase)
        self.strip_html = bool(strip_html)

    def tokenize_tensor(self, strings):
        strings = _clean(strings, self.lowercase, self.strip_html)
        strings = tf.strings.regex_replace(strings, _PUNCTUATION, r" \1 ")
        strings = tf.strings.regex_replace(strings, _WHITESPACE, " ")
        # With no separator, split drops empty pieces: "" gives no tokens.
        return tf.strings.split(strings)

    def get_config(self):
        return {"type": self.name, "lowercase": self.lowercase, "strip_html": self.strip_html}


class CharTokenizer(Tokenizer):
    """Splits text into Unicode characters (code points).

    Args:
        lowercase: lowercase the text first (Unicode-aware).
        strip_html: replace HTML tags such as `<br />` with a space.

    Examples:
    >>> CharTokenizer()("Añ!")
    ['a', 'ñ', '!']
    """

    name = "char"

    def __init__(self, lowercase=True, strip_html=False):
        self.lowercase = bool(lowercase)
        self.strip_html = bool(strip_html)

    def tokenize_tensor(self, strings):
        strings = _clean(strings, self.lowercase, self.strip_html)
        return tf.strings.unicode_split(strings, "UTF-8", errors="replace")

    def get_config(self):
        return {"type": self.name, "lowercase": self.lowercase, "strip_html": self.strip_html}


# Placeholders (private-use code points) for punctuation that stays inside a token.
_KEEP = {".": "\ue001", ",": "\ue002", ":": "\ue003", "/": "\ue004", "-": "\ue005", "'": "\ue006"}
_KEPT = "".join(_KEEP.values())
_CLITICS = "'s|'S|'re|'RE|'ve|'VE|'ll|'LL|'d|'D|'m|'M"


class NewsTokenizer(Tokenizer):
    """Splits raw sentences into tokens the way CoNLL/Penn Treebank news text is tokenized.

    Case is kept. Punctuation becomes tokens of its own, except inside numbers
    ("1,000.5", "12:30", "3/4"), hyphenated words ("German-born"), two-letter
    abbreviations ("U.S.", "p.m.") and names ("O'Neill"). Clitics are split off
    ("Germany's" -> "Germany", "'s"; "don't" -> "do", "n't").

    Examples:
    >>> NewsTokenizer()("The U.S. firm's German-born CEO earned $1,000.50, didn't he?")
    ['The', 'U.S.', 'firm', "'s", 'German-born', 'CEO', 'earned', '$', '1,000.50', ',', 'did', "n't", 'he', '?']
    """

    name = "news"

    def __init__(self, lowercase=False, strip_html=False):
        self.lowercase = bool(lowercase)
        self.strip_html = bool(strip_html)

    def tokenize_tensor(self, strings):
        strings = _clean(strings, self.lowercase, self.strip_html)
        keep = _KEEP
        for _ in range(2):  # Twice, for overlapping matches such as "1.000.000".
            for mark in ".,:/":
                strings = tf.strings.regex_replace(strings, rf"(\p{{N}}){re_escape(mark)}(\p{{N}})", rf"\1{keep[mark]}\2")
            strings = tf.strings.regex_replace(strings, r"([\p{L}\p{N}])-([\p{L}\p{N}])", rf"\1{keep['-']}\2")
        strings = tf.strings.regex_replace(
            strings, r"(^|[^\p{L}\p{N}])(\p{L})\.(\p{L})\.", rf"\1\2{keep['.']}\3{keep['.']}"
        )
        # Ellipses and dashes stay whole: "..." and "--".
        strings = tf.strings.regex_replace(strings, r"\.\.\.", f" {keep['.'] * 3} ")
        strings = tf.strings.regex_replace(strings, r"--", f" {keep['-'] * 2} ")
        for _ in range(2):  # Initials: "P. Simmons".
            strings = tf.strings.regex_replace(strings, r"(^|[^\p{L}\p{N}])(\p{Lu})\.([ ]|$)", rf"\1\2{keep['.']}\3")
        strings = tf.strings.regex_replace(strings, r"(\p{L})(n't|N'T)([^\p{L}]|$)", r"\1 \2 \3")
        strings = tf.strings.regex_replace(strings, rf"(\p{{L}})({_CLITICS})([^\p{{L}}]|$)", r"\1 \2 \3")
        for _ in range(2):  # Twice, for "rock'n'roll".
            strings = tf.strings.regex_replace(strings, r"(\p{L})'(\p{L})", rf"\1{keep[chr(39)]}\2")
        strings = tf.strings.regex_replace(strings, r"^'(s|S|re|RE|ve|VE|ll|LL|d|D|m|M|t|T)\b", rf"{keep[chr(39)]}\1")
        strings = tf.strings.regex_replace(strings, r"([ ])'(s|S|re|RE|ve|VE|ll|LL|d|D|m|M)([^\p{L}]|$)", rf"\1{keep[chr(39)]}\2\3")
        strings = tf.strings.regex_replace(strings, r"n't", rf"n{keep[chr(39)]}t")
        strings = tf.strings.regex_replace(strings, rf"([^\p{{L}}\p{{N}}\p{{M}}{_SPACE}{_KEPT}]\p{{M}}*)", r" \1 ")
        for mark, placeholder in keep.items():
            strings = tf.strings.regex_replace(strings, placeholder, mark)
        strings = tf.strings.regex_replace(strings, _WHITESPACE, " ")
        return tf.strings.split(strings)

    def get_config(self):
        return {"type": self.name, "lowercase": self.lowercase, "strip_html": self.strip_html}


def re_escape(mark):
    return "\\" + mark if mark in ".^$*+?()[]{}|\\" else mark


TOKENIZERS = {WordTokenizer.name: WordTokenizer, CharTokenizer.name: CharTokenizer, NewsTokenizer.name: NewsTokenizer}


def get_tokenizer(identifier):
    """Returns a tokenizer from a name (`"word"`, `"char"`), a config dict, or an instance."""
    if isinstance(identifier, Tokenizer):
        return identifier
    if isinstance(identifier, str):
        identifier = {"type": identifier}
    if isinstance(identifier, dict) and identifier.get("type") in TOKENIZERS:
        options = {key: value for key, value in identifier.items() if key != "type"}
        try:
            return TOKENIZERS[identifier["type"]](**options)
        except TypeError as error:
            raise ValueError(f"Invalid tokenizer config {identifier!r}: {error}") from None
    raise ValueError(
        f"`tokenizer` must be one of {sorted(TOKENIZERS)}, a config dict with a 'type' key, "
        f"or a Tokenizer. Received: tokenizer={identifier!r}"
    )
