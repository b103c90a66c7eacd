"""Strings to token ids, as one Keras layer used by tf.data and by exports."""

import keras
import tensorflow as tf

from seqkit.data.tokenizers import get_tokenizer
from seqkit.data.vocabulary import Vocabulary


@keras.saving.register_keras_serializable(package="seqkit")
class TextPreprocessor(keras.layers.Layer):
    """Tokenizes raw strings and maps the tokens to vocabulary ids.

    A scalar string gives a 1-D id vector (for `tf.data.Dataset.map`); a batch of
    strings gives a `(batch, length)` matrix padded with `<pad>` (id 0). A text
    with no tokens becomes the single id of `<unk>`, so no sequence is ever empty
    or fully masked.

    This layer is TensorFlow-specific (it runs `tf.strings` ops); the models it
    feeds use `keras.ops` only.

    Args:
        tokenizer: a tokenizer name, config dict or instance (see `get_tokenizer`).
        vocabulary: a `Vocabulary` or its token list.
        max_length: truncate to this many tokens; `None` keeps them all.

    Examples:
    >>> vocabulary = Vocabulary.build([["good", "film"]])
    >>> TextPreprocessor("word", vocabulary)(["Good film!"]).numpy().tolist()
    [[5, 4, 1]]
    """

    def __init__(self, tokenizer, vocabulary, max_length=None, **kwargs):
        kwargs.setdefault("trainable", False)
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"`max_length` must be None or a positive int. Received: max_length={max_length!r}")
        self.tokenizer = get_tokenizer(tokenizer)
        self.vocabulary = vocabulary if isinstance(vocabulary, Vocabulary) else Vocabulary(vocabulary)
        self.max_length = max_length
        self.lookup = self.vocabulary.lookup_layer()
        self._allow_non_tensor_positional_args = True
        self.built = True

    def ragged_ids(self, strings):
        """Ids of a 1-D batch of strings as a `tf.RaggedTensor` (no padding)."""
        tokens = self.tokenizer.tokenize_tensor(strings)
        if self.max_length is not None:
            tokens = tokens[:, : self.max_length]
        return _fill_empty_rows(tf.cast(self.lookup(tokens), tf.int32))

    def call(self, strings):
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        ids = self.ragged_ids(tf.reshape(strings, [-1]))
        if strings.shape.rank == 0:
            return ids[0]
        return ids.to_tensor(default_value=0)

    def compute_output_spec(self, strings):
        rank = len(strings.shape)
        shape = (None,) if rank == 0 else (strings.shape[0], None)
        return keras.KerasTensor(shape, dtype="int32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": self.tokenizer.get_config(),
                "vocabulary": self.vocabulary.tokens,
                "max_length": self.max_length,
            }
        )
        return config


def _fill_empty_rows(ids):
    # Appends one `<unk>` (id 1) to each row with no ids; other rows are unchanged.
    empty = tf.cast(tf.equal(ids.row_lengths(), 0), tf.int64)
    fill = tf.RaggedTensor.from_row_lengths(tf.ones([tf.reduce_sum(empty)], dtype=ids.dtype), empty)
    return tf.concat([ids, fill], axis=1)
