"""Bidirectional language models (ELMo, Peters et al. 2018): a forward and a backward LM over shared token inputs.

The forward LM reads a sentence left to right and predicts the next token; the
backward LM reads it right to left and predicts the previous one. They share the
token representation (a word embedding, optionally with a character encoder)
and the output softmax, and keep separate recurrent layers. Each layer's states,
forward and backward concatenated, are the contextual features that
`seqkit.layers.ContextualEmbedding` mixes into a task model.

Sentences are trained as they come, without `<bos>`/`<eos>`: the forward LM's
last step and the backward LM's first step have no target. A task model then
sees exactly the inputs the BiLM was trained on.
"""

import math
import time

import keras
import numpy as np
from keras import ops

from seqkit.layers.char_encoder import CharacterEncoder
from seqkit.layers.embedding import Embedding
from seqkit.layers.recurrent_stack import RecurrentStack
from seqkit.layers.sampled_softmax import SampledSoftmaxLoss, mean_token_loss
from seqkit.layers.sequence_reversal import ReverseSequence
from seqkit.optimizers import LazyAdam
from seqkit.utils import output_dtype


def build_bidirectional_language_model(
    vocabulary_size,
    embedding_dim=256,
    cell="lstm",
    units=256,
    num_layers=2,
    dropout=0.1,
    output_dropout=0.1,
    char_vocabulary_size=None,
    char_encoder="cnn",
    char_embedding_dim=16,
    char_hidden_dim=64,
    name="bidirectional_language_model",
):
    """Token ids `(batch, time)` -> `{"forward": logits, "backward": logits}`, each `(batch, time, vocabulary_size)`.

    `forward[:, t]` scores token `t + 1` from tokens `<= t`; `backward[:, t]`
    scores token `t - 1` from tokens `>= t`. Id 0 is padding. The inputs are a
    dict: `token_ids`, and `chars` for a char-aware model. The layers that
    `ContextualEmbedding` reads are named `token_representation`, `forward_<k>`
    and `backward_<k>` (the backward states in reversed order), k = 1..num_layers.

    Args:
        vocabulary_size: the number of token ids.
        embedding_dim: the token representation's width. With `embedding_dim ==
            units`, that representation is a layer of the contextual mix too.
        cell, units, num_layers, dropout: the recurrent layers of each direction
            (`RecurrentStack` options; one stack per layer and direction).
        output_dropout: dropout before the shared softmax.
        char_vocabulary_size: if given, the model also takes `chars`
            `(batch, time, characters)` and adds a character encoder to each
            token's representation (a char-aware input, as in ELMo).
        char_encoder, char_embedding_dim, char_hidden_dim: `CharacterEncoder` options.

    Examples:
    >>> import numpy as np
    >>> model = build_bidirectional_language_model(20, embedding_dim=8, units=8, num_layers=1)
    >>> outputs = model({"token_ids": np.array([[5, 6, 0]])})
    >>> tuple(outputs["forward"].shape), tuple(outputs["backward"].shape)
    ((1, 3, 20), (1, 3, 20))
    """
    if not isinstance(vocabulary_size, int) or vocabulary_size < 5:
        raise ValueError(f"`vocabulary_size` must be an int >= 5. Received: vocabulary_size={vocabulary_size!r}")
    if not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"`num_layers` must be a positive int. Received: num_layers={num_layers!r}")
    if not isinstance(units, int) or units < 1:
        raise ValueError(f"`units` must be a positive int (the same for every layer). Received: units={units!r}")

    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    inputs = {"token_ids": token_ids}
    x = Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="token_embedding")(token_ids)
    if char_vocabulary_size:
        chars = keras.Input(shape=(None, None), dtype="int32", name="chars")
        inputs["chars"] = chars
        characters = CharacterEncoder(char_vocabulary_size, char_encoder, char_embedding_dim, char_hidden_dim,
                                      name="char_encoder")(chars)
        x = keras.layers.Concatenate(name="word_and_characters")([x, characters])
        x = keras.layers.Dense(embedding_dim, name="token_projection")(x)
    x = keras.layers.Identity(name="token_representation")(x)
    mask = ops.not_equal(token_ids, 0)

    forward, backward = x, ReverseSequence(name="reverse_tokens")(x, mask=mask)
    for k in range(1, num_layers + 1):
        options = dict(cell=cell, units=units, num_layers=1, dropout=dropout, return_sequences=True)
        forward = RecurrentStack(name=f"forward_{k}", **options)(forward, mask=mask)
        backward = RecurrentStack(name=f"backward_{k}", **options)(backward, mask=mask)
    aligned = ReverseSequence(name="backward_aligned")(backward, mask=mask)

    softmax = keras.layers.Dense(vocabulary_size, name="logits", dtype=output_dtype())
    drop = keras.layers.Dropout(output_dropout, name="output_dropout")
    outputs = {"forward": softmax(drop(forward)), "backward": softmax(drop(aligned))}
    return keras.Model(inputs, outputs, name=name)


