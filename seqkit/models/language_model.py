"""Character- and word-level recurrent language models (one-to-many)."""

import math

import keras
from keras import ops

from seqkit.layers.embedding import Embedding
from seqkit.layers.recurrent_stack import RecurrentStack
from seqkit.optimizers import LazyAdam
from seqkit.utils import output_dtype

BOS_ID = 2  # `Vocabulary`'s fixed id of `<bos>`.


def build_language_model(
    vocabulary_size,
    embedding_dim=128,
    cell="lstm",
    units=512,
    num_layers=2,
    dropout=0.0,
    recurrent_dropout=0.0,
    output_dropout=0.0,
    kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal",
    stateful=False,
    batch_size=None,
    sequence_length=None,
    name="language_model",
):
    """Token ids `(batch, time)` -> next-token logits `(batch, time, vocabulary_size)`.

    The body is seqkit's `RecurrentStack`, unidirectional. Layers are named
    `token_embedding`, `recurrent_stack`, `output_dropout` and `logits`;
    `next_token_logits` runs them one step at a time for generation.

    Args:
        vocabulary_size: number of token ids (the vocabulary's size).
        embedding_dim: width of the token embedding.
        cell: `"lstm"`, `"gru"` or `"simple"`.
        units: units per recurrent layer (an int, or a list with one per layer).
        num_layers: stacked recurrent layers.
        dropout: dropout on each recurrent layer's inputs.
        recurrent_dropout: dropout on the recurrent state.
        output_dropout: dropout before the output projection.
        kernel_initializer, recurrent_initializer: see `RecurrentStack`.
        stateful: carry the state across batches (truncated BPTT over consecutive
            windows, see `seqkit.data.text_windows.stateful_window_dataset`);
            needs `batch_size` and `sequence_length`.
        batch_size, sequence_length: a fixed input shape (required when stateful).

    Examples:
    >>> import numpy as np
    >>> model = build_language_model(vocabulary_size=20, embedding_dim=8, units=16, num_layers=1)
    >>> tuple(model(np.ones((2, 5), "int32")).shape)
    (2, 5, 20)
    """
    if vocabulary_size < 5:
        raise ValueError(
            f"`vocabulary_size` must count the 4 special tokens and at least one more. "
            f"Received: vocabulary_size={vocabulary_size}"
        )
    if stateful and (batch_size is None or sequence_length is None):
        raise ValueError(
            "A stateful language model needs a fixed `batch_size` and `sequence_length`. "
            f"Received: batch_size={batch_size}, sequence_length={sequence_length}"
        )
    inputs = keras.Input(batch_shape=(batch_size, sequence_length), dtype="int32", name="token_ids")
    x = Embedding(vocabulary_size, embedding_dim, name="token_embedding")(inputs)
    x = RecurrentStack(
        cell,
        units=units,
        num_layers=num_layers,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        stateful=stateful,
        name="recurrent_stack",
    )(x)
    x = keras.layers.Dropout(output_dropout, name="output_dropout")(x)
    logits = keras.layers.Dense(vocabulary_size, name="logits", dtype=output_dtype())(x)
    return keras.Model(inputs, logits, name=name)


