"""Training speed of seqkit against the plain Keras way and PyTorch, with model FLOP utilization.

Usage (from the repository root, with SEQKIT_DATA_DIR pointing at the datasets):

    python benchmarks/perf.py classifier   # BiLSTM classifier (the sentiment recipe's, n-gram branch off) on MR
    python benchmarks/perf.py charlm       # the textgen recipe's LSTM 2x512 on tiny-shakespeare windows
    python benchmarks/perf.py tagger       # the ner recipe's BiLSTM-CNN-CRF on 3,000 CoNLL-2003 sentences
    python benchmarks/perf.py seq2seq      # the dates recipe's encoder-decoder with Bahdanau attention
    python benchmarks/perf.py table        # regenerate the table in benchmarks/README.md

Every variant trains the same architecture in a fresh process (so its peak memory is its own), `repeats`
times, after a warm-up:
- **seqkit**: the recipe's pipeline: length-bucketed `tf.data` batches and masking for the classifier,
  streamed `tf.data` windows for the LM; on TensorFlow (compiled with `jit_compile="auto"`, the builders'
  default, and without XLA), and on JAX (`KERAS_BACKEND=jax`);
- **plain** (comparison a): the same Keras model fed numpy arrays the keras-io way: every text padded to the
  longest, every window materialized; its LSTMs are `keras.layers.LSTM`, where seqkit's stack uses `ScanLSTM`
  (the same layer with a hand-written backward pass on CPU);
  For the encoder-decoder, inference is greedy decoding: seqkit's loop in the graph against keras-io's
  Python loop that re-runs the model on the growing output prefix, one `predict` per step;
- **torch** (comparison b, the classifier and the char LM only): the PyTorch CPU equivalent (`pip install -e ".[bench]"` installs torch 2.13.0):
  `nn.LSTM` over packed sequences for the classifier, over windows for the LM, Adam, the same batch.

Throughput counts real tokens only (padding is work, not progress). Model FLOP utilization (MFU) is the
model's training FLOPs per real token (3x the forward matmuls: 2 * 4H(E + H) per LSTM direction and layer,
plus the output layer; the tagger's character CNN and emission layer, and the encoder-decoder's encoder,
attention and decoder per target token, averaged over the data) times tokens/s, over a float32 matmul peak measured in the same run (numpy and
TensorFlow, 2048 x 2048, the best of 5). Results go to `benchmarks/results/perf_<model>.json`.
"""

import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sentiment import RESULTS, command_line, write_section  # noqa: E402

BEGIN, END = "<!-- perf:begin -->", "<!-- perf:end -->"
REPEATS = int(os.environ.get("SEQKIT_PERF_REPEATS", "3"))
# (variant, backend, jit_compile): the builders compile with jit_compile="auto" (XLA where Keras can); the
# "no XLA" run measures what that choice is worth on TensorFlow.
VARIANTS = (
    ("seqkit", "tensorflow", "auto"), ("seqkit", "tensorflow", False), ("seqkit", "jax", "auto"),
    ("plain", "tensorflow", "auto"), ("torch", None, None),
)
JIT_COMPILE = {"auto": "auto", "False": False}[os.environ.get("SEQKIT_PERF_JIT_COMPILE", "auto")]
SAMPLES = {"classifier": "texts", "charlm": "windows", "tagger": "sentences", "seq2seq": "dates"}  # What inference counts.
MODELS = tuple(SAMPLES)

# The models: the recipes' defaults (the classifier without its n-gram branch, which PyTorch would need hand-built).
CLASSIFIER = {"embedding_dim": 128, "units": 64, "batch_size": 32, "max_vocabulary": 30000}
CHARLM = {"embedding_dim": 64, "units": 512, "num_layers": 2, "batch_size": 32, "sequence_length": 256,
          "timed_batches": int(os.environ.get("SEQKIT_PERF_LM_BATCHES", "8"))}
