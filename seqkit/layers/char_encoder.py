"""A character-level word encoder: each word's characters to one vector."""

import keras
from keras import ops

from seqkit.layers.embedding import Embedding

ENCODERS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="seqkit")
class CharacterEncoder(keras.layers.Layer):
    """Encodes `(batch, time, chars)` character ids into `(batch, time, output_dim)` word vectors.

    `"cnn"` (Ma & Hovy 2016): a character embedding, a 1-D convolution and a max
    over the word's characters. `"lstm"` (Lample et al. 2016): a bidirectional
    LSTM over the characters, its two final states concatenated. Character id 0
    is padding; a word with no characters (a padded time step) encodes to zeros.

    Args:
        vocabulary_size: the number of character ids.
        encoder: `"cnn"` or `"lstm"`.
        embedding_dim: the character embedding width.
        hidden_dim: CNN filters, or LSTM units per direction (output is twice that).
        kernel_size: the CNN window, in characters.
        dropout: dropout on the character embeddings.

    Examples:
    >>> import numpy as np
    >>> encoder = CharacterEncoder(10, "cnn", embedding_dim=4, hidden_dim=6)
    >>> tuple(encoder(np.array([[[4, 5, 0], [0, 0, 0]]])).shape)
    (1, 2, 6)
    """

    def __init__(self, vocabulary_size, encoder="cnn", embedding_dim=30, hidden_dim=50, kernel_size=3, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ValueError(f"`encoder` must be one of {ENCODERS}. Received: encoder={encoder!r}")
        self.vocabulary_size = vocabulary_size
        self.encoder = encoder
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.embedding = Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="char_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout)
        if encoder == "cnn":
            self.convolution = keras.layers.Conv1D(hidden_dim, kernel_size, padding="same", activation="tanh", name="char_convolution")
        else:
            self.lstm = keras.layers.Bidirectional(keras.layers.LSTM(hidden_dim), name="char_lstm")
        self.output_dim = hidden_dim if encoder == "cnn" else 2 * hidden_dim

    def build(self, input_shape):
        chars = input_shape[-1]
        self.embedding.build((None, chars))
        if self.encoder == "cnn":
            self.convolution.build((None, chars, self.embedding_dim))
        else:
            self.lstm.build((None, chars, self.embedding_dim))

    def call(self, char_ids, training=None):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[-1]))
        mask = flat > 0
        x = self.embedding_dropout(self.embedding(flat), training=training)
        if self.encoder == "cnn":
            x = self.convolution(x * ops.expand_dims(ops.cast(mask, x.dtype), -1))
            lowest = ops.cast(-1e9, x.dtype)
            x = ops.max(ops.where(ops.expand_dims(mask, -1), x, lowest), axis=1)
        else:
            # A word with no characters keeps one (masked) step, so the LSTM sees a valid sequence.
            x = self.lstm(x, mask=ops.logical_or(mask, ops.arange(shape[-1])[None, :] == 0), training=training)
        word_has_chars = ops.expand_dims(ops.any(mask, axis=1), -1)
        x = ops.where(word_has_chars, x, ops.zeros_like(x))
        return ops.reshape(x, (shape[0], shape[1], self.output_dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "encoder": self.encoder,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "kernel_size": self.kernel_size,
            "dropout": self.dropout,
        }