def compile_language_model(model, learning_rate=2e-3, clipnorm=1.0, jit_compile="auto"):
    """Compiles with Adam (`LazyAdam`), gradient clipping and cross-entropy in nats per token.

    The loss ignores `<pad>` targets (id 0); `perplexity` (keras-hub's metric)
    is reported beside it.
    """
    import keras_hub

    model.compile(
        optimizer=LazyAdam(learning_rate=learning_rate, clipnorm=clipnorm or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=[keras_hub.metrics.Perplexity(from_logits=True, mask_token_id=0, name="perplexity")],
        jit_compile=jit_compile,
    )
    return model


def loss_report(nats_per_token, num_tokens=None, num_characters=None):
    """Cross-entropy in the units people compare: nats and bits per token, perplexity,
    and, given the text's size, nats and bits per character.

    Examples:
    >>> loss_report(1.0)["bits_per_token"]
    1.4427
    """
    report = {
        "nats_per_token": round(float(nats_per_token), 4),
        "bits_per_token": round(float(nats_per_token) / math.log(2), 4),
        "perplexity": round(math.exp(float(nats_per_token)), 4),
    }
    if num_tokens and num_characters:
        per_character = float(nats_per_token) * num_tokens / num_characters
        report["nats_per_character"] = round(per_character, 4)
        report["bits_per_character"] = round(per_character / math.log(2), 4)
    return report


def _parts(model):
    try:
        return model.get_layer("token_embedding"), model.get_layer("recurrent_stack"), model.get_layer("logits")
    except ValueError:
        raise ValueError(
            "Expected a model from `build_language_model` (layers 'token_embedding', 'recurrent_stack', "
            f"'logits'). Received: a model with layers {[layer.name for layer in model.layers]}"
        ) from None


def initial_states(model, batch_size):
    """Zero recurrent states for `next_token_logits`."""
    return _parts(model)[1].initial_states(batch_size)


def next_token_logits(model, token_ids, states):
    """One generation step: the logits after `token_ids` `(batch,)`, and the new states.

    Costs one recurrent step, whatever the length of the text so far: the
    states carry it.
    """
    embedding, stack, projection = _parts(model)
    outputs, states = stack.step(embedding(token_ids), states)
    return projection(outputs), states


def token_log_probs(model, token_ids, lengths):
    """Log-probability of each token of padded sequences, given the ones before it.

    Args:
        token_ids: `(batch, time)` ids, padded on the right (no `<bos>`: it is
            prepended here, standing for "no context").
        lengths: `(batch,)` real lengths.

    Returns:
        `(batch, time)` log-probabilities in nats, 0 at padded positions.
    """
    token_ids = ops.convert_to_tensor(token_ids, "int32")
    batch_size = ops.shape(token_ids)[0]
    bos = ops.full((batch_size, 1), BOS_ID, dtype="int32")
    inputs = ops.concatenate([bos, token_ids[:, :-1]], axis=1)
    log_probs = ops.log_softmax(ops.cast(model(inputs, training=False), "float32"), axis=-1)
    picked = ops.squeeze(ops.take_along_axis(log_probs, token_ids[:, :, None], axis=-1), axis=-1)
    positions = ops.arange(ops.shape(token_ids)[1])[None, :]
    mask = positions < ops.cast(ops.convert_to_tensor(lengths)[:, None], "int32")
    return ops.where(mask, picked, ops.zeros_like(picked))


def generate(
    model,
    vocabulary,
    prompts,
    level="char",
    max_new_tokens=200,
    strategy="random",
    temperature=1.0,
    top_k=10,
    top_p=0.9,
    num_beams=4,
    seed=None,
    stop_at_eos=True,
    allow_unknown=False,
):
    """Continues each prompt; returns the prompts followed by their continuations.

    Args:
        model: from `build_language_model`.
        vocabulary: the training `Vocabulary`.
        prompts: a list of strings (an empty string is fine). Tokens outside the
            vocabulary are read as `<unk>`.
        level: `"char"` or `"word"`, as trained.
        max_new_tokens: tokens generated per prompt at most.
        strategy, top_k, top_p, num_beams, seed: see `seqkit.decoding.get_sampler`.
        temperature: > 0; divides the logits.
        stop_at_eos: end a continuation at `<eos>` (word level: a line end).
        allow_unknown: let `<unk>` be generated (by default it is redrawn).

    Examples:
    >>> from seqkit.data import Vocabulary
    >>> vocabulary = Vocabulary.build([list("abc")])
    >>> model = build_language_model(vocabulary.size, embedding_dim=4, units=8, num_layers=1)
    >>> texts = generate(model, vocabulary, ["ab", ""], max_new_tokens=5, strategy="greedy", stop_at_eos=False)
    >>> [len(text) for text in texts]
    [7, 5]
    """
    from seqkit import decoding
    from seqkit.data.text_windows import detokenize, encode_prompts

    decoding.check_temperature(temperature)
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"`max_new_tokens` must be an int >= 1. Received: max_new_tokens={max_new_tokens!r}")
    prompts = list(prompts)
    if not prompts:
        return []
    sampler = decoding.get_sampler(strategy, top_k=top_k, top_p=top_p, num_beams=num_beams, seed=seed)
    ids, lengths = encode_prompts(prompts, level, vocabulary, max_new_tokens)
    forbidden = (vocabulary.pad_id, vocabulary.bos_id) + (() if allow_unknown else (vocabulary.unk_id,))
    if level == "char":
        forbidden += (vocabulary.eos_id,)  # A character stream has no end-of-sentence token.
    output = decoding.generate_ids(
        model,
        ids,
        ids.shape[1],
        sampler,
        temperature=temperature,
        stop_token_id=vocabulary.eos_id if stop_at_eos else None,
        forbidden_ids=forbidden,
    )
    output = ops.convert_to_numpy(output)
    texts = []
    for prompt, row, length in zip(prompts, output, lengths):
        new = [int(token) for token in row[length : length + max_new_tokens]]
        if stop_at_eos and vocabulary.eos_id in new:
            new = new[: new.index(vocabulary.eos_id)]
        continuation = detokenize(vocabulary.decode(new), level)
        spaced = level == "word" and prompt and continuation
        joiner = " " if spaced and not prompt[-1].isspace() and not continuation[0].isspace() else ""
        texts.append(prompt + joiner + continuation)
    return texts