# The ner recipe's default tagger on its quick slice; the dates recipe's default model on its quick pairs.
TAGGER = {"sentences": int(os.environ.get("SEQKIT_PERF_TAGGER_SENTENCES", "3000")), "batch_size": 32}
SEQ2SEQ = {"pairs": int(os.environ.get("SEQKIT_PERF_SEQ2SEQ_PAIRS", "8000")), "batch_size": 64, "decoded": 500,
           "max_output_length": 12}


def lstm_training_flops_per_token(input_dim, units, directions=1):
    """3x the forward matmul FLOPs of one LSTM layer per token: `3 * directions * 2 * 4H(E + H)`.

    Examples:
    >>> lstm_training_flops_per_token(128, 64, directions=2)
    589824
    """
    return 3 * directions * 2 * 4 * units * (input_dim + units)


def model_flops_per_token(name, vocabulary_size):
    """Training FLOPs per token of the classifier or the char LM (the others: `tagger_flops_per_token`, ...)."""
    if name == "classifier":
        return lstm_training_flops_per_token(CLASSIFIER["embedding_dim"], CLASSIFIER["units"], directions=2)
    units = CHARLM["units"]
    flops = lstm_training_flops_per_token(CHARLM["embedding_dim"], units)
    flops += (CHARLM["num_layers"] - 1) * lstm_training_flops_per_token(units, units)
    return flops + 3 * 2 * units * vocabulary_size  # The softmax layer, at every position.


def tagger_flops_per_token(config, num_tags):
    """Training FLOPs per word of the ner recipe's tagger (`config`: its `Config`).

    The character CNN slides over `max_word_length` characters of every word; the
    BiLSTM reads word, character and casing features; the emission layer scores
    every tag; the CRF's forward pass adds `num_tags ** 2` per word.

    Examples:
    >>> from types import SimpleNamespace
    >>> config = SimpleNamespace(max_word_length=20, char_embedding_dim=30, char_hidden_dim=100,
    ...                          word_embedding_dim=100, casing_dim=8, units=100)
    >>> tagger_flops_per_token(config, num_tags=17)
    2580534
    """
    convolution = 2 * config.max_word_length * 3 * config.char_embedding_dim * config.char_hidden_dim
    input_dim = config.word_embedding_dim + config.char_hidden_dim + config.casing_dim
    recurrent = lstm_training_flops_per_token(input_dim, config.units, directions=2)
    emission = 2 * 2 * config.units * num_tags + 2 * num_tags**2
    return recurrent + 3 * (convolution + emission)


def seq2seq_training_flops(config, source_length, target_length, target_vocabulary_size):
    """Training FLOPs of one pair for the dates recipe's LSTM encoder-decoder with Bahdanau attention.

    Per source token: the bidirectional encoder and the attention keys; per target
    step: the query, the scores and context over every source token, the decoder
    LSTM on `[y; c]`, `h~ = tanh(W [c; s])` and the logits. 3x the forward.

    Examples:
    >>> from types import SimpleNamespace
    >>> config = SimpleNamespace(embedding_dim=32, units=64, attention_units=64)
    >>> seq2seq_training_flops(config, source_length=20, target_length=11, target_vocabulary_size=15)
    12064128
    """
    embedding, units, attention = config.embedding_dim, config.units, config.attention_units
    per_source = 2 * 2 * 4 * units * (embedding + units) + 2 * 2 * units * attention
    per_target = (2 * units * attention + source_length * (2 * attention + 2 * 2 * units)
                  + 2 * 4 * units * (embedding + 3 * units) + 2 * 3 * units * units + 2 * units * target_vocabulary_size)
    return 3 * (source_length * per_source + target_length * per_target)


