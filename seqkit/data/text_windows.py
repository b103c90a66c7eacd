"""Token streams for language modelling, cut into training windows by tf.data.

A corpus becomes one stream of token ids (characters, or words with `<eos>` at
each line end). Training reads it through windows of `sequence_length`:

- `window_dataset`: windows at shuffled offsets (re-jittered every epoch). Each
  window's input starts with `<bos>`, standing for "no context", so the model
  also learns the first token of a text and an empty prompt is meaningful.
- `stateful_window_dataset`: `batch_size` contiguous streams read in order,
  for truncated backpropagation through time with a stateful model: row `b` of
  batch `i + 1` continues row `b` of batch `i`.
"""

import os

import numpy as np
import tensorflow as tf

from seqkit.data.errors import DataError
from seqkit.data.pipeline import prefetch
from seqkit.data.tokenizers import CharTokenizer, WordTokenizer, _to_python
from seqkit.data.vocabulary import EOS_TOKEN, Vocabulary

LEVELS = ("char", "word")


def lm_tokenizer(level):
    """The tokenizer of a language-model level: case-preserving characters, or lowercased words."""
    if level == "char":
        return CharTokenizer(lowercase=False)
    if level == "word":
        return WordTokenizer(lowercase=True, strip_html=False)
    raise ValueError(f"`level` must be one of {LEVELS}. Received: level={level!r}")


def text_to_tokens(text, level, batch_size=4096):
    """The token stream of a text: every character (newlines included), or each
    line's words followed by `<eos>` (blank lines skipped).

    Examples:
    >>> text_to_tokens("Hi!\\n", "char")
    ['H', 'i', '!', '\\n']
    >>> text_to_tokens("To be.\\n\\nOr not.", "word")
    ['to', 'be', '.', '<eos>', 'or', 'not', '.', '<eos>']
    """
    tokenizer = lm_tokenizer(level)
    if level == "char":
        return _to_python(tokenizer.tokenize_tensor(tf.constant([text])))[0] if text else []
    lines = [line for line in text.splitlines() if line.strip()]
    tokens = []
    for start in range(0, len(lines), batch_size):
        for row in _to_python(tokenizer.tokenize_tensor(tf.constant(lines[start : start + batch_size]))):
            tokens += row + [EOS_TOKEN]
    return tokens


def build_lm_vocabulary(tokens, min_freq=1, max_size=None):
    """A vocabulary over a token stream (`<eos>` is already reserved)."""
    return Vocabulary.build([[token for token in tokens if token != EOS_TOKEN]], min_freq=min_freq, max_size=max_size)


def check_window_length(ids, sequence_length, name, source=None):
    """Raises a `DataError` unless `ids` hold one window of `sequence_length` tokens (plus the last target).

    `name` says which part ("training", "validation") and `source`, if given, the file it came from.
    """
    if sequence_length < 1:
        raise ValueError(f"`sequence_length` must be at least 1. Received: sequence_length={sequence_length}")
    if len(ids) < sequence_length + 1:
        raise DataError(
            f"{source + ': t' if source else 'T'}he {name} text is too short for one window: it has {len(ids)} "
            f"tokens, and a window needs sequence_length + 1 = {sequence_length + 1}. Use a longer text or a "
            "smaller --sequence-length."
        )


