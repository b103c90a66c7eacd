"""Token strings to tagger inputs (word ids, character ids, casing ids), in `tf.strings` ops.

Written once in TensorFlow ops and used both to prepare training data and inside
exported SavedModels, so training and serving can never featurize differently.
"""

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from seqkit.data.casing import CASING_NAMES, CASINGS  # noqa: F401 (re-exported)
from seqkit.data.errors import DataError
from seqkit.data.tokenizers import _to_python
from seqkit.data.vocabulary import Vocabulary
from seqkit.utils import atomic_write_text


_FORMAT = "seqkit.TagFeaturizer"


class TagFeaturizer:
    """Turns token strings into the three inputs of `build_tagger`.

    - `words`: the word vocabulary id of the normalised token (lowercased, digits
      replaced by 0, when those options are on);
    - `chars`: the character vocabulary ids of the raw token, cut to `max_word_length`;
    - `casing`: one of `CASING_NAMES` (so lowercasing the words loses nothing).

    Args:
        word_vocabulary: a `Vocabulary` of normalised words.
        char_vocabulary: a `Vocabulary` of characters.
        lowercase: lowercase words before the lookup (Unicode-aware).
        normalize_digits: map every digit to "0" before the lookup.
        max_word_length: characters kept per token.

    Examples:
    >>> featurizer = TagFeaturizer.build([["EU", "rejects", "German", "call"]])
    >>> features = featurizer.encode([["EU", "calls", "1996"]])
    >>> features["words"].tolist(), features["casing"].tolist()
    ([[5, 1, 1]], [[4, 5, 1]])
    """

    def __init__(self, word_vocabulary, char_vocabulary, lowercase=True, normalize_digits=True, max_word_length=20):
        if not isinstance(max_word_length, int) or max_word_length < 1:
            raise ValueError(f"`max_word_length` must be a positive int. Received: {max_word_length!r}")
        self.word_vocabulary = word_vocabulary
        self.char_vocabulary = char_vocabulary
        self.lowercase = bool(lowercase)
        self.normalize_digits = bool(normalize_digits)
        self.max_word_length = max_word_length
        self._word_lookup = word_vocabulary.lookup_layer()
        self._char_lookup = char_vocabulary.lookup_layer()

    @classmethod
    def build(cls, sentences, min_word_freq=1, max_words=None, min_char_freq=1, **options):
        """Builds both vocabularies from training sentences (lists of token strings)."""
        probe = cls(Vocabulary.build([]), Vocabulary.build([]), **options)
        words, chars = [], []
        for start in range(0, len(sentences), 4096):
            tokens = tf.ragged.constant(sentences[start : start + 4096], dtype=tf.string)
            words.append([word.decode("utf-8") for word in probe.normalize(tokens.flat_values).numpy()])
            chars.extend(_to_python(tf.strings.unicode_split(tokens.flat_values, "UTF-8", errors="replace")))
        word_vocabulary = Vocabulary.build(words, min_freq=min_word_freq, max_size=max_words)
        char_vocabulary = Vocabulary.build(chars, min_freq=min_char_freq)
        return cls(word_vocabulary, char_vocabulary, **options)

    # === Graph ops ===

    def normalize(self, tokens):
        """The word-lookup form of a string tensor of tokens."""
        if self.lowercase:
            tokens = tf.strings.lower(tokens, encoding="utf-8")
        if self.normalize_digits:
            tokens = tf.strings.regex_replace(tokens, r"\p{Nd}", "0")
        return tokens

    def features(self, tokens):
        """Features of a `(batch, None)` ragged or dense string tensor of tokens.

        Returns a dict of dense int32 tensors: `words` and `casing` `(batch, time)`,
        `chars` `(batch, time, max_word_length)`, all padded with 0. In a dense input,
        empty strings are padding.
        """
        if not isinstance(tokens, tf.RaggedTensor):
            tokens = tf.convert_to_tensor(tokens, tf.string)
            tokens = tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)
        flat = tokens.flat_values
        words = tf.cast(self._word_lookup(self.normalize(flat)), tf.int32)
        # A real token that reads "<pad>" is unknown, not padding (id 0 is the lookup's mask token).
        words = tf.where(words == 0, 1, words)
        characters = tf.strings.unicode_split(flat, "UTF-8", errors="replace")[:, : self.max_word_length]
        chars = tf.cast(self._char_lookup(characters), tf.int32)
        casing = tf.zeros_like(words)
        for index in range(len(CASINGS) - 1, 0, -1):
            casing = tf.where(tf.strings.regex_full_match(flat, CASINGS[index][1]), index, casing)
        rebuild = tokens.with_flat_values
        return {
            "words": rebuild(words).to_tensor(0),
            "chars": rebuild(chars).to_tensor(0, shape=[None, None, self.max_word_length]),
            "casing": rebuild(casing).to_tensor(0),
        }

    # === Python side ===

    def encode(self, sentences, batch_size=2048):
        """Features of a list of token lists, as padded numpy arrays (see `features`)."""
        if not sentences:
            raise ValueError("`encode` needs at least one sentence. Received: an empty list")
        parts = [
            {key: value.numpy() for key, value in self.features(tf.ragged.constant(chunk, dtype=tf.string)).items()}
            for chunk in (sentences[start : start + batch_size] for start in range(0, len(sentences), batch_size))
        ]
        length = max(part["words"].shape[1] for part in parts)
        return {key: np.concatenate([_pad_to(part[key], length) for part in parts]) for key in parts[0]}

    def get_config(self):
        return {
            "format": _FORMAT,
            "version": 1,
            "lowercase": self.lowercase,
            "normalize_digits": self.normalize_digits,
            "max_word_length": self.max_word_length,
            "word_vocabulary": self.word_vocabulary.tokens,
            "char_vocabulary": self.char_vocabulary.tokens,
        }

    @classmethod
    def from_config(cls, config):
        options = {key: config[key] for key in ("lowercase", "normalize_digits", "max_word_length")}
        return cls(Vocabulary(config["word_vocabulary"]), Vocabulary(config["char_vocabulary"]), **options)

    def save(self, path):
        atomic_write_text(path, json.dumps(self.get_config(), ensure_ascii=False))

    @classmethod
    def load(cls, path):
        path = Path(os.fspath(path)).expanduser()
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"File not found: {path}") from None
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); not a featurizer file.") from None
        except json.JSONDecodeError as error:
            raise DataError(f"{path}, line {error.lineno}: not valid JSON ({error.msg}).") from None
        if not isinstance(config, dict) or config.get("format") != _FORMAT:
            raise DataError(f"{path}: not a seqkit tag featurizer file (expected format {_FORMAT!r}).")
        try:
            return cls.from_config(config)
        except KeyError as error:
            raise DataError(f"{path}: the featurizer file lacks the key {error.args[0]!r}.") from None
        except ValueError as error:
            raise DataError(f"{path}: {error}") from None


def _pad_to(array, length):
    padding = [(0, 0), (0, length - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, padding)