def compile_bidirectional_language_model(model, learning_rate=2e-3, clipnorm=1.0, jit_compile="auto"):
    """Adam (`LazyAdam`) with clipping; the loss is the sum of both directions' cross-entropy in nats per token.

    Padding targets (id 0) are ignored, so each direction's loss is its mean
    over the tokens it has a target for.
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(
        optimizer=LazyAdam(learning_rate=learning_rate, clipnorm=clipnorm or None),
        loss={"forward": loss, "backward": loss},
        jit_compile=jit_compile,
    )
    return model


def bidirectional_targets(token_ids):
    """`(forward, backward)` targets of padded `(batch, time)` ids: each row shifted left, and right, by one.

    Examples:
    >>> forward, backward = bidirectional_targets(np.array([[5, 6, 7, 0]]))
    >>> forward.tolist(), backward.tolist()
    ([[6, 7, 0, 0]], [[0, 5, 6, 0]])
    """
    token_ids = np.asarray(token_ids)
    forward = np.zeros_like(token_ids)
    forward[:, :-1] = token_ids[:, 1:]
    backward = np.zeros_like(token_ids)
    backward[:, 1:] = token_ids[:, :-1]
    backward[token_ids == 0] = 0  # A padded step predicts nothing.
    return forward, backward


def bidirectional_batches(
    token_ids, chars=None, batch_size=32, shuffle=True, seed=0, targets_as_inputs=False, length_multiple=None
):
    """Length-bucketed training batches for `build_bidirectional_language_model` (numpy, any backend).

    Args:
        token_ids: `(sentences, max_length)` ids padded with 0, or a list of id lists.
        chars: optional `(sentences, max_length, characters)` ids, for a char-aware BiLM.
        targets_as_inputs: also give the targets as inputs `forward_targets` and
            `backward_targets`, as `sampled_softmax_model` takes them.
        length_multiple: round each batch's length up to a multiple of this
            (`BucketedBatches`; None: its backend default).
    """
    from seqkit.data.bucketing import BucketedBatches

    if not isinstance(token_ids, np.ndarray):
        rows = [list(row) for row in token_ids]
        if not rows or not max(len(row) for row in rows):
            raise ValueError("The BiLM needs at least one non-empty sentence of token ids. Received: none.")
        array = np.zeros((len(rows), max(len(row) for row in rows)), "int32")
        for index, row in enumerate(rows):
            array[index, : len(row)] = row
        token_ids = array
    lengths = (token_ids != 0).sum(axis=1)
    keep = lengths > 1  # A one-token sentence has no target in either direction.
    if not keep.any():
        raise ValueError("The BiLM needs sentences of at least 2 tokens. Received: every sentence is shorter.")
    forward, backward = bidirectional_targets(token_ids)
    inputs = {"token_ids": token_ids[keep]}
    if chars is not None:
        inputs["chars"] = np.asarray(chars)[keep]
    targets = {"forward": forward[keep], "backward": backward[keep]}
    if targets_as_inputs:
        inputs.update({f"{direction}_targets": values for direction, values in targets.items()})
    return BucketedBatches(
        inputs, targets, lengths[keep], batch_size=batch_size, shuffle=shuffle, seed=seed, length_multiple=length_multiple
    )


def sampled_softmax_model(model, num_sampled=1024, seed=None):
    """A training view of a BiLM whose loss scores each target against `num_sampled` sampled words.

    The view shares every weight with `model` (training it trains `model`). Its
    inputs are the BiLM's plus `forward_targets` and `backward_targets` (from
    `bidirectional_batches(..., targets_as_inputs=True)`); its outputs are each
    direction's per-token loss, sampled in training and exact in evaluation
    (`SampledSoftmaxLoss`), for `compile` with `mean_token_loss`. The BiLM itself
    keeps its full-softmax outputs.

    Examples:
    >>> model = build_bidirectional_language_model(50, embedding_dim=8, units=8, num_layers=1)
    >>> view = sampled_softmax_model(model, num_sampled=10, seed=0)
    >>> sorted(view.input), sorted(view.output)
    (['backward_targets', 'forward_targets', 'token_ids'], ['backward', 'forward'])
    """
    names = [layer.name for layer in model.layers]
    if "logits" not in names or "backward_aligned" not in names:
        raise ValueError(
            "Expected a model from `build_bidirectional_language_model` (layers 'logits', 'backward_aligned'). "
            f"Received: layers {names}"
        )
    depth = sum(1 for name in names if name.startswith("forward_"))
    dropout = model.get_layer("output_dropout")
    loss = SampledSoftmaxLoss(model.get_layer("logits"), num_sampled=num_sampled, seed=seed, name="sampled_softmax")
    hidden = {"forward": model.get_layer(f"forward_{depth}").output, "backward": model.get_layer("backward_aligned").output}
    targets = {direction: keras.Input(shape=(None,), dtype="int32", name=f"{direction}_targets") for direction in hidden}
    outputs = {direction: loss(dropout(hidden[direction]), targets[direction]) for direction in hidden}
    inputs = {**model.input, **{f"{direction}_targets": tensor for direction, tensor in targets.items()}}
    return keras.Model(inputs, outputs, name=f"{model.name}_sampled_softmax")


def initialize_output_bias(model, token_ids):
    """Starts a BiLM's softmax bias at the log unigram frequencies of `token_ids` (add-one smoothed).

    Training then starts from the unigram model instead of a uniform guess over
    the vocabulary. A sampled softmax gains most: rare words are seldom drawn as
    negatives, so their logits would otherwise stay where initialization left
    them. Call it once, before training (it overwrites the bias).

    Args:
        model: from `build_bidirectional_language_model`.
        token_ids: the training sentences' ids (lists, or arrays padded with 0).

    Returns:
        The bias, as numpy.

    Examples:
    >>> model = build_bidirectional_language_model(6, embedding_dim=4, units=4, num_layers=1)
    >>> bias = initialize_output_bias(model, [[4, 4, 5], [4]])
    >>> np.exp(bias.astype("float64")).round(2).tolist()  # Counts 1, 1, 1, 1, 4, 2 over 10.
    [0.1, 0.1, 0.1, 0.1, 0.4, 0.2]
    """
    layer = model.get_layer("logits")
    rows = [np.asarray(row, "int64").ravel() for row in token_ids]
    flat = np.concatenate(rows) if rows else np.zeros(0, "int64")
    flat = flat[flat > 0]
    if flat.size and flat.max() >= layer.units:
        raise ValueError(f"Token ids must be < the vocabulary size {layer.units}. Received: id {int(flat.max())}")
    counts = np.bincount(flat, minlength=layer.units) + 1.0
    bias = np.log(counts / counts.sum()).astype("float32")
    layer.bias.assign(bias)
    return bias


def train_bidirectional_language_model(model, train_ids, dev_ids=None, epochs=5, batch_size=32, patience=1, seed=0,
                                       train_chars=None, dev_chars=None, verbose=2, num_sampled=None,
                                       length_multiple=None, callbacks=()):
    """Fits a compiled BiLM on sentences of token ids, early-stopped on the dev loss with the best weights kept.

    Args:
        model: from `build_bidirectional_language_model`, compiled.
        train_ids, dev_ids: sentences of token ids (lists, or arrays padded with 0).
        epochs, batch_size, patience, seed: training options.
        train_chars, dev_chars: character ids, for a char-aware BiLM.
        num_sampled: train with a sampled softmax of this many words per batch
            (`sampled_softmax_model`, with `model`'s optimizer) instead of the
            full one: much faster over a large vocabulary. Dev losses stay exact.
        length_multiple: round each batch's length up to a multiple of this. On
            JAX each new length compiles a step, so long texts (reviews of
            hundreds of words) train faster with a coarse multiple such as 128.
        callbacks: more Keras callbacks for `fit`, e.g. `seqkit.training.TimeBudget`.

    Returns:
        A report: epochs run, the best epoch, seconds, tokens trained per
        epoch, and each direction's perplexity at the best epoch (dev, and
        train unless sampled: a sampled training loss is no perplexity).
    """
    trained, sampled = model, bool(num_sampled)
    if sampled:
        if getattr(model, "optimizer", None) is None:
            raise ValueError("Compile the BiLM first (`compile_bidirectional_language_model`): its optimizer trains it.")
        trained = sampled_softmax_model(model, num_sampled, seed=seed)
        trained.compile(optimizer=model.optimizer, loss={"forward": mean_token_loss, "backward": mean_token_loss},
                        jit_compile=model.jit_compile)
    options = dict(seed=seed, targets_as_inputs=sampled, length_multiple=length_multiple)
    train = bidirectional_batches(train_ids, train_chars, batch_size, **options)
    dev = None if dev_ids is None else bidirectional_batches(dev_ids, dev_chars, batch_size, **options)
    monitor = "loss" if dev is None else "val_loss"
    stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)
    start = time.time()
    logs = trained.fit(train, validation_data=dev, epochs=epochs, callbacks=[stop, *callbacks], verbose=verbose).history
    best = int(np.argmin(logs[monitor]))
    return {
        "epochs_run": len(logs["loss"]),
        "best_epoch": best + 1,
        "seconds": round(time.time() - start, 1),
        "tokens_per_epoch": int(train.lengths.sum()),
        **({"num_sampled": num_sampled} if sampled else {}),
        **{key.replace("_loss", "_perplexity"): round(math.exp(values[best]), 3)
           for key, values in logs.items()
           if key.endswith(("forward_loss", "backward_loss")) and (key.startswith("val_") or not sampled)},
    }


def layer_outputs(model):
    """The BiLM's contextual layers as Keras tensors, bottom first: the token representation, then each
    recurrent layer as a `(forward, backward)` pair, both in reading order.

    The token representation appears as the same tensor twice.
    """
    names = [layer.name for layer in model.layers]
    if "token_representation" not in names or "forward_1" not in names or not isinstance(model.input, dict):
        raise ValueError(
            "Expected a model from `build_bidirectional_language_model` (layers 'token_representation', "
            f"'forward_<k>', 'backward_<k>'). Received: layers {names}"
        )
    mask = ops.not_equal(model.input["token_ids"], 0)
    token = model.get_layer("token_representation").output
    layers = [(token, token)]
    k = 1
    while f"forward_{k}" in names:
        backward = model.get_layer(f"backward_{k}").output
        aligned = ReverseSequence(name=f"backward_{k}_in_reading_order")(backward, mask=mask)
        layers.append((model.get_layer(f"forward_{k}").output, aligned))
        k += 1
    return layers