def num_windows(num_tokens, sequence_length):
    """Windows per epoch of `window_dataset`: every token is a target about once."""
    return max(1, (num_tokens - 1) // sequence_length)


def window_dataset(ids, sequence_length, batch_size, bos_id=2, shuffle=True, seed=0, name="training"):
    """`(inputs, targets)` batches of shape `(batch, sequence_length)` over a token stream.

    Targets are `ids[s : s + T]` and inputs `[<bos>] + ids[s : s + T - 1]`. With
    `shuffle`, there is one window per cell of a grid of `sequence_length`
    tokens, at a random offset in its cell that changes every epoch, in a random
    order; without it, the windows are the grid itself (deterministic evaluation).

    Examples:
    >>> ds = window_dataset(np.arange(10, 20), 4, batch_size=1, shuffle=False)
    >>> inputs, targets = next(iter(ds))
    >>> inputs.numpy().tolist(), targets.numpy().tolist()
    ([[2, 10, 11, 12]], [[10, 11, 12, 13]])
    """
    ids = np.asarray(ids, dtype="int32")
    check_window_length(ids, sequence_length, name)
    count = num_windows(len(ids), sequence_length)
    last_start = len(ids) - sequence_length
    stream = tf.constant(ids)
    bos = tf.constant([bos_id], dtype="int32")

    def window(offset):
        targets = stream[offset : offset + sequence_length]
        inputs = tf.concat([bos, targets[:-1]], axis=0)
        return tf.ensure_shape(inputs, [sequence_length]), tf.ensure_shape(targets, [sequence_length])

    starts = tf.data.Dataset.range(count)
    if shuffle:
        # One window per grid cell, at a random place in the cell that changes every
        # epoch (`rerandomize_each_iteration`), in a new order every epoch: each
        # epoch covers the text once, but never with the same window boundaries.
        starts = starts.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        shifts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        starts = tf.data.Dataset.zip((starts, shifts)).map(
            lambda start, shift: tf.minimum(start * sequence_length + shift % sequence_length, last_start)
        )
    else:
        starts = starts.map(lambda start: start * sequence_length)
    starts = starts.map(lambda start: tf.cast(start, "int32"))
    return prefetch(starts.map(window, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size))


def stateful_window_dataset(ids, sequence_length, batch_size, name="training"):
    """Consecutive windows for truncated BPTT: `batch_size` contiguous streams, in order.

    The stream is cut into `batch_size` equal parts; batch `i` holds window `i`
    of every part (inputs `ids[s : s + T]`, targets `ids[s + 1 : s + T + 1]`), so
    a stateful model carries each row's state into the next batch. Every batch
    is full, as a stateful model's fixed batch size requires.

    Examples:
    >>> ds = stateful_window_dataset(np.arange(20), 3, batch_size=2)
    >>> [inputs.numpy().tolist() for inputs, _ in ds]
    [[[0, 1, 2], [9, 10, 11]], [[3, 4, 5], [12, 13, 14]], [[6, 7, 8], [15, 16, 17]]]
    """
    ids = np.asarray(ids, dtype="int32")
    part = (len(ids) - 1) // batch_size
    if part < sequence_length:
        raise DataError(
            f"The {name} text is too short for stateful training: {len(ids)} tokens give {batch_size} streams "
            f"of {part} tokens, and a window needs {sequence_length}. Use a longer text, a smaller "
            f"--batch-size or a smaller --sequence-length."
        )
    steps = part // sequence_length
    used = steps * sequence_length
    inputs = np.stack([ids[b * part : b * part + used] for b in range(batch_size)])
    targets = np.stack([ids[b * part + 1 : b * part + used + 1] for b in range(batch_size)])
    inputs = inputs.reshape(batch_size, steps, sequence_length).transpose(1, 0, 2)
    targets = targets.reshape(batch_size, steps, sequence_length).transpose(1, 0, 2)
    return prefetch(tf.data.Dataset.from_tensor_slices((inputs, targets)))


# === Corpora larger than memory: streamed from disk ===


class TextFileRegion:
    """Bytes `[start, end)` of a text file, read a chunk of lines at a time (never the whole file).

    `split(path, train_fraction)` cuts a file, at a line boundary, into a
    training head and a validation tail (the contiguous split of the in-memory
    path), with only `os.stat` and one seek.

    Examples:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
    >>> _ = open(path, "w").write("ab\\ncd\\nef\\n")
    >>> train, val = TextFileRegion.split(path, 0.5)
    >>> [list(train.token_chunks("char")), list(val.token_chunks("char"))]
    [[['a', 'b', '\\n', 'c', 'd', '\\n']], [['e', 'f', '\\n']]]
    """

    def __init__(self, path, start=0, end=None, encoding="utf-8", chunk_bytes=1 << 20):
        self.path = str(path)
        self.start = int(start)
        self.end = os.path.getsize(self.path) if end is None else int(end)
        self.encoding = encoding
        self.chunk_bytes = int(chunk_bytes)

    @classmethod
    def split(cls, path, train_fraction, encoding="utf-8", chunk_bytes=1 << 20):
        size = os.path.getsize(path)
        with open(path, "rb") as file:
            file.seek(int(size * train_fraction))
            file.readline()  # To the end of the line the cut falls in.
            cut = min(file.tell(), size)
        return cls(path, 0, cut, encoding, chunk_bytes), cls(path, cut, size, encoding, chunk_bytes)

    @property
    def num_bytes(self):
        return self.end - self.start

    def text_chunks(self):
        """Whole lines, about `chunk_bytes` at a time, decoded."""
        with open(self.path, "rb") as file:
            file.seek(self.start)
            position = self.start
            while position < self.end:
                lines = file.readlines(min(self.chunk_bytes, self.end - position))
                if not lines:
                    return
                chunk = b"".join(lines)[: self.end - position]
                position += len(chunk)
                try:
                    yield chunk.decode(self.encoding)
                except UnicodeDecodeError as error:
                    raise DataError(
                        f"{self.path}: not valid {self.encoding} near byte {position - len(chunk) + error.start} "
                        f"({chunk[error.start : error.start + 8]!r}). Pass the file's --encoding."
                    ) from None

    def token_chunks(self, level):
        """The region's token stream (`text_to_tokens`), a chunk at a time."""
        for text in self.text_chunks():
            yield text_to_tokens(text, level)


def stream_window_dataset(region, vocabulary, level, sequence_length, batch_size, bos_id=2, shuffle=True,
                          shuffle_windows=10_000, seed=0, name="training"):
    """`(inputs, targets)` batches like `window_dataset`, over a `TextFileRegion` streamed from disk.

    The stream is cut into consecutive windows of `sequence_length` targets
    (inputs: `<bos>` then the targets but the last); with `shuffle`, they pass
    through a buffer of `shuffle_windows` windows. Memory holds one chunk of
    text and the buffer, whatever the file's size.
    """
    if sequence_length < 1:
        raise ValueError(f"`sequence_length` must be at least 1. Received: sequence_length={sequence_length}")

    def windows():
        carry = np.zeros((0,), "int32")
        for tokens in region.token_chunks(level):
            carry = np.concatenate([carry, np.asarray(vocabulary.encode(tokens), "int32")])
            usable = len(carry) // sequence_length * sequence_length
            for begin in range(0, usable, sequence_length):
                yield carry[begin : begin + sequence_length]
            carry = carry[usable:]

    first = next(windows(), None)
    if first is None:
        raise DataError(
            f"The {name} part of {region.path} (bytes {region.start}-{region.end}) is too short for one window "
            f"of {sequence_length} tokens. Use a longer text or a smaller --sequence-length."
        )
    bos = tf.constant([bos_id], dtype="int32")
    dataset = tf.data.Dataset.from_generator(windows, output_signature=tf.TensorSpec([sequence_length], tf.int32))
    dataset = dataset.map(lambda targets: (tf.concat([bos, targets[:-1]], axis=0), targets))
    if shuffle:
        dataset = dataset.shuffle(shuffle_windows, seed=seed, reshuffle_each_iteration=True)
    return prefetch(dataset.batch(batch_size))


def count_region(region, vocabulary, level):
    """`(tokens, characters, unknown tokens)` of a streamed region, for the loss report."""
    tokens = characters = unknown = 0
    for text in region.text_chunks():
        ids = np.asarray(vocabulary.encode(text_to_tokens(text, level)), "int32")
        tokens, characters, unknown = tokens + len(ids), characters + len(text), unknown + int((ids == vocabulary.unk_id).sum())
    return tokens, characters, unknown


def detokenize(tokens, level):
    """Joins tokens back into text: characters as they are, words with spaces and
    `<eos>` as a line end.

    Examples:
    >>> detokenize(["to", "be", "<eos>", "or"], "word")
    'to be\\nor'
    """
    if level == "char":
        return "".join(tokens)
    return " ".join(tokens).replace(f" {EOS_TOKEN} ", "\n").replace(EOS_TOKEN, "\n").strip(" ")


def encode_prompts(prompts, level, vocabulary, max_new_tokens):
    """Prompt strings -> `(batch, width)` int32 ids: `<bos>`, the prompt's ids, then
    `<pad>` for `max_new_tokens` or more; and each prompt's length with `<bos>`.

    Characters or words outside the vocabulary become `<unk>`; an empty prompt is
    just `<bos>`. A word-level prompt is read as one unfinished line.
    """
    if isinstance(prompts, str):
        raise ValueError(f"`prompts` must be a list of strings. Received: a single string {prompts!r}")
    prompts = list(prompts)
    for prompt in prompts:
        if not isinstance(prompt, str):
            raise ValueError(f"Each prompt must be a string. Received: {prompt!r}")
    # A prompt is one unfinished line: at word level its newlines are spaces, as in the
    # exported graph's tokenizer, and no `<eos>` is added. One tokenizer call for the batch.
    tokenized = lm_tokenizer(level)(prompts) if prompts else []
    rows = [[vocabulary.bos_id] + vocabulary.encode(tokens) for tokens in tokenized]
    lengths = np.array([len(row) for row in rows], dtype="int32")
    width = int(lengths.max(initial=1)) + max_new_tokens
    ids = np.zeros((len(rows), width), dtype="int32")
    for index, row in enumerate(rows):
        ids[index, : len(row)] = row
    return ids, lengths