def matmul_peak(size=2048, repeats=5):
    """Float32 GFLOP/s of a square matmul, the best of numpy and TensorFlow over `repeats` runs."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype("float32") for _ in range(2))
    flops = 2 * size**3
    timings = {}
    ta, tb = tf.constant(a), tf.constant(b)
    tf_matmul = tf.function(lambda: tf.reduce_sum(tf.linalg.matmul(ta, tb)))
    for name, run in (("numpy", lambda: (a @ b).sum()), ("tensorflow", lambda: tf_matmul().numpy())):
        run()
        best = min(_timed(run) for _ in range(repeats))
        timings[name] = round(flops / best / 1e9, 1)
    return timings


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# === Data ===


def classifier_data():
    import seqkit

    texts, labels = seqkit.datasets.load_mr()["all"]
    tokenizer = seqkit.get_tokenizer({"type": "word", "lowercase": True})
    vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(texts), max_size=CLASSIFIER["max_vocabulary"])
    ids = [vocabulary.encode(tokens) for tokens in tokenizer.iter_tokenize(texts)]
    return texts, np.array([label == "pos" for label in labels], "float32"), ids, vocabulary


def charlm_data():
    import seqkit
    from seqkit.data import text_windows

    text = seqkit.datasets.load_tinyshakespeare()
    tokens = text_windows.text_to_tokens(text[: int(0.9 * len(text))], "char")
    vocabulary = text_windows.build_lm_vocabulary(tokens)
    return np.asarray(vocabulary.encode(tokens), dtype="int32"), vocabulary


def tagger_data():
    """The ner recipe's `(recipe, config, prepared)` on its quick slice of CoNLL-2003's training sentences."""
    import dataclasses

    from sentiment import load_recipe

    recipe = load_recipe("ner")
    config = dataclasses.replace(recipe.Config(), quick=True, quick_sentences=TAGGER["sentences"])
    return recipe, config, recipe.prepare(config)


def seq2seq_data():
    """The dates recipe's `(recipe, config, train pairs, decoded sources, source and target preprocessors)`."""
    from sentiment import load_recipe

    from seqkit.data import dates

    recipe = load_recipe("dates")
    config = recipe.Config()
    splits = dates.date_splits(SEQ2SEQ["pairs"], 1, SEQ2SEQ["decoded"], seed=0)
    train_x, train_y = map(list, zip(*splits["train"]))
    source, target = recipe.preprocessors(train_x, train_y)
    return recipe, config, (train_x, train_y), [pair[0] for pair in splits["test"]], source, target


def ids_of(preprocessor, texts):
    return [preprocessor.vocabulary.encode(tokens) for tokens in preprocessor.tokenizer.iter_tokenize(texts)]


def padded_to_longest(rows):
    """The plain way's input: every row zero-padded at the end to the longest one, as one int32 array."""
    array = np.zeros((len(rows), max(len(row) for row in rows)), "int32")
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array


def flops_per_trained_token(name, arrays_path):
    """The model's training FLOPs per real token; writes the classifier's and LM's arrays for PyTorch."""
    if name in ("classifier", "charlm"):
        return model_flops_per_token(name, save_arrays(name, arrays_path))
    if name == "tagger":
        _, config, prepared = tagger_data()
        return tagger_flops_per_token(config, len(prepared.tag_names))
    _, config, (train_x, train_y), _, source, target = seq2seq_data()
    pairs = list(zip(ids_of(source, train_x), ids_of(target, train_y)))
    flops = sum(seq2seq_training_flops(config, len(s), len(t) + 1, target.vocabulary.size) for s, t in pairs)
    return round(flops / sum(len(t) + 1 for _, t in pairs))


# === One variant, in its own process ===


def save_arrays(name, path):
    """The token ids every variant trains on, as numpy arrays, so PyTorch's process needs no TensorFlow."""
    if name == "classifier":
        _, labels, ids, vocabulary = classifier_data()
        np.savez(path, ids=np.concatenate(ids), lengths=[len(row) for row in ids], labels=labels,
                 vocabulary_size=vocabulary.size)
    else:
        stream, vocabulary = charlm_data()
        np.savez(path, stream=stream, vocabulary_size=vocabulary.size)
    return int(vocabulary.size)


