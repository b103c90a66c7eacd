"""Many-to-many, Tx != Ty: the encoder-decoder builder with attention (translation, dates).

The model reads `source_ids` and, with teacher forcing, `target_ids` (`<bos>` and
the reference shifted right) and returns next-token logits for every target step.
`encode` and `decode_step` run the same layers one token at a time for greedy and
beam decoding.
"""

import keras
from keras import ops

from seqkit.layers import Embedding, RecurrentStack
from seqkit.layers.attention import ATTENTIONS
from seqkit.layers.attention_decoder import DECODER_CELLS, INITIAL_STATES, AttentionDecoder, DecoderBridge, PaddingMask
from seqkit.layers.recurrent_stack import TWO_STATE_CELLS
from seqkit.optimizers import LazyAdam
from seqkit.utils import output_dtype


# The `build_seq2seq` options a recipe config may carry under the same names (see `options_from`).
BUILD_OPTIONS = (
    "embedding_dim", "cell", "units", "encoder_layers", "decoder_layers", "bidirectional", "attention",
    "attention_units", "input_feeding", "decoder_initial_state", "dropout",
)


def options_from(config):
    """The `build_seq2seq` keyword arguments held by `config` (any object with those attributes)."""
    return {name: getattr(config, name) for name in BUILD_OPTIONS if hasattr(config, name)}


def build_seq2seq(
    source_vocabulary_size,
    target_vocabulary_size,
    embedding_dim=128,
    cell="lstm",
    units=128,
    encoder_layers=1,
    decoder_layers=1,
    bidirectional=True,
    attention="bahdanau",
    attention_units=128,
    input_feeding=False,
    decoder_initial_state="final",
    dropout=0.0,
    kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal",
    name="seq2seq",
):
    """Builds a functional encoder-decoder: `{"source_ids", "target_ids"}` -> `(batch, target_steps, vocabulary)` logits.

    Args:
        source_vocabulary_size, target_vocabulary_size: the two vocabularies' sizes
            (id 0 is padding in both and is masked).
        embedding_dim: the width of both embeddings.
        cell: `"lstm"`, `"gru"` or `"peephole"`, for the encoder and the decoder.
        units: units per layer and direction.
        encoder_layers, decoder_layers: stacked layers of each side.
        bidirectional: a bidirectional encoder; its state at each step
            concatenates the forward and backward states.
        attention: `"bahdanau"`, `"luong_dot"`, `"luong_general"` or `"none"` (every
            step reads one fixed summary of the source, the mean encoder state: the
            baseline that measures what attention adds).
        attention_units: the width of Bahdanau's scoring MLP.
        input_feeding: feed each step's attentional state into the next step.
        decoder_initial_state: `"zeros"`, `"final"` (the encoder's final states,
            projected) or `"backward_first"` (`tanh(W h1_backward)`).
        dropout: dropout on the embeddings, between encoder layers, and before the
            output layer.
        kernel_initializer, recurrent_initializer: as in `RecurrentStack`.

    Examples:
    >>> import numpy as np
    >>> model = build_seq2seq(20, 30, embedding_dim=8, units=8, attention_units=8)
    >>> logits = model({"source_ids": np.array([[5, 6, 7, 0]]), "target_ids": np.array([[2, 9, 0]])})
    >>> tuple(logits.shape)
    (1, 3, 30)
    """
    # === Validation ===
    for argument, value in (("source_vocabulary_size", source_vocabulary_size),
                            ("target_vocabulary_size", target_vocabulary_size)):
        if not isinstance(value, int) or value < 5:
            raise ValueError(f"`{argument}` must be an int >= 5 (4 special tokens and more). Received: {value!r}")
    if cell not in DECODER_CELLS:
        raise ValueError(f"`cell` must be one of {DECODER_CELLS}. Received: cell={cell!r}")
    if attention not in ATTENTIONS:
        raise ValueError(f"`attention` must be one of {ATTENTIONS}. Received: attention={attention!r}")
    if decoder_initial_state not in INITIAL_STATES:
        raise ValueError(
            f"`decoder_initial_state` must be one of {INITIAL_STATES}. Received: {decoder_initial_state!r}"
        )
    encoder_width = units * (2 if bidirectional else 1)
    if attention == "luong_dot" and encoder_width != units:
        raise ValueError(
            "Luong 'dot' attention scores decoder states against encoder states, so their widths must match: "
            f"the encoder gives {encoder_width} (units={units}, bidirectional={bidirectional}) and the decoder "
            f"{units}. Use attention='luong_general', or bidirectional=False."
        )

    # === Layers ===
    source_embedding = Embedding(source_vocabulary_size, embedding_dim, mask_zero=True, name="source_embedding")
    target_embedding = Embedding(target_vocabulary_size, embedding_dim, mask_zero=True, name="target_embedding")
    encoder = RecurrentStack(
        cell, units=units, num_layers=encoder_layers, bidirectional=bidirectional, dropout=dropout,
        kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer, name="encoder",
    )
    bridge = DecoderBridge(
        decoder_initial_state, units=units, num_layers=decoder_layers, states_per_layer=2 if cell in TWO_STATE_CELLS else 1,
        bidirectional=bidirectional, name="bridge",
    )
    decoder = AttentionDecoder(
        cell, units=units, num_layers=decoder_layers, attention=attention, attention_units=attention_units,
        input_feeding=input_feeding, kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer, name="decoder",
    )
    logits_layer = keras.layers.Dense(target_vocabulary_size, name="logits", dtype=output_dtype())

    # === Functional Model ===
    source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    target_ids = keras.Input(shape=(None,), dtype="int32", name="target_ids")
    source_mask = PaddingMask(name="source_mask")(source_ids)
    source = source_embedding(source_ids)
    target = target_embedding(target_ids)
    if dropout:
        source = keras.layers.Dropout(dropout, name="source_dropout")(source)
        target = keras.layers.Dropout(dropout, name="target_dropout")(target)
    encoded = encoder(source)
    initial_state = bridge(encoded, source_mask)
    decoded, _ = decoder(target, encoded, initial_state=initial_state, source_mask=source_mask)
    if dropout:
        decoded = keras.layers.Dropout(dropout, name="output_dropout")(decoded)
    logits = logits_layer(decoded)
    return keras.Model({"source_ids": source_ids, "target_ids": target_ids}, logits, name=name)


