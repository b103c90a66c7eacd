"""SavedModel export in TF Serving's layout, with raw-string signatures.

`saved_models/<name>/<version>/` holds a SavedModel whose `serving_default`
takes a 1-D batch of strings. Tokenization and vocabulary lookup run inside the
graph, so the export loads with plain `tensorflow`, without seqkit:

    import tensorflow as tf
    model = tf.saved_model.load("saved_models/sentiment/1")
    model.signatures["serving_default"](text=tf.constant(["A fine film."]))

A SavedModel is a program: load it only from sources you trust.
This module is TensorFlow-specific. A language model trained on another Keras
backend (on CPU, JAX trains the recurrent stack faster) is exported
from a child process on the TensorFlow backend, through a `.keras` copy.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from seqkit.utils import atomic_directory


# An XLA-compiled generation loop compiles once per shape: widths are rounded up to a
# multiple of this, so that prompts of any length reuse a few programs.
_XLA_WIDTH_MULTIPLE = 64


def next_version_dir(export_root, name):
    """The next free `export_root/name/<n>` (1 when none exists); existing versions are kept."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise ValueError(f"`name` must be a simple folder name (letters, digits, '.', '_', '-'). Received: {name!r}")
    base = Path(os.fspath(export_root)) / name
    versions = [int(p.name) for p in base.glob("*") if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return base / str(max(versions, default=0) + 1)


def _pad_empty_batch(text):
    """`(text, batch_size)`, with one empty string added to an empty batch, for the caller to slice away.

    A recurrent layer's loop cannot stack zero rows (TensorFlow's TensorListStack fails), so a
    serving function runs one empty text instead and returns the first `batch_size` rows.
    """
    batch_size = tf.shape(text)[0]
    return tf.concat([text, tf.fill([tf.maximum(1 - batch_size, 0)], "")], axis=0), batch_size


def export_classifier(
    model,
    preprocessor,
    label_names,
    head="binary",
    export_root="saved_models",
    name="classifier",
    extra_files=None,
):
    """Exports a classifier as `export_root/name/<next version>/`, atomically.

    The `serving_default` signature takes `text`, a 1-D string tensor, and returns:
    - `labels`: the predicted label name per text (multilabel: names joined by "|";
      regression: absent);
    - `probabilities`: `(batch, num_classes)` class probabilities, in the order of
      `label_names` (regression: `value`, `(batch,)`).

    Args:
        model: a classifier from `build_classifier` (token ids -> outputs).
        preprocessor: the `TextPreprocessor` used in training, or a dict of them
            keyed by the model's input names for a model with several inputs
            (e.g. `stack_ngram_logit`'s `{"token_ids": ..., "char_ids": ...}`).
        label_names: the class names, in id order.
        head: the classifier's head.
        export_root: the folder holding one sub-folder per model name.
        name: the model name.
        extra_files: `{file name: text}` written into the version folder with the
            model (e.g. `metrics.json`), inside the same atomic rename.

    Returns:
        The `Path` of the new version folder.
    """
    label_names = [str(label) for label in label_names]
    preprocessors = preprocessor if isinstance(preprocessor, dict) else {"token_ids": preprocessor}
    if "token_ids" not in preprocessors:
        raise ValueError(f"`preprocessor` must have a 'token_ids' entry. Received keys: {sorted(preprocessors)}")
    version_dir = next_version_dir(export_root, name)
    names = tf.constant(label_names or [""], dtype=tf.string)

    def serve(text):
        text, batch_size = _pad_empty_batch(text)
        inputs = {key: layer(text) for key, layer in preprocessors.items()}
        outputs = model(inputs if len(inputs) > 1 else inputs["token_ids"], training=False)[:batch_size]
        if head == "regression":
            return {"value": tf.reshape(outputs, [-1])}
        if head == "binary":
            positive = tf.reshape(outputs, [-1, 1])
            probabilities = tf.concat([1.0 - positive, positive], axis=-1)
        else:
            probabilities = outputs
        if head == "multilabel":
            chosen = tf.ragged.boolean_mask(tf.broadcast_to(names, tf.shape(probabilities)), probabilities >= 0.5)
            labels = tf.strings.reduce_join(chosen, axis=-1, separator="|")
        else:
            labels = tf.gather(names, tf.argmax(probabilities, axis=-1))
        return {"labels": labels, "probabilities": probabilities}

    archive = keras.export.ExportArchive()
    archive.track(model)
    for layer in preprocessors.values():
        archive.track(layer)
    archive.add_endpoint(
        name="serving_default",
        fn=serve,
        input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")],
    )
    metadata = {
        "format": "seqkit.classifier",
        "head": head,
        "label_names": label_names,
        "tokenizer": preprocessors["token_ids"].tokenizer.get_config(),
        "max_length": preprocessors["token_ids"].max_length,
        "vocabulary_size": preprocessors["token_ids"].vocabulary.size,
    }
    if len(preprocessors) > 1:
        metadata["inputs"] = {
            key: {"tokenizer": layer.tokenizer.get_config(), "max_length": layer.max_length,
                  "vocabulary_size": layer.vocabulary.size}
            for key, layer in preprocessors.items()
        }
    return _write_archive(archive, version_dir, metadata, extra_files)


def export_tagger(
    model,
    featurizer,
    tag_names,
    tokenizer="news",
    export_root="saved_models",
    name="tagger",
    extra_files=None,
):
    """Exports a tagger as `export_root/name/<next version>/`, atomically.

    Two signatures, both returning readable results:
    - `serving_default(text)`: a 1-D batch of raw sentences, tokenized in the graph
      (`NewsTokenizer` by default);
    - `tag_tokens(tokens)`: pre-tokenized sentences, a `(batch, time)` string
      tensor padded with "".

    Outputs (padded with "" or -1): `tokens` and `tags` `(batch, time)`, `lengths`
    `(batch,)`, and the entity spans `entity_text`, `entity_type`, `entity_start`,
    `entity_end` (token indices, end exclusive) `(batch, max_entities)` with
    `num_entities` `(batch,)`. Spans are read from the tags the way conlleval reads
    them.

    Args:
        model: a model from `build_tagger`.
        featurizer: the `TagFeaturizer` used in training.
        tag_names: the tag of each tag id (BIO or BIOES).
        tokenizer: the tokenizer of the raw-text signature (name, config or instance).
        export_root, name, extra_files: as in `export_classifier`.

    Returns:
        The `Path` of the new version folder.
    """
    from seqkit.data.tokenizers import get_tokenizer
    from seqkit.models.tagger import _crf_layer

    tag_names = [str(tag) for tag in tag_names]
    tokenizer = get_tokenizer(tokenizer)
    crf = _crf_layer(model)
    version_dir = next_version_dir(export_root, name)
    entity_types = sorted({tag[2:] for tag in tag_names if tag != "O"})
    prefix_table = tf.constant([0 if tag == "O" else (1 if tag[0] in "BS" else 2) for tag in tag_names], tf.int32)
    type_table = tf.constant([-1 if tag == "O" else entity_types.index(tag[2:]) for tag in tag_names], tf.int32)
    tag_table = tf.constant(tag_names, tf.string)
    type_names = tf.constant(entity_types or [""], tf.string)

    def tag(tokens):
        # `tokens`: ragged (batch, None) strings.
        features = featurizer.features(tokens)
        # One extra padding step, so a batch of empty sentences still has a time axis.
        features = {
            key: tf.pad(value, [[0, 0], [0, 1]] + [[0, 0]] * (len(value.shape) - 2)) for key, value in features.items()
        }
        inputs = {key: features[key] for key in model.input}
        emissions = model(inputs, training=False)
        mask = features["words"] > 0
        if crf is not None:
            tag_ids = crf.decode(emissions, mask)
        else:
            tag_ids = tf.where(mask, tf.argmax(emissions, axis=-1, output_type=tf.int32), 0)
        tag_ids = tf.cast(tag_ids, tf.int32)[:, :-1]
        mask = mask[:, :-1]
        dense_tokens = tokens.to_tensor("")
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        return {
            "tokens": dense_tokens,
            "tags": tf.where(mask, tf.gather(tag_table, tag_ids), ""),
            "lengths": lengths,
            **_entity_spans(dense_tokens, tag_ids, mask, prefix_table, type_table, type_names),
        }

    def serve_text(text):
        return tag(tokenizer.tokenize_tensor(text))

    def serve_tokens(tokens):
        return tag(tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0))

    archive = keras.export.ExportArchive()
    archive.track(model)
    # The featurizer's vocabularies (lookup tables) travel with the SavedModel.
    archive.track(featurizer._word_lookup)
    archive.track(featurizer._char_lookup)
    archive.add_endpoint(
        name="serving_default",
        fn=serve_text,
        input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")],
    )
    archive.add_endpoint(
        name="tag_tokens",
        fn=serve_tokens,
        input_signature=[tf.TensorSpec(shape=(None, None), dtype=tf.string, name="tokens")],
    )
    metadata = {
        "format": "seqkit.tagger",
        "tag_names": tag_names,
        "entity_types": entity_types,
        "tokenizer": tokenizer.get_config(),
        "output": "crf" if crf is not None else "softmax",
        "word_vocabulary_size": featurizer.word_vocabulary.size,
    }
    return _write_archive(archive, version_dir, metadata, extra_files)


