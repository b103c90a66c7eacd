"""A bag of hashed n-grams over token ids (fastText-style), as a Keras layer.

There is no maintained Keras 3 layer for this: `TextVectorization(ngrams=...)`
works on strings, outside the model, and only in TensorFlow. This one hashes
n-grams of token ids with `keras.ops`, so it runs on any backend and inside an
export, with no change to preprocessing.
"""

import keras
from keras import ops

from seqkit.layers.embedding import Embedding

# The largest int whose square fits in int32: keeps hashing overflow-free on any backend.
_BASE = 46340
# One multiplier (a prime below `_BASE`) per n-gram position from the third on. Word
# pairs hash as `(a * _BASE + b) mod num_buckets`; each later token `t` at position `k`
# adds `(t * _POSITION_MULTIPLIERS[k - 2]) mod num_buckets`. (Before 2026-11-23 the
# pair's hash was folded back in with `mod _BASE` and multiplied by `_BASE` again, which
# kept little more than its last token: for the ~`num_buckets / _BASE` most frequent
# first tokens, a trigram hashed exactly like its final pair.)
_POSITION_MULTIPLIERS = (45677, 10691, 31543, 13729, 20731, 28349, 34369, 23599, 9769, 41809, 22381, 10141, 11579, 29473)
MAX_ORDER = len(_POSITION_MULTIPLIERS) + 2


@keras.saving.register_keras_serializable(package="seqkit")
class NgramEmbedding(keras.layers.Layer):
    """Embeds every token and every hashed n-gram of a sequence, then averages them.

    Unigrams use their token id; n-grams of order 2 and more are hashed into
    `num_buckets` ids. Padding (id 0) and n-grams that touch it are ignored.
    The output is the mean embedding, a `(batch, output_dim)` summary that
    complements a recurrent encoder with cheap, strong local features (the
    "wide" half of a wide-and-deep classifier).

    Cost: with seqkit's `Embedding` lookup and `LazyAdam` (the classifier's
    default), a step touches only the rows its n-grams use, so a large table is
    cheap on TensorFlow. Keras' own Adam updates every row at every step.

    Args:
        vocabulary_size: the number of token ids.
        output_dim: the embedding width.
        orders: the n-gram orders to use, e.g. `(1, 2)` for unigrams and bigrams.
        num_buckets: hash buckets for the n-grams of order >= 2.
        combiner: `"mean"` (the average vector) or `"sum"` (with `output_dim=1`,
            a linear model over n-gram counts).
        binary: count each distinct n-gram of a text once (the binarized
            features NBSVM is fit on), not once per occurrence.

    Examples:
    >>> import numpy as np
    >>> tuple(NgramEmbedding(100, 8)(np.array([[5, 6, 7, 0]])).shape)
    (1, 8)
    """

    def __init__(
        self, vocabulary_size, output_dim, orders=(1, 2), num_buckets=200_000, combiner="mean", binary=False, **kwargs
    ):
        super().__init__(**kwargs)
        self.binary = bool(binary)
        if combiner not in ("mean", "sum"):
            raise ValueError(f"`combiner` must be 'mean' or 'sum'. Received: combiner={combiner!r}")
        self.combiner = combiner
        orders = tuple(int(order) for order in orders)
        if not orders or min(orders) < 1 or max(orders) > MAX_ORDER:
            raise ValueError(
                f"`orders` must be n-gram orders from 1 to {MAX_ORDER}, e.g. (1, 2). Received: orders={orders!r}"
            )
        if not isinstance(num_buckets, int) or not 1 <= num_buckets <= 2**30:
            raise ValueError(f"`num_buckets` must be an int from 1 to 2**30. Received: num_buckets={num_buckets!r}")
        self.vocabulary_size = int(vocabulary_size)
        self.output_dim = int(output_dim)
        self.orders = orders
        self.num_buckets = num_buckets
        self.embedding = Embedding(
            self.vocabulary_size + num_buckets, self.output_dim, embeddings_initializer="uniform",
            trainable=self.trainable, name="table",
        )

    def build(self, input_shape):
        self.embedding.build((None,))

    def ngram_ids(self, token_ids):
        """`(ids, valid)` for every n-gram position: `(batch, positions)` each, all orders concatenated."""
        token_ids = ops.cast(token_ids, "int32")
        present = ops.not_equal(token_ids, 0)
        all_ids, all_valid = [], []
        for order in self.orders:
            if order == 1:
                all_ids.append(token_ids)
                all_valid.append(present)
                continue
            length = ops.shape(token_ids)[1]
            # Sequences shorter than `order` have no n-gram of that order.
            steps = max(length - order + 1, 0) if isinstance(length, int) else ops.maximum(length - order + 1, 0)
            hashed = ops.mod(token_ids[:, :steps], _BASE)
            valid = present[:, :steps]
            for offset in range(1, order):
                following = token_ids[:, offset : offset + steps]
                if offset == 1:
                    hashed = ops.mod(hashed * _BASE + ops.mod(following, _BASE), self.num_buckets)
                else:  # Both terms are below `num_buckets` <= 2**30: the sum fits in int32.
                    term = ops.mod(ops.mod(following, _BASE) * _POSITION_MULTIPLIERS[offset - 2], self.num_buckets)
                    hashed = ops.mod(hashed + term, self.num_buckets)
                valid = ops.logical_and(valid, ops.not_equal(following, 0))
            all_ids.append(hashed + self.vocabulary_size)
            all_valid.append(valid)
        return ops.concatenate(all_ids, axis=1), ops.concatenate(all_valid, axis=1)

    def call(self, token_ids):
        ids, valid = self.ngram_ids(token_ids)
        if self.binary:
            ids, valid = _first_occurrences(ids, valid)
        weights = ops.expand_dims(ops.cast(valid, self.compute_dtype), -1)
        total = ops.sum(self.embedding(ids) * weights, axis=1)
        if self.combiner == "sum":
            return total
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "output_dim": self.output_dim,
            "orders": list(self.orders),
            "num_buckets": self.num_buckets,
            "combiner": self.combiner,
            "binary": self.binary,
        }


def _first_occurrences(ids, valid):
    """`(ids, valid)` sorted per row, with every repeat of an id marked invalid."""
    ordered = ops.sort(ops.where(valid, ids, -1), axis=-1)  # Invalid positions (-1) sort first.
    first = ops.concatenate(
        [ops.ones_like(ordered[:, :1], dtype="bool"), ops.not_equal(ordered[:, 1:], ordered[:, :-1])], axis=1
    )
    return ops.maximum(ordered, 0), ops.logical_and(first, ops.greater_equal(ordered, 0))