def score(model, vocabulary, texts, level="char", add_eos=False, batch_size=64):
    """Log-probability and perplexity of each text under the model.

    Each text is scored from "no context" (`<bos>`): the sum of the log-probability
    of every token given those before it. A token outside the vocabulary is
    scored as `<unk>`, i.e. as "some rare token" (its probability is what the
    model learned for words below the vocabulary's cut-off); such tokens are
    listed in `unknown`, because two sentences compare fairly only when both are
    fully in the vocabulary.

    Returns:
        one dict per text: `log_prob` (nats), `num_tokens`, `perplexity`
        (`exp(-log_prob / num_tokens)`), `unknown` (the out-of-vocabulary tokens).

    Examples:
    >>> from seqkit.data import Vocabulary
    >>> vocabulary = Vocabulary.build([list("abc")])
    >>> model = build_language_model(vocabulary.size, embedding_dim=4, units=8, num_layers=1)
    >>> result = score(model, vocabulary, ["abc"])[0]
    >>> result["num_tokens"], result["log_prob"] < 0
    (3, True)
    """
    import numpy as np

    from seqkit.data.text_windows import lm_tokenizer

    if isinstance(texts, str):
        raise ValueError(f"`texts` must be a list of strings. Received: a single string {texts!r}")
    rows, unknown = [], []
    # One tokenizer call for the batch; a text is scored as one line (no `<eos>` inside).
    for tokens in lm_tokenizer(level)(list(texts)) if texts else []:
        tokens = tokens + (["<eos>"] if add_eos else [])
        rows.append(vocabulary.encode(tokens))
        unknown.append([token for token in tokens if token not in vocabulary])
    results = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        lengths = np.array([len(row) for row in chunk], dtype="int32")
        ids = np.zeros((len(chunk), max(1, int(lengths.max(initial=1)))), dtype="int32")
        for index, row in enumerate(chunk):
            ids[index, : len(row)] = row
        totals = ops.convert_to_numpy(ops.sum(token_log_probs(model, ids, lengths), axis=1))
        for total, length in zip(totals, lengths):
            total = float(total)
            perplexity = math.exp(-total / length) if length else float("nan")
            results.append({"log_prob": total, "num_tokens": int(length), "perplexity": perplexity})
    for result, tokens in zip(results, unknown):
        result["unknown"] = tokens
    return results