def export_language_model(
    model,
    vocabulary,
    level="char",
    strategy="random",
    max_new_tokens=200,
    temperature=0.8,
    seed=0,
    top_k=10,
    top_p=0.9,
    export_root="saved_models",
    name="textgen",
    extra_files=None,
    jit_compile=False,
    max_new_tokens_limit=10_000,
):
    """Exports a language model that generates and scores raw text, atomically.

    The sampling loop (keras-hub's sampler over the recurrent states) runs inside
    the graph. Signatures:
    - `serving_default(prompts)`: a 1-D batch of prompt strings (empty is fine;
      unknown characters or words read as `<unk>`), continued with the export's
      defaults (`max_new_tokens`, `temperature`, `seed`);
    - `generate(prompts, max_new_tokens, temperature, seed)`: the same with those
      as scalar parameters;
    - `score(text)`: `log_prob` (nats), `num_tokens` and `perplexity` per text.

    Generation returns `text` (prompt + continuation) and `continuation`.

    Args:
        model: from `build_language_model` (not stateful).
        vocabulary: the training `Vocabulary`.
        level: `"char"` or `"word"`.
        strategy, top_k, top_p: the sampler (`seqkit.decoding.get_sampler`;
            "beam" is not exported).
        max_new_tokens, temperature, seed: the defaults of `serving_default`.
        max_new_tokens_limit: the most `generate` accepts from a caller; more is an
            error, not a request that holds a server for minutes.
        export_root, name, extra_files: as in `export_classifier`.
        jit_compile: compile the sampling loop with XLA: one fused program per
            step instead of dozens of small kernels, ~1.5x the characters per
            second of a 2-layer LSTM on CPU (`benchmarks/README.md`). Each new batch
            size and width (prompt + `max_new_tokens`, rounded up to a multiple of
            64) compiles once, ~1 s on CPU. Plain TensorFlow runs it as is; TF
            Serving needs `--xla_cpu_compilation_enabled=true`.

    Returns:
        The `Path` of the new version folder.
    """
    from seqkit import decoding
    from seqkit.data.text_windows import lm_tokenizer
    from seqkit.models.language_model import token_log_probs

    decoding.check_temperature(temperature)
    if strategy == "beam":
        raise ValueError("Exported generation samples; use strategy 'greedy', 'random', 'top_k' or 'top_p'.")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"`max_new_tokens` must be an int >= 1. Received: max_new_tokens={max_new_tokens!r}")
    if not isinstance(max_new_tokens_limit, int) or max_new_tokens_limit < max_new_tokens:
        raise ValueError(
            f"`max_new_tokens_limit` must be an int >= max_new_tokens ({max_new_tokens}). "
            f"Received: max_new_tokens_limit={max_new_tokens_limit!r}"
        )
    if keras.backend.backend() != "tensorflow":
        options = {
            "level": level, "strategy": strategy, "max_new_tokens": max_new_tokens, "temperature": temperature,
            "seed": seed, "top_k": top_k, "top_p": top_p, "export_root": os.path.abspath(export_root), "name": name,
            "extra_files": extra_files, "jit_compile": jit_compile, "max_new_tokens_limit": max_new_tokens_limit,
        }
        return _export_in_tensorflow_process("export_language_model", model, vocabulary, options)
    sampler = decoding.get_sampler(strategy, top_k=top_k, top_p=top_p, seed=seed)
    tokenizer = lm_tokenizer(level)
    lookup = vocabulary.lookup_layer()
    lookup(tf.constant([""]))  # Builds it, so that it can be tracked.
    token_table = tf.constant(vocabulary.tokens, tf.string)
    version_dir = next_version_dir(export_root, name)
    separator = "" if level == "char" else " "
    forbidden = [vocabulary.pad_id, vocabulary.unk_id, vocabulary.bos_id]
    if level == "char":
        forbidden.append(vocabulary.eos_id)

    def token_ids(text):
        tokens = tokenizer.tokenize_tensor(text)
        return tf.cast(tokens.with_flat_values(lookup(tokens.flat_values)), tf.int32)

    def sample(dense, temperature, stop_positions):
        return decoding.generate_ids(
            model, dense, None, sampler, temperature=temperature,
            stop_token_id=vocabulary.eos_id, forbidden_ids=forbidden, stop_positions=stop_positions,
        )

    if jit_compile:
        sample = tf.function(sample, jit_compile=True)

    def generate(prompts, max_new_tokens, temperature, seed):
        tf.debugging.assert_positive(temperature, message="temperature must be > 0")
        tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be >= 1")
        tf.debugging.assert_less_equal(
            max_new_tokens, max_new_tokens_limit,
            message=f"max_new_tokens must be <= {max_new_tokens_limit} (max_new_tokens_limit of this export)",
        )
        decoding.seed_sampler(sampler, seed)
        ids = token_ids(prompts)
        batch_size = tf.shape(prompts)[0]
        ids = tf.concat([tf.fill([batch_size, 1], vocabulary.bos_id), ids], axis=1)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        # Each row is given <eos> once it has its `max_new_tokens`: the loop ends when
        # every row has, and a wider (XLA-bucketed) array costs no extra steps.
        width = tf.reduce_max(tf.concat([lengths, [1]], axis=0)) + max_new_tokens + 1
        if jit_compile:
            width = -(-width // _XLA_WIDTH_MULTIPLE) * _XLA_WIDTH_MULTIPLE
        dense = ids.to_tensor(0, shape=tf.stack([tf.cast(batch_size, tf.int64), tf.cast(width, tf.int64)]))
        output = sample(dense, temperature, lengths + max_new_tokens)
        # Each row's new tokens, up to `max_new_tokens` and its first `<eos>`.
        positions = tf.range(width)[None, :]
        new = (positions >= lengths[:, None]) & (positions < lengths[:, None] + max_new_tokens)
        is_eos = tf.cast(tf.equal(output, vocabulary.eos_id) & new, tf.int32)
        new &= tf.equal(tf.cumsum(is_eos, axis=1), 0)
        continuation = tf.strings.reduce_join(
            tf.ragged.boolean_mask(tf.gather(token_table, output), new), axis=1, separator=separator
        )
        joiner = ""
        if level == "word":
            ends_open = tf.strings.regex_full_match(prompts, r"(?s).*\S")
            starts_open = tf.strings.regex_full_match(continuation, r"(?s)\S.*")
            joiner = tf.where(ends_open & starts_open, " ", "")
        return {"text": prompts + joiner + continuation, "continuation": continuation}

    def serve(prompts):
        return generate(prompts, max_new_tokens, float(temperature), seed)

    def score(text):
        ids = token_ids(text)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        dense = tf.pad(ids.to_tensor(0), [[0, 0], [0, 1]])  # Keeps a time axis for empty texts.
        log_prob = tf.reduce_sum(token_log_probs(model, dense, lengths), axis=1)
        count = tf.cast(lengths, tf.float32)
        perplexity = tf.where(lengths > 0, tf.exp(-log_prob / tf.maximum(count, 1.0)), float("nan"))
        return {"log_prob": log_prob, "num_tokens": lengths, "perplexity": perplexity}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(lookup)
    if sampler.variables:
        archive.add_variable_collection("sampler_state", sampler.variables)
    strings = tf.TensorSpec(shape=(None,), dtype=tf.string, name="prompts")
    archive.add_endpoint(name="serving_default", fn=serve, input_signature=[strings])
    archive.add_endpoint(
        name="generate",
        fn=generate,
        input_signature=[
            strings,
            tf.TensorSpec(shape=(), dtype=tf.int32, name="max_new_tokens"),
            tf.TensorSpec(shape=(), dtype=tf.float32, name="temperature"),
            tf.TensorSpec(shape=(), dtype=tf.int32, name="seed"),
        ],
    )
    archive.add_endpoint(
        name="score", fn=score, input_signature=[tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")]
    )
    metadata = {
        "format": "seqkit.language_model",
        "level": level,
        "tokenizer": tokenizer.get_config(),
        "strategy": strategy,
        "defaults": {"max_new_tokens": max_new_tokens, "temperature": float(temperature), "seed": seed},
        "max_new_tokens_limit": max_new_tokens_limit,
        "top_k": top_k,
        "top_p": top_p,
        "vocabulary_size": vocabulary.size,
        "jit_compile": bool(jit_compile),
    }
    return _write_archive(archive, version_dir, metadata, extra_files)


def export_seq2seq(
    model,
    source_preprocessor,
    target_vocabulary,
    target_level="word",
    max_length=64,
    num_beams=4,
    length_penalty=0.6,
    export_root="saved_models",
    name="seq2seq",
    extra_files=None,
):
    """Exports an encoder-decoder that reads raw source strings and writes target strings, atomically.

    The decoding loop (`beam_decode`, or `greedy_decode` for `num_beams=1`) runs
    inside the graph. Signatures:
    - `serving_default(text)`: `output`, the decoded string per source (an
      empty source, with no tokens, gives an empty output);
    - `attention(text)`: `output`, plus `source_tokens` and `output_tokens`
      (`(batch, steps)` strings, "" as padding) and `attention`, `(batch,
      output steps, source steps)` weights.

    Args:
        model: from `build_seq2seq`.
        source_preprocessor: the source `TextPreprocessor` used in training.
        target_vocabulary: the target `Vocabulary`.
        target_level: `"char"` (tokens joined as they are) or `"word"` (joined by
            spaces, tidied around punctuation as `seqkit.translation.detokenize` does).
        max_length: the most target tokens produced, `<eos>` included.
        num_beams, length_penalty: the beam search (1: greedy).
        export_root, name, extra_files: as in `export_classifier`.

    Returns:
        The `Path` of the new version folder.
    """
    from seqkit.models.seq2seq import beam_decode, greedy_decode
    from seqkit.data.vocabulary import SPECIAL_TOKENS
    from seqkit.translation import NO_SPACE_AFTER, NO_SPACE_BEFORE

    if target_level not in ("char", "word"):
        raise ValueError(f"`target_level` must be 'char' or 'word'. Received: target_level={target_level!r}")
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"`max_length` must be an int >= 1. Received: max_length={max_length!r}")
    version_dir = next_version_dir(export_root, name)
    token_table = tf.constant(target_vocabulary.tokens, tf.string)

    def decode(text):
        text, batch_size = _pad_empty_batch(text)
        source_ids = source_preprocessor(text)
        tokens_read = source_preprocessor.tokenizer.tokenize_tensor(text)  # As written, not as `<unk>`.
        if source_preprocessor.max_length is not None:
            tokens_read = tokens_read[:, : source_preprocessor.max_length]
        # A source with no tokens gives an empty output: `<eos>` first, no attention.
        empty = tf.equal(tokens_read.row_lengths(), 0)
        if num_beams == 1:
            tokens, attention = greedy_decode(model, source_ids, max_length, target_vocabulary.bos_id,
                                              target_vocabulary.eos_id)
        else:
            tokens, attention, _ = beam_decode(model, source_ids, max_length, num_beams=num_beams,
                                               length_penalty=length_penalty, bos_id=target_vocabulary.bos_id,
                                               eos_id=target_vocabulary.eos_id)
        first_eos = tf.one_hot(0, max_length, on_value=target_vocabulary.eos_id, off_value=0, dtype=tokens.dtype)
        tokens = tf.where(empty[:, None], first_eos[None, :], tokens)
        attention = tf.where(empty[:, None, None], tf.zeros_like(attention), attention)
        kept = tokens >= len(SPECIAL_TOKENS)  # They come first in every vocabulary.
        pieces = tf.ragged.boolean_mask(tf.gather(token_table, tokens), kept)
        output = tf.strings.reduce_join(pieces, axis=1, separator="" if target_level == "char" else " ")
        if target_level == "word":
            output = tf.strings.regex_replace(output, NO_SPACE_BEFORE, r"\1")
            output = tf.strings.regex_replace(output, NO_SPACE_AFTER, r"\1")
        return tuple(part[:batch_size] for part in (source_ids, tokens_read, tokens, attention, output))

    def serve(text):
        return {"output": decode(text)[-1]}

    def serve_attention(text):
        source_ids, tokens_read, tokens, attention, output = decode(text)
        source_tokens = tokens_read.to_tensor("", shape=tf.cast(tf.shape(source_ids), tf.int64))
        return {
            "output": output,
            "source_tokens": source_tokens,
            "output_tokens": tf.where(tokens > 0, tf.gather(token_table, tokens), ""),
            "attention": attention,
        }

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(source_preprocessor)
    signature = [tf.TensorSpec(shape=(None,), dtype=tf.string, name="text")]
    archive.add_endpoint(name="serving_default", fn=serve, input_signature=signature)
    archive.add_endpoint(name="attention", fn=serve_attention, input_signature=signature)
    metadata = {
        "format": "seqkit.seq2seq",
        "source_tokenizer": source_preprocessor.tokenizer.get_config(),
        "source_max_length": source_preprocessor.max_length,
        "source_vocabulary_size": source_preprocessor.vocabulary.size,
        "target_vocabulary_size": target_vocabulary.size,
        "target_level": target_level,
        "max_length": max_length,
        "num_beams": num_beams,
        "length_penalty": length_penalty,
    }
    return _write_archive(archive, version_dir, metadata, extra_files)


def _entity_spans(tokens, tag_ids, mask, prefix_table, type_table, type_names):
    """conlleval-style entity spans of BIO/BIOES tag ids, as padded tensors (graph code)."""
    prefix = tf.where(mask, tf.gather(prefix_table, tag_ids), 0)
    kind = tf.where(mask, tf.gather(type_table, tag_ids), -1)
    previous_kind = tf.pad(kind[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    inside = prefix > 0
    starts = inside & ((prefix == 1) | (previous_kind != kind))
    continues = inside & ~starts
    next_continues = tf.pad(continues[:, 1:], [[0, 0], [0, 1]], constant_values=False)
    ends = inside & ~next_continues
    positions = tf.broadcast_to(tf.range(tf.shape(tag_ids)[1], dtype=tf.int32), tf.shape(tag_ids))
    start_positions = tf.ragged.boolean_mask(positions, starts)
    end_positions = tf.ragged.boolean_mask(positions + 1, ends)
    types = tf.ragged.boolean_mask(kind, starts)
    # Each inside token joins its span: spans are numbered across the batch.
    span_number = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
    counts = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)
    offsets = tf.cumsum(counts, exclusive=True)
    segment = tf.boolean_mask(span_number + offsets[:, None], inside)
    text = tf.strings.unsorted_segment_join(
        tf.boolean_mask(tokens, inside), segment, num_segments=tf.reduce_sum(counts), separator=" "
    )
    text = tf.RaggedTensor.from_row_lengths(text, tf.cast(counts, tf.int64))
    return {
        "entity_text": text.to_tensor(""),
        "entity_type": tf.gather(type_names, types).to_tensor(""),
        "entity_start": start_positions.to_tensor(-1),
        "entity_end": end_positions.to_tensor(-1),
        "num_entities": counts,
    }


def _export_in_tensorflow_process(function_name, model, vocabulary, options):
    """Runs `seqkit.export.<function_name>(model, vocabulary, **options)` in a child process on TensorFlow.

    A SavedModel holds TensorFlow graphs, which a model on the JAX backend cannot
    trace; its `.keras` copy (backend-neutral) can be loaded on TensorFlow and
    exported there. Returns the new version folder.
    """
    with tempfile.TemporaryDirectory(prefix="seqkit-export-") as folder:
        folder = Path(folder)
        model.save(folder / "model.keras")
        vocabulary.save(folder / "vocabulary.json")
        (folder / "job.json").write_text(json.dumps({"function": function_name, "options": options}))
        process = subprocess.run(
            [sys.executable, "-m", "seqkit._export_job", str(folder)],
            env={**os.environ, "KERAS_BACKEND": "tensorflow"},
            capture_output=True,
            text=True,
        )
        if process.returncode != 0:
            raise RuntimeError(
                f"Exporting on the TensorFlow backend (from {keras.backend.backend()}) failed with exit code "
                f"{process.returncode}:\n{process.stderr[-4000:]}"
            )
        return Path(json.loads((folder / "result.json").read_text())["path"])


def _write_archive(archive, version_dir, metadata, extra_files):
    """Writes the SavedModel, `seqkit.json` and the extra files into `version_dir` in one atomic rename."""
    with atomic_directory(version_dir) as staging:
        archive.write_out(str(staging), verbose=False)
        extra = {"seqkit.json": json.dumps(metadata, indent=2), **(extra_files or {})}
        for filename, text in extra.items():
            (staging / filename).write_text(text, encoding="utf-8")
    return version_dir
