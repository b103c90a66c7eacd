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
from seqkit.layers.attention_decoder import DECODER_CELLS, INITIAL_STATES, AttentionDecoder, DecoderBridge
from seqkit.optimizers import LazyAdam


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
        cell: `"lstm"` or `"gru"`, for the encoder and the decoder.
        units: units per layer and direction.
        encoder_layers, decoder_layers: stacked layers of each side.
        bidirectional: a bidirectional encoder; its state at each step
            concatenates the forward and backward states.
        attention: `"bahdanau"`, `"luong_dot"`, `"luong_general"` or `"none"`.
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
        decoder_initial_state, units=units, num_layers=decoder_layers, states_per_layer=2 if cell == "lstm" else 1,
        bidirectional=bidirectional, name="bridge",
    )
    decoder = AttentionDecoder(
        cell, units=units, num_layers=decoder_layers, attention=attention, attention_units=attention_units,
        input_feeding=input_feeding, kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer, name="decoder",
    )
    logits_layer = keras.layers.Dense(target_vocabulary_size, name="logits")

    # === Functional Model ===
    source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    target_ids = keras.Input(shape=(None,), dtype="int32", name="target_ids")
    source_mask = keras.layers.Lambda(lambda ids: ops.not_equal(ids, 0), name="source_mask")(source_ids)
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
    return values, decoder.keys(values), source_mask, carry


def decode_step(model, token_ids, carry, values, keys, source_mask):
    """Feeds one `(batch,)` token per row: `(logits, attention_weights, carry)`."""
    embedded = model.get_layer("target_embedding")(ops.convert_to_tensor(token_ids, "int32"))
    output, weights, carry = model.get_layer("decoder").step(embedded, carry, values, keys, source_mask)
    return model.get_layer("logits")(output), weights, carry