def compile_seq2seq(model, learning_rate=1e-3, clipnorm=1.0, jit_compile="auto"):
    """Compiles with Adam (lazy on embedding rows), gradient clipping, and a masked token cross-entropy.

    Padded target steps carry the embedding's mask to the logits, so they add
    nothing to the loss or to the token accuracy.
    """
    model.compile(
        optimizer=LazyAdam(learning_rate=learning_rate, clipnorm=clipnorm or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")],
        jit_compile=jit_compile,
    )
    return model


def attention_model(model):
    """A model with the same inputs returning `(logits, attention weights)` (`(batch, target, source)`)."""
    decoder = model.get_layer("decoder")
    return keras.Model(model.input, [model.output, decoder.output[1]], name=f"{model.name}_with_attention")


# === One token at a time ===


def encode(model, source_ids):
    """Runs the encoder: `(values, keys, source_mask, carry)` for `decode_step`."""
    source_ids = ops.convert_to_tensor(source_ids, "int32")
    source_mask = ops.not_equal(source_ids, 0)
    values = model.get_layer("encoder")(model.get_layer("source_embedding")(source_ids), training=False)
    decoder = model.get_layer("decoder")
    initial_state = model.get_layer("bridge")(values, source_mask)
    carry = decoder.initial_carry(ops.shape(source_ids)[0], initial_state)
    return values, decoder.keys(values, source_mask), source_mask, carry


def decode_step(model, token_ids, carry, values, keys, source_mask):
    """Feeds one `(batch,)` token per row: `(logits, attention_weights, carry)`."""
    # The table itself, not the layer: a one-token lookup needs no mask (cells warn about one).
    embedded = ops.take(model.get_layer("target_embedding").embeddings, ops.convert_to_tensor(token_ids, "int32"), 0)
    output, weights, carry = model.get_layer("decoder").step(embedded, carry, values, keys, source_mask)
    return model.get_layer("logits")(output), weights, carry


# === Decoding (batched, in the graph) ===
# keras-hub's BeamSampler has no length penalty and cannot return the attention
# weights, so the two loops below are our own, in `keras.ops` (they trace into a
# SavedModel's graph on TensorFlow and jit on JAX).


def _banned_logits(vocabulary_size, banned_ids):
    banned = ops.zeros((vocabulary_size,), "float32")
    if banned_ids:
        banned = ops.scatter_update(
            banned, [[int(i)] for i in banned_ids], ops.full((len(banned_ids),), -1e9, "float32")
        )
    return banned


def greedy_decode(model, source_ids, max_length, bos_id=2, eos_id=3, banned_ids=(0, 1, 2)):
    """Decodes the most likely token at every step.

    Args:
        model: from `build_seq2seq`.
        source_ids: `(batch, source_steps)` ids (0 is padding).
        max_length: the most target tokens to produce (`<eos>` included).
        bos_id, eos_id: the target vocabulary's `<bos>` and `<eos>`.
        banned_ids: never produced (by default `<pad>`, `<unk>`, `<bos>`).

    Returns:
        `(tokens, attention)`: `(batch, max_length)` ids, `<eos>` then 0s after
        each row's end, and `(batch, max_length, source_steps)` weights (0 after the end).

    Examples:
    >>> import numpy as np
    >>> model = build_seq2seq(20, 30, embedding_dim=8, units=8, attention_units=8)
    >>> tokens, attention = greedy_decode(model, np.array([[5, 6, 0]]), max_length=4)
    >>> tuple(tokens.shape), tuple(attention.shape)
    ((1, 4), (1, 4, 3))
    """
    values, keys, source_mask, carry = encode(model, source_ids)
    batch, source_steps = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
    banned = _banned_logits(model.get_layer("logits").units, banned_ids)

    def body(step, state):
        tokens, attention, previous, finished, carry = state
        logits, weights, carry = decode_step(model, previous, carry, values, keys, source_mask)
        token = ops.cast(ops.argmax(ops.cast(logits, "float32") + banned, axis=-1), "int32")
        token = ops.where(finished, ops.zeros_like(token), token)
        weights = ops.where(ops.expand_dims(finished, -1), ops.zeros_like(weights), ops.cast(weights, "float32"))
        tokens = ops.slice_update(tokens, [0, step], ops.expand_dims(token, 1))
        attention = ops.slice_update(attention, [0, step, 0], ops.expand_dims(weights, 1))
        return tokens, attention, token, ops.logical_or(finished, ops.equal(token, eos_id)), carry

    state = (
        ops.zeros((batch, max_length), "int32"),
        ops.zeros((batch, max_length, source_steps), "float32"),
        ops.full((batch,), bos_id, "int32"),
        ops.zeros((batch,), "bool"),
        carry,
    )
    tokens, attention, *_ = ops.fori_loop(0, max_length, body, state)
    return tokens, attention


def beam_decode(
    model, source_ids, max_length, num_beams=4, length_penalty=0.6, bos_id=2, eos_id=3, banned_ids=(0, 1, 2)
):
    """Beam search: keeps the `num_beams` best prefixes per source, then picks by length-normalized score.

    A finished beam (one that produced `<eos>`) stays in its slot with its score.
    At the end each beam's log-probability is divided by GNMT's length penalty
    `((5 + length) / 6) ** length_penalty` (0: no normalization; larger favours
    longer outputs) and the best one is returned.

    Args:
        model, source_ids, max_length, bos_id, eos_id, banned_ids: as in `greedy_decode`.
        num_beams: the beam width (1 is greedy).
        length_penalty: GNMT's alpha.

    Returns:
        `(tokens, attention, scores)`: as `greedy_decode`, plus each row's
        length-normalized log-probability `(batch,)`.

    Examples:
    >>> import numpy as np
    >>> model = build_seq2seq(20, 30, embedding_dim=8, units=8, attention_units=8)
    >>> tokens, attention, scores = beam_decode(model, np.array([[5, 6, 0], [7, 0, 0]]), max_length=4, num_beams=3)
    >>> tuple(tokens.shape), tuple(attention.shape), tuple(scores.shape)
    ((2, 4), (2, 4, 3), (2,))
    """
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ValueError(f"`num_beams` must be a positive int. Received: num_beams={num_beams!r}")
    if not isinstance(length_penalty, (int, float)) or length_penalty < 0:
        raise ValueError(f"`length_penalty` must be a number >= 0. Received: length_penalty={length_penalty!r}")
    source_ids = ops.convert_to_tensor(source_ids, "int32")
    batch, source_steps = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
    beams = num_beams
    # Every row is repeated `beams` times: row b's beams are rows b * beams ... b * beams + beams - 1.
    values, keys, source_mask, carry = encode(model, ops.repeat(source_ids, beams, axis=0))
    vocabulary_size = model.get_layer("logits").units
    banned = _banned_logits(vocabulary_size, banned_ids)
    # A finished beam may only add `<pad>` (id 0), at no cost.
    after_end = ops.scatter_update(ops.full((vocabulary_size,), -1e9, "float32"), [[0]], ops.zeros((1,), "float32"))

    offsets = ops.expand_dims(ops.arange(batch) * beams, -1)

    def reorder(tensor, origin):  # origin: (batch, beams), the beam each new slot continues.
        return ops.take(tensor, ops.reshape(offsets + ops.cast(origin, offsets.dtype), (-1,)), axis=0)

    def body(step, state):
        tokens, attention, previous, scores, lengths, finished, carry = state
        logits, weights, carry = decode_step(model, previous, carry, values, keys, source_mask)
        log_probs = ops.log_softmax(ops.cast(logits, "float32") + banned, axis=-1)
        log_probs = ops.where(ops.expand_dims(finished, -1), after_end, log_probs)
        candidates = ops.reshape(ops.expand_dims(ops.reshape(scores, (-1,)), -1) + log_probs, (batch, -1))
        scores, chosen = ops.top_k(candidates, beams)  # (batch, beams) over beams x vocabulary.
        origin, token = chosen // vocabulary_size, ops.cast(chosen % vocabulary_size, "int32")
        carry = tuple(reorder(part, origin) for part in carry)
        was_finished = reorder(finished, origin)
        weights = ops.where(ops.expand_dims(was_finished, -1), 0.0, reorder(ops.cast(weights, "float32"), origin))
        token = ops.reshape(token, (-1,))
        tokens = ops.slice_update(reorder(tokens, origin), [0, step], ops.expand_dims(token, 1))
        attention = ops.slice_update(reorder(attention, origin), [0, step, 0], ops.expand_dims(weights, 1))
        lengths = reorder(lengths, origin) + ops.cast(ops.logical_not(was_finished), "int32")
        finished = ops.logical_or(was_finished, ops.equal(token, eos_id))
        return tokens, attention, token, scores, lengths, finished, carry

    # Only the first beam of each row is live at the start, so the first step's candidates are distinct.
    first = ops.concatenate([ops.zeros((1,)), ops.full((beams - 1,), -1e9)], 0)
    state = (
        ops.zeros((batch * beams, max_length), "int32"),
        ops.zeros((batch * beams, max_length, source_steps), "float32"),
        ops.full((batch * beams,), bos_id, "int32"),
        ops.tile(ops.expand_dims(first, 0), (batch, 1)),
        ops.zeros((batch * beams,), "int32"),
        ops.zeros((batch * beams,), "bool"),
        carry,
    )
    tokens, attention, _, scores, lengths, _, _ = ops.fori_loop(0, max_length, body, state)
    penalty = ops.power((5.0 + ops.cast(ops.reshape(lengths, (batch, beams)), "float32")) / 6.0, float(length_penalty))
    normalized = scores / penalty
    best = ops.expand_dims(ops.argmax(normalized, axis=-1), -1)  # (batch, 1)
    tokens = reorder(tokens, ops.repeat(best, beams, axis=1))
    attention = reorder(attention, ops.repeat(best, beams, axis=1))
    every = ops.arange(0, batch * beams, beams)
    return ops.take(tokens, every, axis=0), ops.take(attention, every, axis=0), ops.take_along_axis(normalized, best, 1)[:, 0]
