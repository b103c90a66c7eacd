"""tf.data input pipelines: tokenize, look up, cache, shuffle, bucket by length, pad.

This module is TensorFlow-specific. The datasets it builds feed Keras models on
any backend that accepts `tf.data` (TensorFlow, JAX, PyTorch).
"""

import numpy as np
import tensorflow as tf

from seqkit.data.preprocessor import TextPreprocessor


def prefetch(dataset):
    """`dataset.prefetch(AUTOTUNE)`, with tf.data's autotuning turned off.

    Autotuning runs a background thread that wakes up on a doubling period (up to
    a minute), and deleting an iterator waits for its next wake-up; Keras deletes
    one at the end of every `fit` and epoch. On a 2-core CPU, 8 batches of the char
    LM (10 s of training) regularly took 20.5 s in `fit` with TensorFlow 2.21 (the
    rest after the last callback), and never without autotuning. These pipelines
    are light next to the models and lose nothing by it: an epoch of MR's texts
    was tokenized, bucketed and batched in 1.9 s without it, 2.6 s with it.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def bucket_boundaries(max_length=None, first=8, ratio=1.25, last=4096):
    """Geometric length boundaries (8, 10, 12, 15, ...), so padding stays under ~25%."""
    upper = min(max_length or last, last)
    boundaries, value = [], first
    while value < upper:
        boundaries.append(int(value))
        value = max(value + 1, value * ratio)
    return sorted(set(boundaries))


def resolve_pad_multiple(pad_to_multiple_of):
    """`"auto"`: 8 on the JAX backend, else None (no rounding).

    JAX compiles a train step for every new batch shape; batches padded to their
    longest row bring a new shape with nearly every length, so the first epochs
    on JAX are mostly compilation. Rounding the time axis up to a multiple of 8
    bounds the shapes (a bucket of lengths 33-40 gives one). TensorFlow traces
    with unknown lengths and needs no rounding.
    """
    if pad_to_multiple_of == "auto":
        import keras

        return 8 if keras.backend.backend() == "jax" else None
    if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of < 1):
        raise ValueError(
            f"`pad_to_multiple_of` must be 'auto', None or a positive int. Received: {pad_to_multiple_of!r}"
        )
    return pad_to_multiple_of


def pad_to_multiple(ids, multiple):
    """Pads a `(batch, time)` tensor with 0 up to a time length that is a multiple of `multiple`."""
    if not multiple:
        return ids
    extra = (-tf.shape(ids)[1]) % multiple
    return tf.pad(ids, [[0, 0], [0, extra]])


def make_dataset(
    texts,
    targets=None,
    *,
    preprocessor,
    batch_size=32,
    shuffle=False,
    seed=None,
    bucketing=True,
    cache=True,
    repeat=False,
    pad_to_multiple_of="auto",
):
    """Builds a batched `tf.data.Dataset` of `(token_ids, target)` from raw texts.

    Padding uses id 0, so an `Embedding(mask_zero=True)` masks it. With
    `bucketing`, examples of similar length are batched together, which removes
    most padding and with it most of the wasted recurrent steps.

    Args:
        texts: a list of strings, or a `tf.data.Dataset` of scalar strings for a
            corpus streamed from disk (e.g. `tf.data.TextLineDataset`).
        targets: `None`, or an array of targets aligned with `texts` (int class
            ids, float values, or multi-hot rows). Ignored if `texts` is a dataset
            of `(text, target)` pairs.
        preprocessor: a `TextPreprocessor` (strings -> ids).
        batch_size: examples per batch.
        shuffle: shuffle the examples each epoch (seeded by `seed`).
        bucketing: batch by length (`True`) or pad each batch to its longest text.
        cache: for a dataset of strings, keep the token ids in memory after the
            first pass. Turn it off for corpora that do not fit in memory; they are
            then re-read each epoch. A list of texts is tokenized once, up front,
            and the dataset knows its number of batches: over a dataset of unknown
            length, Keras 3.15 warns that the input "ran out of data" after the
            first epoch and counts one optimizer iteration too many per epoch
            (24 for 3 epochs of 7 batches), which shifts Adam's bias correction.
        repeat: repeat forever (for `steps_per_epoch` training).
        pad_to_multiple_of: round each batch's time length up to a multiple of
            this (`"auto"`: 8 on JAX, which compiles once per shape; else none).

    Examples:
    >>> from seqkit.data import TextPreprocessor, Vocabulary
    >>> preprocessor = TextPreprocessor("word", Vocabulary.build([["a", "b"]]))
    >>> dataset = make_dataset(["a b", "b"], np.array([0, 1]), preprocessor=preprocessor, batch_size=2)
    >>> [x.shape.as_list() for x, y in dataset]
    [[2, 2]]
    """
    if not isinstance(preprocessor, TextPreprocessor):
        raise ValueError(
            f"`preprocessor` must be a seqkit TextPreprocessor. Received: {type(preprocessor).__name__}"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")

    if isinstance(texts, tf.data.Dataset):
        # Tokenize in batches (one regex pass per 1024 texts), then split back into examples.
        def to_ids(texts, *rest):
            ids = preprocessor.ragged_ids(texts)
            return (ids.to_tensor(), tf.cast(ids.row_lengths(), tf.int32)) + rest

        def trim(ids, length, *rest):
            return (ids[:length],) + rest

        dataset = texts.batch(1024).map(to_ids, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        dataset = dataset.map(trim, num_parallel_calls=tf.data.AUTOTUNE)
        if cache:
            dataset = dataset.cache()
        num_examples = lengths = None
    else:
        texts = list(texts)
        num_examples = len(texts)
        ids = _ragged_ids(preprocessor.ragged_ids, texts)
        lengths = ids.row_lengths().numpy()
        columns = ids
        if targets is not None:
            targets = np.asarray(targets)
            if len(targets) != num_examples:
                raise ValueError(
                    f"`texts` and `targets` must have the same length. Received: {num_examples} texts "
                    f"and {len(targets)} targets"
                )
            columns = (ids, targets)
        dataset = tf.data.Dataset.from_tensor_slices(columns).map(_dense_rows)
    if shuffle:
        buffer = num_examples if num_examples is not None else 10_000
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()

    dataset = _batch(dataset, batch_size, bucketing, preprocessor.max_length, lengths=None if repeat else lengths)
    multiple = resolve_pad_multiple(pad_to_multiple_of)
    if multiple:
        dataset = dataset.map(lambda ids, *rest: (pad_to_multiple(ids, multiple), *rest))
    return prefetch(dataset)


def _ragged_ids(encode, texts, chunk=1024):
    """`encode` (strings -> RaggedTensor of ids) over `texts`, `chunk` texts per call, as one RaggedTensor."""
    if not texts:
        return encode(tf.constant([], tf.string))
    return tf.concat([encode(tf.constant(texts[i : i + chunk], tf.string)) for i in range(0, len(texts), chunk)], 0)


def _dense_rows(*columns):
    """A dataset element of ragged rows (from `from_tensor_slices` of RaggedTensors) as a tuple of dense tensors."""
    return tuple(tf.convert_to_tensor(column) for column in columns)


def count_batches(lengths, batch_size, bucketing=True, max_length=None):
    """The number of batches `make_dataset` makes of examples of these token `lengths`.

    Bucketing flushes each length bucket's partial batch at the end of an epoch,
    so an epoch holds `ceil(n / batch_size)` batches per bucket of `n` examples.

    Examples:
    >>> count_batches([3, 3, 50], batch_size=3)  # Lengths 3 and 50 fall in different buckets.
    2
    >>> count_batches([3, 3, 50], batch_size=3, bucketing=False)
    1
    """
    lengths = np.asarray(lengths)
    if not bucketing:
        return int(-(-len(lengths) // batch_size))
    # bucket_by_sequence_length puts a length in the first bucket whose boundary exceeds it.
    buckets = np.searchsorted(bucket_boundaries(max_length), lengths, side="right")
    return int(np.sum(-(-np.bincount(buckets) // batch_size)))


def _batch(dataset, batch_size, bucketing, max_length, lengths=None):
    """Pads examples into batches; with `bucketing`, of similar first-component length.

    With the examples' `lengths` (one epoch's worth), the dataset also knows its number of batches.
    """
    if not bucketing:
        dataset = dataset.padded_batch(batch_size)
    else:
        boundaries = bucket_boundaries(max_length)
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda ids, *rest: tf.shape(ids)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            drop_remainder=False,
        )
    if lengths is None:
        return dataset
    return dataset.apply(tf.data.experimental.assert_cardinality(count_batches(lengths, batch_size, bucketing, max_length)))


def make_pair_dataset(
    sources,
    targets,
    *,
    source_preprocessor,
    target_preprocessor,
    batch_size=64,
    shuffle=False,
    seed=None,
    bucketing=True,
    bos_id=2,
    eos_id=3,
    pad_to_multiple_of="auto",
):
    """Builds a batched `tf.data.Dataset` of `({"source_ids", "target_ids"}, next_ids)` for teacher forcing.

    `target_ids` is `<bos>` then the target's ids (the decoder's input) and
    `next_ids` is the target's ids then `<eos>` (what it must predict), both
    padded with 0, which masks them. Batches group sources of similar length.

    Args:
        sources, targets: aligned lists of strings.
        source_preprocessor, target_preprocessor: `TextPreprocessor`s.
        batch_size, shuffle, seed, bucketing, pad_to_multiple_of: as in
            `make_dataset` (the rounding applies to sources and targets alike).
            The pairs are tokenized once, up front.
        bos_id, eos_id: the target vocabulary's `<bos>` and `<eos>` ids.

    Examples:
    >>> from seqkit.data import TextPreprocessor, Vocabulary
    >>> source = TextPreprocessor("word", Vocabulary.build([["hola"]]))
    >>> target = TextPreprocessor("word", Vocabulary.build([["hello"]]))
    >>> inputs, next_ids = next(iter(make_pair_dataset(["hola"], ["hello"], source_preprocessor=source,
    ...                                               target_preprocessor=target, batch_size=1)))
    >>> inputs["target_ids"].numpy().tolist(), next_ids.numpy().tolist()
    ([[2, 4]], [[4, 3]])
    """
    for argument, value in (("source_preprocessor", source_preprocessor), ("target_preprocessor", target_preprocessor)):
        if not isinstance(value, TextPreprocessor):
            raise ValueError(f"`{argument}` must be a seqkit TextPreprocessor. Received: {type(value).__name__}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}")
    sources, targets = list(sources), list(targets)
    if len(sources) != len(targets):
        raise ValueError(
            f"`sources` and `targets` must have the same length. Received: {len(sources)} sources and "
            f"{len(targets)} targets"
        )

    def encode_targets(strings):
        ids = tf.cast(target_preprocessor.lookup(target_preprocessor.tokenizer.tokenize_tensor(strings)), tf.int32)
        return ids if target_preprocessor.max_length is None else ids[:, : target_preprocessor.max_length]

    source_ids = _ragged_ids(source_preprocessor.ragged_ids, sources)
    target_ids = _ragged_ids(encode_targets, targets)
    rows = tf.fill([len(targets), 1], 0)
    decoder_input = tf.concat([rows + bos_id, target_ids], axis=1)
    next_ids = tf.concat([target_ids, rows + eos_id], axis=1)
    dataset = tf.data.Dataset.from_tensor_slices((source_ids, decoder_input, next_ids)).map(_dense_rows)
    if shuffle:
        dataset = dataset.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)
    dataset = _batch(dataset, batch_size, bucketing, source_preprocessor.max_length,
                     lengths=source_ids.row_lengths().numpy())
    multiple = resolve_pad_multiple(pad_to_multiple_of)
    dataset = dataset.map(lambda source, decoder_input, next_ids: (
        {"source_ids": pad_to_multiple(source, multiple), "target_ids": pad_to_multiple(decoder_input, multiple)},
        pad_to_multiple(next_ids, multiple),
    ))
    return prefetch(dataset)
