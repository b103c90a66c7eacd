"""A deterministic token vocabulary with reserved special tokens."""

import collections
import json
import os
from pathlib import Path

from seqkit.data.errors import DataError
from seqkit.utils import atomic_write_text

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
BOS_TOKEN = "<bos>"
EOS_TOKEN = "<eos>"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN)

_FORMAT = "seqkit.Vocabulary"


class Vocabulary:
    """Maps tokens to integer ids and back.

    Ids are deterministic: `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3, then
    tokens by decreasing frequency, ties broken alphabetically. The same corpus
    always gives the same ids, whatever order it is read in.

    Args:
        tokens: the full token list, specials first, as returned by `tokens`.

    Examples:
    >>> vocab = Vocabulary.build([["the", "cat"], ["the", "dog"]])
    >>> vocab.tokens
    ['<pad>', '<unk>', '<bos>', '<eos>', 'the', 'cat', 'dog']
    >>> vocab.encode(["the", "bird"])
    [4, 1]
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(
                f"A vocabulary must start with the special tokens {list(SPECIAL_TOKENS)}. "
                f"Received: tokens[:4]={tokens[:4]!r}"
            )
        index = {}
        for position, token in enumerate(tokens):
            if not isinstance(token, str):
                raise ValueError(
                    f"Vocabulary tokens must be strings. Received: {token!r} at position {position}"
                )
            if token in index:
                raise ValueError(
                    f"Vocabulary tokens must be unique. Received: {token!r} at positions "
                    f"{index[token]} and {position}"
                )
            index[token] = position
        self._tokens = tokens
        self._index = index
        # Token frequencies, when the vocabulary was built from a corpus.
        self.counts = None

    @classmethod
    def build(cls, tokenized_texts, min_freq=1, max_size=None):
        """Counts tokens and keeps the frequent ones.

        Args:
            tokenized_texts: an iterable of token sequences. It is read once, so a
                generator streams a corpus without holding it in memory.
            min_freq: keep tokens seen at least this many times.
            max_size: the largest vocabulary size, special tokens included.
                `None` keeps every token that passes `min_freq`.
        """
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"`min_freq` must be an integer >= 1. Received: min_freq={min_freq!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < len(SPECIAL_TOKENS)):
            raise ValueError(
                f"`max_size` must be None or an integer >= {len(SPECIAL_TOKENS)} (it counts the "
                f"special tokens). Received: max_size={max_size!r}"
            )
        counts = collections.Counter()
        for tokens in tokenized_texts:
            if isinstance(tokens, str):
                raise ValueError(
                    "`tokenized_texts` must be an iterable of token lists, not of strings. "
                    f"Received the string {tokens[:50]!r}; tokenize it first."
                )
            counts.update(tokens)
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        ranked = sorted(
            (token for token, count in counts.items() if count >= min_freq),
            key=lambda token: (-counts[token], token),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIAL_TOKENS)]
        vocabulary = cls(list(SPECIAL_TOKENS) + ranked)
        vocabulary.counts = {token: counts[token] for token in ranked}
        return vocabulary

    # === Lookup ===

    @property
    def tokens(self):
        return list(self._tokens)

    @property
    def size(self):
        return len(self._tokens)

    def __len__(self):
        return len(self._tokens)

    def __contains__(self, token):
        return token in self._index

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self):
        return f"Vocabulary(size={self.size})"

    def require_tokens(self, source, min_freq, option="--min-freq", unit="word"):
        """Raises a `DataError` naming `source` and `option` if only the special tokens made it in.

        A recipe calls this before building a model: an empty training text, or a
        `min_freq` above every count, would otherwise fail deep in the model builder.

        Examples:
        >>> Vocabulary.build([["a", "b"]], min_freq=2).require_tokens("train.csv", 2)
        Traceback (most recent call last):
        ...
        seqkit.data.errors.DataError: train.csv: no word occurs at least --min-freq=2 times in the training text, ...
        """
        if self.size <= len(SPECIAL_TOKENS):
            raise DataError(
                f"{source}: no {unit} occurs at least {option}={min_freq} times in the training text, so the "
                f"vocabulary holds only the special tokens. Use more training text or a lower {option}."
            )

    pad_id = property(lambda self: 0)
    unk_id = property(lambda self: 1)
    bos_id = property(lambda self: 2)
    eos_id = property(lambda self: 3)

    def token_to_id(self, token):
        return self._index.get(token, self.unk_id)

    def id_to_token(self, token_id):
        if not 0 <= int(token_id) < len(self._tokens):
            raise ValueError(
                f"Token id must be in [0, {len(self._tokens)}). Received: token_id={token_id!r}"
            )
        return self._tokens[int(token_id)]

    def encode(self, tokens):
        """Returns the ids of `tokens`; unknown tokens map to `<unk>`."""
        return [self._index.get(token, 1) for token in tokens]

    def decode(self, ids, skip_special=False):
        """Returns the tokens of `ids`, optionally without special tokens."""
        tokens = [self.id_to_token(token_id) for token_id in ids]
        if skip_special:
            tokens = [token for token in tokens if token not in SPECIAL_TOKENS]
        return tokens

    def lookup_layer(self, invert=False):
        """A `keras.layers.StringLookup` with exactly these ids, for tf.data and exports.

        The layer's mask token is `<pad>` (id 0) and its single OOV token is `<unk>`
        (id 1), so `layer(tokens)` equals `encode(tokens)`.
        """
        import keras

        return keras.layers.StringLookup(
            vocabulary=self._tokens[2:],
            mask_token=PAD_TOKEN,
            oov_token=UNK_TOKEN,
            num_oov_indices=1,
            invert=invert,
        )

    # === Serialization ===

    def to_json(self):
        return {"format": _FORMAT, "version": 1, "tokens": self._tokens}

    @classmethod
    def from_json(cls, data, source="<json>"):
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("tokens"), list):
            raise DataError(f"{source}: not a seqkit vocabulary file (expected format {_FORMAT!r}).")
        try:
            return cls(data["tokens"])
        except ValueError as error:
            raise DataError(f"{source}: invalid vocabulary: {error}") from None

    def save(self, path):
        """Writes the vocabulary as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path):
        path = Path(os.fspath(path))
        if not path.is_file():
            raise DataError(f"Vocabulary file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"{path}: not valid UTF-8 JSON ({error}).") from None
        return cls.from_json(data, source=str(path))
