"""Sequence tagger (many-to-many, Tx = Ty): word + character + casing features, a recurrent stack, softmax or CRF."""

import keras
import numpy as np
from keras import ops

from seqkit.layers.char_encoder import CharacterEncoder
from seqkit.layers.crf import CRF, bio_constraints
from seqkit.layers.embedding import Embedding
from seqkit.layers.recurrent_stack import RecurrentStack
from seqkit.optimizers import LazyAdam
from seqkit.utils import output_dtype

OUTPUTS = ("crf", "softmax")


def build_tagger(
    word_vocabulary_size,
    tag_names,
    char_vocabulary_size=None,
    casing_size=None,
    word_embedding_dim=100,
    embedding_matrix=None,
    trainable_embeddings=True,
    char_encoder="cnn",
    char_embedding_dim=30,
    char_hidden_dim=50,
    char_kernel_size=3,
    casing_dim=8,
    embedding_dropout=0.5,
    word_dropout=0.0,
    cell="lstm",
    units=100,
    num_layers=1,
    bidirectional=True,
    dropout=0.0,
    recurrent_dropout=0.0,
    output_dropout=0.5,
    output="crf",
    constrain_transitions=True,
    tag_scheme="bio",
    contextual_embedding=None,
    contextual_at_output=False,
    name="tagger",
):
    """Builds a functional tagger over `words`, `chars` and `casing` ids (see `TagFeaturizer`).

    Word id 0 is padding and is masked end to end. The model outputs per-token
    emission scores `(batch, time, num_tags)`; with `output="crf"` they pass a
    `CRF` layer (named "crf") that owns the transition scores. Decode with
    `decode_tags`.

    Args:
        word_vocabulary_size: the number of word ids.
        tag_names: the tag of each tag id, e.g. `["O", "B-PER", "I-PER"]`.
        char_vocabulary_size: the number of character ids; needed unless
            `char_encoder=None`.
        casing_size: the number of casing ids (`len(CASING_NAMES)`); needed
            unless `casing_dim=0`.
        word_embedding_dim: the word embedding width.
        embedding_matrix: optional `(word_vocabulary_size, word_embedding_dim)`
            initial word vectors (see `load_word_vectors`).
        trainable_embeddings: fine-tune the word vectors.
        char_encoder: `"cnn"`, `"lstm"` or `None` (no character features).
        char_embedding_dim, char_hidden_dim, char_kernel_size: `CharacterEncoder` options.
        casing_dim: the casing embedding width (0: no casing feature).
        embedding_dropout: dropout on the concatenated token features.
        word_dropout: the probability of replacing a word id by `<unk>` (id 1) in
            training, so the model learns to use characters for unknown words.
        cell, units, num_layers, bidirectional, dropout, recurrent_dropout: the
            `RecurrentStack` options.
        output_dropout: dropout before the emission layer.
        output: `"crf"` or `"softmax"`.
        constrain_transitions: forbid transitions that break the tag scheme
            (CRF output only).
        tag_scheme: `"bio"` or `"bioes"`, for those constraints.
        contextual_embedding: an optional `ContextualEmbedding` over a BiLM whose
            vocabulary is the tagger's word vocabulary (char-aware BiLMs read
            the same `chars`); its features join the token features (ELMo).
        contextual_at_output: also join them to the recurrent output, before
            the emission layer (ELMo's "input and output" placement).

    Examples:
    >>> import numpy as np
    >>> model = build_tagger(50, ["O", "B-PER", "I-PER"], char_vocabulary_size=20, casing_size=9, units=8)
    >>> inputs = {"words": np.array([[5, 6, 0]]), "chars": np.ones((1, 3, 4), "int32"), "casing": np.ones((1, 3), "int32")}
    >>> decode_tags(model, inputs).shape
    (1, 3)
    """
    # === Validation ===
    tag_names = list(tag_names)
    if output not in OUTPUTS:
        raise ValueError(f"`output` must be one of {OUTPUTS}. Received: output={output!r}")
    if not isinstance(word_vocabulary_size, int) or word_vocabulary_size < 5:
        raise ValueError(f"`word_vocabulary_size` must be an int >= 5. Received: {word_vocabulary_size!r}")
    if len(tag_names) < 1 or len(set(tag_names)) != len(tag_names):
        raise ValueError(f"`tag_names` must be a non-empty list of distinct tags. Received: {tag_names!r}")
    if char_encoder is not None and not char_vocabulary_size:
        raise ValueError("`char_vocabulary_size` is needed with a character encoder (or pass char_encoder=None).")
    if casing_dim and not casing_size:
        raise ValueError("`casing_size` is needed with a casing feature (or pass casing_dim=0).")
    if embedding_matrix is not None:
        embedding_matrix = np.asarray(embedding_matrix, dtype="float32")
        if embedding_matrix.shape != (word_vocabulary_size, word_embedding_dim):
            raise ValueError(
                "`embedding_matrix` must have shape (word_vocabulary_size, word_embedding_dim) = "
                f"{(word_vocabulary_size, word_embedding_dim)}. Received: shape={embedding_matrix.shape}"
            )

    # === Inputs and features ===
    words = keras.Input(shape=(None,), dtype="int32", name="words")
    inputs = {"words": words}
    word_ids = WordDropout(word_dropout, name="word_dropout")(words) if word_dropout else words
    embedding = Embedding(
        word_vocabulary_size, word_embedding_dim, mask_zero=True, trainable=trainable_embeddings, name="word_embedding"
    )
    features = [embedding(word_ids)]
    if char_encoder is not None:
        inputs["chars"] = keras.Input(shape=(None, None), dtype="int32", name="chars")
        encoder = CharacterEncoder(
            char_vocabulary_size, char_encoder, char_embedding_dim, char_hidden_dim, char_kernel_size, name="char_encoder"
        )
        features.append(encoder(inputs["chars"]))
    if casing_dim:
        inputs["casing"] = keras.Input(shape=(None,), dtype="int32", name="casing")
        features.append(keras.layers.Embedding(casing_size, casing_dim, name="casing_embedding")(inputs["casing"]))
    if contextual_embedding is not None:
        if contextual_embedding.bilm.input.keys() - {"token_ids", "chars"} or (
                "chars" in contextual_embedding.bilm.input and "chars" not in inputs):
            raise ValueError("The contextual embedding's BiLM must read word ids (and `chars` only with a character "
                             f"encoder). Received a BiLM with inputs {sorted(contextual_embedding.bilm.input)}")
        bilm_inputs = {"token_ids": words, "chars": inputs.get("chars")}
        contextual = contextual_embedding({key: bilm_inputs[key] for key in contextual_embedding.bilm.input})
        features.append(contextual)
    elif contextual_at_output:
        raise ValueError("`contextual_at_output=True` needs a `contextual_embedding`. Received: None")
    x = features[0] if len(features) == 1 else keras.layers.Concatenate(name="token_features")(features)
    if embedding_dropout:
        x = keras.layers.Dropout(embedding_dropout, name="embedding_dropout")(x)

    # === Body and output ===
    # The mask is passed explicitly: Keras' Concatenate ORs its inputs' masks, and
    # the character and casing features have none, so it would mask nothing.
    word_mask = ops.not_equal(words, 0)
    x = RecurrentStack(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        return_sequences=True,
        name="recurrent_stack",
    )(x, mask=word_mask)
    if contextual_at_output:
        x = keras.layers.Concatenate(name="recurrent_and_contextual")([x, contextual])
    if output_dropout:
        x = keras.layers.Dropout(output_dropout, name="output_dropout")(x)
    emissions = keras.layers.Dense(len(tag_names), name="emissions", dtype=output_dtype())(x)
    if output == "crf":
        constraints = {}
        if constrain_transitions:
            allowed, start, end = bio_constraints(tag_names, scheme=tag_scheme)
            constraints = dict(allowed_transitions=allowed, allowed_start=start, allowed_end=end)
        emissions = CRF(len(tag_names), name="crf", dtype=output_dtype(), **constraints)(emissions)
    model = keras.Model(inputs, emissions, name=name)
    if embedding_matrix is not None:
        embedding.embeddings.assign(embedding_matrix)
    return model