def load_arrays(path):
    arrays = dict(np.load(path))
    if "lengths" in arrays:
        arrays["ids"] = np.split(arrays["ids"], np.cumsum(arrays["lengths"])[:-1])
    arrays["vocabulary_size"] = int(arrays["vocabulary_size"])
    return arrays


def use_keras_lstm():
    """Makes seqkit's stack build `keras.layers.LSTM` instead of `ScanLSTM` in this process."""
    import keras

    from seqkit.layers import recurrent_stack

    recurrent_stack._LAYERS["lstm"] = keras.layers.LSTM


def run_variant(name, variant, arrays_path):
    """Trains one variant `REPEATS` times; returns tokens/s per repeat and the process's peak memory."""
    if variant == "torch":
        arrays = load_arrays(arrays_path)
        train, infer = (torch_classifier if name == "classifier" else torch_charlm)(arrays)
    else:
        keras_variants = {"classifier": keras_classifier, "charlm": keras_charlm, "tagger": keras_tagger,
                          "seq2seq": keras_seq2seq}
        if variant == "plain":  # A keras-io user's LSTM: Keras' own.
            use_keras_lstm()
        train, infer = keras_variants[name](plain=variant == "plain")
    return {"tokens_per_second": [round(tokens / seconds, 1) for tokens, seconds in train],
            "inference_samples_per_second": [round(samples / seconds, 1) for samples, seconds in infer],
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def repeated(train, infer, tokens, samples):
    """`REPEATS` timings of `train` (after a warm-up) then of `infer`: `([(tokens, s)], [(samples, s)])`."""
    train()
    training = [(tokens, _timed(train)) for _ in range(REPEATS)]
    infer()
    return training, [(samples, _timed(infer)) for _ in range(REPEATS)]


def keras_classifier(plain):
    import keras

    import seqkit

    texts, labels, ids, vocabulary = classifier_data()
    keras.utils.set_random_seed(0)
    model = seqkit.build_classifier(vocabulary.size, embedding_dim=CLASSIFIER["embedding_dim"],
                                    units=CLASSIFIER["units"], ngram_dim=0)
    seqkit.compile_classifier(model, jit_compile=JIT_COMPILE)
    tokens = sum(len(row) for row in ids)
    if plain:
        padded = padded_to_longest(ids)

        def epoch():
            model.fit(padded, labels, batch_size=CLASSIFIER["batch_size"], epochs=1, shuffle=True, verbose=0)

        def infer():
            model.predict(padded, batch_size=256, verbose=0)
    else:
        preprocessor = seqkit.TextPreprocessor(seqkit.get_tokenizer({"type": "word", "lowercase": True}), vocabulary)
        dataset = seqkit.make_dataset(texts, labels, preprocessor=preprocessor, batch_size=CLASSIFIER["batch_size"],
                                      shuffle=True, seed=0)

        texts_only = seqkit.make_dataset(texts, preprocessor=preprocessor, batch_size=256)

        def epoch():
            model.fit(dataset, epochs=1, verbose=0)

        def infer():
            model.predict(texts_only, verbose=0)
    return repeated(epoch, infer, tokens, len(texts))


def keras_charlm(plain):
    import keras

    from seqkit.data import text_windows
    from seqkit.models import language_model

    stream, vocabulary = charlm_data()
    keras.utils.set_random_seed(0)
    model = language_model.build_language_model(
        vocabulary.size, embedding_dim=CHARLM["embedding_dim"], units=CHARLM["units"],
        num_layers=CHARLM["num_layers"], dropout=0.2, output_dropout=0.2,
    )
    language_model.compile_language_model(model, learning_rate=3e-3, clipnorm=1.0, jit_compile=JIT_COMPILE)
    batch, length, steps = CHARLM["batch_size"], CHARLM["sequence_length"], CHARLM["timed_batches"]
    if plain:  # keras-io's way: every window in one numpy array, fed to fit.
        starts = np.arange(0, len(stream) - length - 1, length)[: batch * (steps + 2)]
        inputs = np.stack([stream[s : s + length] for s in starts]).astype("int32")
        targets = np.stack([stream[s + 1 : s + length + 1] for s in starts]).astype("int32")

        def run(count):
            model.fit(inputs[: batch * count], targets[: batch * count], batch_size=batch, epochs=1, verbose=0)

        def infer():
            model.predict(inputs[: batch * steps], batch_size=batch, verbose=0)
    else:
        dataset = text_windows.window_dataset(stream, length, batch, seed=0)

        def run(count):
            model.fit(dataset.take(count), epochs=1, verbose=0)

        def infer():
            model.predict(dataset.take(steps).map(lambda inputs, targets: inputs), verbose=0)
    return repeated(lambda: run(steps), infer, batch * length * steps, batch * steps)


def keras_tagger(plain):
    import keras

    import seqkit
    from seqkit.data.bucketing import BucketedBatches
    from seqkit.models.tagger import decode_tags, tagging_model

    recipe, config, prepared = tagger_data()
    keras.utils.set_random_seed(0)
    model = recipe.build_model(config, prepared)
    seqkit.compile_tagger(model, learning_rate=config.learning_rate, clipnorm=config.clipnorm, jit_compile=JIT_COMPILE)
    lengths = np.array([len(sentence) for sentence in prepared.sentences["train"]])
    inputs = {key: prepared.features["train"][key][:, : lengths.max()] for key in model.input}
    tags = prepared.tag_ids["train"][:, : lengths.max()]
    if plain:  # Every sentence padded to the longest, fed to fit and predict as numpy arrays.
        decoder = tagging_model(model)

        def epoch():
            model.fit(inputs, tags, batch_size=TAGGER["batch_size"], epochs=1, shuffle=True, verbose=0)

        def infer():
            decoder.predict(inputs, batch_size=256, verbose=0)
    else:  # The recipe's way: batches of similar length, and decoding sorted by length.
        batches = BucketedBatches(inputs, tags, lengths, TAGGER["batch_size"], seed=0)

        def epoch():
            model.fit(batches, epochs=1, verbose=0)

        def infer():
            decode_tags(model, inputs)
    return repeated(epoch, infer, int(lengths.sum()), len(lengths))


def keras_seq2seq(plain):
    import keras

    import seqkit
    from seqkit.models import seq2seq

    recipe, config, (train_x, train_y), decoded, source, target = seq2seq_data()
    keras.utils.set_random_seed(0)
    model = seq2seq.build_seq2seq(source.vocabulary.size, target.vocabulary.size, **seq2seq.options_from(config))
    seq2seq.compile_seq2seq(model, learning_rate=config.learning_rate, clipnorm=config.clipnorm,
                            jit_compile=JIT_COMPILE)
    target_ids = ids_of(target, train_y)
    tokens = sum(len(row) + 1 for row in target_ids)  # Each target and its <eos>.
    bos, eos, steps = target.vocabulary.bos_id, target.vocabulary.eos_id, SEQ2SEQ["max_output_length"]

    if plain:  # keras-io's way: padded numpy arrays, and a Python loop that re-runs the model on the prefix.
        arrays = {"source_ids": padded_to_longest(ids_of(source, train_x)),
                  "target_ids": padded_to_longest([[bos, *row] for row in target_ids])}
        next_ids = padded_to_longest([[*row, eos] for row in target_ids])
        decoded_ids = padded_to_longest([row or [0] for row in ids_of(source, decoded)])

        def epoch():
            model.fit(arrays, next_ids, batch_size=SEQ2SEQ["batch_size"], epochs=1, shuffle=True, verbose=0)

        def infer():
            prefix = np.full((len(decoded_ids), 1), bos, "int32")
            for _ in range(steps):
                logits = model.predict({"source_ids": decoded_ids, "target_ids": prefix}, batch_size=256, verbose=0)
                prefix = np.concatenate([prefix, logits[:, -1].argmax(-1)[:, None].astype("int32")], axis=1)
    else:  # The recipe's way: length-bucketed tf.data batches, and greedy decoding in the graph.
        dataset = seqkit.data.make_pair_dataset(train_x, train_y, source_preprocessor=source,
                                                target_preprocessor=target, batch_size=SEQ2SEQ["batch_size"],
                                                shuffle=True, seed=0)

        def epoch():
            model.fit(dataset, epochs=1, verbose=0)

        if keras.backend.backend() == "tensorflow":
            def infer():
                seqkit.translation.translate(model, source, target.vocabulary, decoded, level="char", num_beams=1,
                                             max_length=steps)
        else:  # `translate` runs the loop in a tf.function; on JAX the same greedy loop, compiled by jax.jit.
            import jax

            decode = jax.jit(lambda ids: seq2seq.greedy_decode(model, ids, steps, bos, eos)[0])
            rows = sorted(ids_of(source, decoded), key=len)
            batches = [padded_to_longest([row or [0] for row in rows[begin : begin + 256]])
                       for begin in range(0, len(rows), 256)]

            def infer():
                for batch in batches:
                    np.asarray(decode(batch))
    return repeated(epoch, infer, tokens, len(decoded))


def torch_classifier(arrays):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    labels, ids, vocabulary_size = arrays["labels"], arrays["ids"], arrays["vocabulary_size"]

    class BiLSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocabulary_size, CLASSIFIER["embedding_dim"], padding_idx=0)
            self.lstm = nn.LSTM(CLASSIFIER["embedding_dim"], CLASSIFIER["units"], batch_first=True,
                                bidirectional=True)
            self.output = nn.Linear(2 * CLASSIFIER["units"], 1)

        def forward(self, token_ids, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embedding(token_ids), lengths, batch_first=True,
                                                       enforce_sorted=False)
            states, _ = nn.utils.rnn.pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                                         padding_value=-1e9)
            return self.output(states.max(dim=1).values).squeeze(-1)

    model = BiLSTMClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_function = nn.BCEWithLogitsLoss()
    tokens = sum(len(row) for row in ids)
    rng = np.random.default_rng(0)

    def batches(order, size):
        for begin in range(0, len(order), size):
            rows = order[begin : begin + size]
            lengths = torch.tensor([max(len(ids[row]), 1) for row in rows])
            batch = torch.zeros((len(rows), int(lengths.max())), dtype=torch.long)
            for index, row in enumerate(rows):
                batch[index, : len(ids[row])] = torch.tensor(ids[row])
            yield rows, batch, lengths

    def epoch():
        model.train()
        for rows, batch, lengths in batches(rng.permutation(len(ids)), CLASSIFIER["batch_size"]):
            optimizer.zero_grad()
            loss = loss_function(model(batch, lengths), torch.from_numpy(labels[rows]))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            for _, batch, lengths in batches(np.arange(len(ids)), 256):
                model(batch, lengths)

    return repeated(epoch, infer, tokens, len(ids))


