"""Length-bucketed batches of padded numpy arrays, for any Keras backend."""

import math

import keras
import numpy as np


class BucketedBatches(keras.utils.PyDataset):
    """Batches of sentences of similar length, each cut to its longest sentence.

    Sentences are shuffled, grouped into pools of `pool_batches` batches, sorted by
    length inside a pool, cut into batches, and the batches shuffled: little
    padding, but a different mix every epoch. Unlike `make_dataset` this needs no
    TensorFlow, so the same training code runs on the JAX and torch backends.

    Args:
        inputs: a dict of numpy arrays `(num_sentences, max_length, ...)`, padded with 0.
        targets: optional `(num_sentences, max_length)` array, padded with -1, or a
            dict of such arrays (one per model output); a `(num_sentences,)` array
            (one label per sentence, as a classifier takes) is batched uncut.
        lengths: the true length of each sentence.
        batch_size: sentences per batch.
        shuffle: reshuffle every epoch (training); `False` keeps the input order
            (for `predict`; on TensorFlow, Keras fixes the time length if the
            first two batches share it, so pass validation data shuffled).
        seed: the shuffling seed.
        length_multiple: round each batch's length up to a multiple of this. On
            XLA backends (JAX) every new batch shape is compiled anew, so a
            multiple such as 8 trades a little padding for far fewer compilations.
            `None` picks 1 on TensorFlow and 8 elsewhere.

    Examples:
    >>> import numpy as np
    >>> words = np.array([[4, 5, 6], [7, 0, 0], [8, 9, 0]])
    >>> batches = BucketedBatches({"words": words}, None, lengths=[3, 1, 2], batch_size=2, shuffle=False)
    >>> [batch[0]["words"].shape for batch in batches]
    [(2, 3), (1, 2)]
    """

    def __init__(
        self, inputs, targets, lengths, batch_size=32, shuffle=True, seed=0, pool_batches=50, length_multiple=None, **kwargs
    ):
        # With one worker, Keras' PyDataset adapter on TensorFlow prefetches through tf.data with autotuning on,
        # and deleting its iterator at every epoch's end waits for the autotune thread's next wake-up (see
        # `seqkit.data.pipeline.prefetch`); with two, Keras' own threads prefetch and autotuning is off.
        kwargs.setdefault("workers", 2)
        super().__init__(**kwargs)
        self.length_multiple = default_length_multiple() if length_multiple is None else int(length_multiple)
        self.inputs = inputs
        self.targets = targets
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.pool_batches = pool_batches
        self.rng = np.random.default_rng(seed)
        sizes = {len(value) for value in inputs.values()} | {len(self.lengths)}
        if isinstance(targets, dict):
            sizes |= {len(value) for value in targets.values()}
        elif targets is not None:
            sizes.add(len(targets))
        if len(sizes) != 1:
            raise ValueError(f"`inputs`, `targets` and `lengths` must have the same number of rows. Received: {sorted(sizes)}")
        self.on_epoch_end()

    def on_epoch_end(self):
        count = len(self.lengths)
        if not self.shuffle:
            order = np.arange(count)
            self.batches = [order[start : start + self.batch_size] for start in range(0, count, self.batch_size)]
            return
        order = self.rng.permutation(count)
        pool_size = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, count, pool_size):
            pool = order[start : start + pool_size]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches.extend(pool[offset : offset + self.batch_size] for offset in range(0, len(pool), self.batch_size))
        self.batches = [batches[index] for index in self.rng.permutation(len(batches))]
        self._vary_the_first_two_lengths()

    def _vary_the_first_two_lengths(self):
        """Moves a batch of another length to second place, if there is one.

        On TensorFlow, Keras takes the tensor spec of a `PyDataset` from its first
        two batches: if they have the same length, that length is fixed and a
        later batch of another length fails. The epoch's order stays random.
        """
        lengths = [round_length(int(self.lengths[rows].max()), self.length_multiple) for rows in self.batches]
        if len(lengths) > 2 and lengths[0] == lengths[1]:
            other = next((index for index in range(2, len(lengths)) if lengths[index] != lengths[0]), None)
            if other is not None:
                self.batches[1], self.batches[other] = self.batches[other], self.batches[1]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)

    def __getitem__(self, index):
        rows = self.batches[index]
        length = round_length(int(self.lengths[rows].max()), self.length_multiple)
        inputs = {key: value[rows, :length] for key, value in self.inputs.items()}
        if self.targets is None:
            return (inputs,)
        if isinstance(self.targets, dict):
            return inputs, {key: _cut(value, rows, length) for key, value in self.targets.items()}
        return inputs, _cut(self.targets, rows, length)


def _cut(targets, rows, length):
    """The batch's rows of `targets`, cut to `length` steps unless they are one label per sentence."""
    return targets[rows] if np.ndim(targets) == 1 else targets[rows, :length]


def default_length_multiple():
    """1 on TensorFlow (shapes may vary freely), 8 on XLA-compiled backends such as JAX."""
    return 1 if keras.backend.backend() == "tensorflow" else 8


def round_length(length, multiple):
    """`length` (at least 1) rounded up to a multiple of `multiple`; arrays are cut, never grown, by it."""
    length = max(int(length), 1)
    return -(-length // multiple) * multiple


def concatenate_padded(arrays, fill=0):
    """Joins `(rows, length, ...)` arrays padded to different lengths along their rows, padding to the longest.

    >>> import numpy as np
    >>> concatenate_padded([np.array([[1, 2, 3]]), np.array([[4]])], fill=-1).tolist()
    [[1, 2, 3], [4, -1, -1]]
    """
    width = max(array.shape[1] for array in arrays)
    return np.concatenate(
        [np.pad(a, [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2), constant_values=fill) for a in arrays]
    )