def compile_tagger(model, learning_rate=1e-3, clipnorm=5.0, jit_compile="auto", learning_rate_multipliers=None):
    """Compiles with `LazyAdam`, gradient clipping and the CRF or softmax loss.

    Padding tags are negative (e.g. -1) and are ignored by the loss.
    `learning_rate_multipliers` (variable path -> factor) trains some weights at
    a multiple of `learning_rate`, e.g. a fine-tuned BiLM's at 0.1.
    """
    crf = _crf_layer(model)
    if crf is not None:
        loss = crf.loss()
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    optimizer = LazyAdam(
        learning_rate=learning_rate, clipnorm=clipnorm or None, learning_rate_multipliers=learning_rate_multipliers
    )
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    return model


def decode_tags(model, inputs, batch_size=256):
    """Best tag ids `(batch, time)`, int32 numpy, 0 at padding: Viterbi with a CRF, argmax otherwise.

    Runs a compiled inference model (`tagging_model`) over batches of similar length.
    """
    words = np.asarray(inputs["words"])
    result = np.zeros(words.shape, "int32")
    if not len(words):
        return result
    from seqkit.data.bucketing import default_length_multiple, round_length

    decoder = tagging_model(model)
    lengths = (words > 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    multiple = default_length_multiple()
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        length = min(round_length(lengths[rows].max(), multiple), words.shape[1])
        batch = {key: np.asarray(inputs[key])[rows, :length] for key in model.input}
        result[rows, : batch["words"].shape[1]] = ops.convert_to_numpy(decoder.predict_on_batch(batch))
    return result


def tagging_model(model):
    """An inference model: the tagger's inputs -> best tag ids (Viterbi or argmax), 0 at padding.

    It shares the tagger's weights and is built once per tagger.
    """
    decoder = getattr(model, "_seqkit_tagging_model", None)
    if decoder is None:
        tags = TagDecoder(_crf_layer(model), name="tag_decoder")(model.output, model.input["words"])
        decoder = keras.Model(model.input, tags, name=f"{model.name}_decoder")
        model._seqkit_tagging_model = decoder
    return decoder


class TagDecoder(keras.layers.Layer):
    """Emissions and word ids -> best tag ids: the CRF's Viterbi path, or the argmax without a CRF.

    The mask is read from the word ids (0 is padding) rather than from Keras'
    mask propagation, which a compiled `predict` does not always carry this far.
    """

    def __init__(self, crf=None, **kwargs):
        super().__init__(**kwargs)
        self.crf = crf
        self.supports_masking = True

    def call(self, emissions, words):
        mask = words > 0
        if self.crf is not None:
            return self.crf.decode(emissions, mask)
        return ops.where(mask, ops.cast(ops.argmax(emissions, axis=-1), "int32"), 0)

    def compute_mask(self, emissions, words=None, mask=None):
        return None

    def compute_output_spec(self, emissions, words):
        return keras.KerasTensor(emissions.shape[:2], dtype="int32")


def _crf_layer(model):
    for layer in model.layers:
        if isinstance(layer, CRF):
            return layer
    return None


@keras.saving.register_keras_serializable(package="seqkit")
class WordDropout(keras.layers.Layer):
    """In training, replaces each non-padding id by `<unk>` (id 1) with probability `rate`.

    Examples:
    >>> import numpy as np
    >>> keras.ops.convert_to_numpy(WordDropout(0.5)(np.array([[5, 6, 0]]), training=False)).tolist()
    [[5, 6, 0]]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or not self.rate:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        return ops.where(ops.logical_and(drop, ids > 1), ops.ones_like(ids), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def predict_tag_names(model, inputs, lengths, tag_names, scheme="bio", batch_size=256):
    """Predicted BIO tag names per sentence (lists cut to `lengths`); BIOES models are converted to BIO."""
    from seqkit.data.tag_schemes import convert

    ids = decode_tags(model, inputs, batch_size=batch_size)
    names = [[tag_names[i] for i in row[:length]] for row, length in zip(ids, lengths)]
    if scheme == "bioes":
        names = [convert(row, "bioes", "bio") for row in names]
    return names