def torch_charlm(arrays):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    stream, vocabulary_size = arrays["stream"], arrays["vocabulary_size"]
    batch, length, steps = CHARLM["batch_size"], CHARLM["sequence_length"], CHARLM["timed_batches"]

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocabulary_size, CHARLM["embedding_dim"])
            self.lstm = nn.LSTM(CHARLM["embedding_dim"], CHARLM["units"], num_layers=CHARLM["num_layers"],
                                dropout=0.2, batch_first=True)
            self.dropout = nn.Dropout(0.2)
            self.output = nn.Linear(CHARLM["units"], vocabulary_size)

        def forward(self, token_ids):
            return self.output(self.dropout(self.lstm(self.embedding(token_ids))[0]))

    model = CharLM()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_function = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    stream = torch.from_numpy(np.asarray(stream, "int64"))

    def windows():
        starts = rng.integers(0, len(stream) - length - 1, batch)
        return (torch.stack([stream[s : s + length] for s in starts]),
                torch.stack([stream[s + 1 : s + length + 1] for s in starts]))

    def run(count):
        model.train()
        for _ in range(count):
            inputs, targets = windows()
            optimizer.zero_grad()
            loss = loss_function(model(inputs).reshape(-1, vocabulary_size), targets.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    def infer():
        model.eval()
        with torch.no_grad():
            for _ in range(steps):
                model(windows()[0])

    return repeated(lambda: run(steps), infer, batch * length * steps, batch * steps)


# === The run: every variant in a subprocess, then the table ===


def run(name):
    from sentiment import machine

    import tempfile

    peak = matmul_peak()
    arrays_path = Path(tempfile.mkdtemp(prefix="seqkit-perf-")) / "arrays.npz"
    flops_per_token = flops_per_trained_token(name, arrays_path)
    result = {"model": name, "machine": machine(), "matmul_peak_gflops": peak, "flops_per_token": flops_per_token,
              "repeats": REPEATS, "date": datetime.date.today().isoformat(), "variants": {}}
    if name == "charlm":
        result["timed_batches"] = CHARLM["timed_batches"]
    for variant, backend, jit_compile in VARIANTS:
        if variant == "torch" and name not in ("classifier", "charlm"):
            continue  # The issue asks PyTorch equivalents of these two only.
        if variant == "torch" and not _importable("torch"):
            print("torch is not installed (pip install -e '.[bench]'): skipping comparison (b)")
            continue
        env = dict(os.environ)
        if backend:
            env.update(KERAS_BACKEND=backend, SEQKIT_PERF_JIT_COMPILE=str(jit_compile))
        completed = subprocess.run(
            [sys.executable, __file__, "variant", name, variant, str(arrays_path)], env=env, capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{variant} ({backend}) failed:\n{completed.stderr[-3000:]}")
        measured = json.loads(completed.stdout.strip().splitlines()[-1])
        label = variant if variant != "seqkit" else f"seqkit ({backend}{', no XLA' if jit_compile is False else ''})"
        result["variants"][label] = measured
        print(label, measured, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"perf_{name}.json").write_text(json.dumps(result, indent=2))
    render_table()


def _importable(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def render_table():
    lines = []
    for name in MODELS:
        path = RESULTS / f"perf_{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        peak = max(result["matmul_peak_gflops"].values())
        variants = result["variants"]
        median = {label: statistics.median(v["tokens_per_second"]) for label, v in variants.items()}
        seqkit_best = max(rate for label, rate in median.items() if label.startswith("seqkit"))
        lines += [f"**{name}** (`python benchmarks/perf.py {name}`, {result['date']}, {result['machine']['cpu']}, "
                  f"{result['machine']['cores']} cores; matmul peak {peak:.1f} GFLOP/s, "
                  f"{result['flops_per_token'] / 1e6:.2f} MFLOP per trained token; median of {result['repeats']})",
                  "",
                  f"| variant | training tokens/s (median) | spread (min–max) | MFU | best seqkit ÷ this | "
                  f"inference {SAMPLES[name]}/s (median) | peak memory |",
                  "|---|---|---|---|---|---|---|"]
        for label, measured in variants.items():
            rates = measured["tokens_per_second"]
            mfu = median[label] * result["flops_per_token"] / (peak * 1e9)
            inference = statistics.median(measured["inference_samples_per_second"])
            lines.append(f"| {label} | {median[label]:,.0f} | {min(rates):,.0f}–{max(rates):,.0f} | {100 * mfu:.1f}% | "
                         f"{seqkit_best / median[label]:.2f}× | {inference:,.0f} | {measured['peak_memory_mb']:,} MB |")
        lines.append("")
    write_section(BEGIN, END, lines)


def main(argv):
    if argv[:1] == ["variant"]:
        print(json.dumps(run_variant(*argv[1:4])))
        return 0
    return command_line(argv, MODELS, run, render_table, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
