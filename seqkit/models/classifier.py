"""Many-to-one: the text classifier builder (embedding -> recurrent stack -> pooling -> head)."""

import keras
import numpy as np

from seqkit.optimizers import LazyAdam
from seqkit.layers import POOLINGS, AttentionPooling, Embedding, MaskedPooling, NgramEmbedding, RecurrentStack

HEADS = ("binary", "multiclass", "multilabel", "regression")


def build_classifier(
    vocabulary_size,
    num_classes=2,
    head="binary",
    embedding_dim=128,
    embedding_matrix=None,
    trainable_embeddings=True,
    embedding_dropout=0.0,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=True,
    merge_mode="concat",
    dropout=0.0,
    recurrent_dropout=0.0,
    kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal",
    activation="tanh",
    pooling="max",
    attention_dim=64,
    ngram_dim=0,
    ngram_orders=(1, 2),
    ngram_buckets=200_000,
    naive_bayes_weights=None,
    naive_bayes_scale=0.3,
    naive_bayes_trainable=True,
    hidden_dim=0,
    head_dropout=0.5,
    name="classifier",
):
    """Builds a functional Keras classifier over token ids (id 0 is padding and is masked).

    Args:
        vocabulary_size: the number of token ids (`len(vocabulary)`).
        num_classes: classes for `"multiclass"`/`"multilabel"` (ignored by
            `"binary"` and `"regression"`, which have one output).
        head: `"binary"` (one sigmoid), `"multiclass"` (softmax), `"multilabel"`
            (one sigmoid per class) or `"regression"` (one linear output).
        embedding_dim: the token embedding width.
        embedding_matrix: optional `(vocabulary_size, embedding_dim)` initial
            embeddings, e.g. from pretrained vectors.
        trainable_embeddings: fine-tune the embeddings.
        embedding_dropout: the probability of dropping a whole word vector.
        cell, units, num_layers, bidirectional, merge_mode, dropout,
        recurrent_dropout, kernel_initializer, recurrent_initializer, activation:
            the `RecurrentStack` options.
        pooling: `"last"`, `"max"`, `"mean"` or `"attention"`, or several joined by
            "+" (e.g. `"max+mean"`), concatenated.
        attention_dim: the scoring MLP width of attention pooling.
        ngram_dim: if > 0, a bag of hashed n-grams (`NgramEmbedding`) of this
            width is concatenated with the pooled recurrent features: a
            wide-and-deep classifier. Off by default.
        ngram_orders: the n-gram orders of that bag, e.g. `(1, 2)`.
        ngram_buckets: hash buckets for n-grams of order >= 2.
        naive_bayes_weights: optional `(vocabulary_size + ngram_buckets, 1 or
            num_classes)` log-count ratios from `naive_bayes_weights()`. They
            start a linear n-gram logit (a sum over the text's n-grams, same
            `ngram_orders` and `ngram_buckets`) that is added to the network's
            logits and trained with it: NBSVM's prior, with the recurrent
            network learning the rest. Binary and multiclass heads only.
        naive_bayes_scale: the factor applied to `naive_bayes_weights` at the start.
        naive_bayes_trainable: train the n-gram logit table with the network.
            `False` freezes the table and learns only a linear map of its output
            (started at the identity): Multinomial Naive Bayes logits with a
            learned temperature, which cannot overfit rare n-grams.
        hidden_dim: an optional ReLU layer before the output (0: none).
        head_dropout: dropout before the output layer.

    Examples:
    >>> import numpy as np
    >>> model = build_classifier(vocabulary_size=100, units=8, embedding_dim=8)
    >>> model.predict(np.array([[5, 6, 0]]), verbose=0).shape
    (1, 1)
    """
    # === Validation ===
    if head not in HEADS:
        raise ValueError(f"`head` must be one of {HEADS}. Received: head={head!r}")
    if not isinstance(vocabulary_size, int) or vocabulary_size < 5:
        raise ValueError(f"`vocabulary_size` must be an int >= 5. Received: vocabulary_size={vocabulary_size!r}")
    poolings = pooling.split("+") if isinstance(pooling, str) else list(pooling)
    for mode in poolings:
        if mode not in POOLINGS:
            raise ValueError(f"`pooling` must be made of {POOLINGS} joined by '+'. Received: pooling={pooling!r}")
    outputs_per_text = num_classes if head in ("multiclass", "multilabel") else 1
    if naive_bayes_weights is not None:
        if head not in ("binary", "multiclass"):
            raise ValueError(f"`naive_bayes_weights` needs a binary or multiclass head. Received: head={head!r}")
        naive_bayes_weights = np.asarray(naive_bayes_weights, dtype="float32")
        expected = (vocabulary_size + ngram_buckets, outputs_per_text)
        if naive_bayes_weights.shape != expected:
            raise ValueError(
                f"`naive_bayes_weights` must have shape (vocabulary_size + ngram_buckets, outputs) = {expected}. "
                f"Received: shape={naive_bayes_weights.shape}"
            )
    if head in ("multiclass", "multilabel") and (not isinstance(num_classes, int) or num_classes < 2):
        raise ValueError(f"A {head} head needs `num_classes` >= 2. Received: num_classes={num_classes!r}")
    if embedding_matrix is not None:
        embedding_matrix = np.asarray(embedding_matrix, dtype="float32")
        if embedding_matrix.shape != (vocabulary_size, embedding_dim):
            raise ValueError(
                f"`embedding_matrix` must have shape (vocabulary_size, embedding_dim) = "
                f"{(vocabulary_size, embedding_dim)}. Received: shape={embedding_matrix.shape}"
            )

    # === Layers ===
    embedding = Embedding(
        vocabulary_size,
        embedding_dim,
        mask_zero=True,
        trainable=trainable_embeddings,
        name="token_embedding",
    )
    stack_options = dict(
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        kernel_initializer=kernel_initializer,
        recurrent_initializer=recurrent_initializer,
        activation=activation,
    )
    if "last" in poolings and len(poolings) > 1:
        raise ValueError(
            "`pooling='last'` cannot be combined with other poolings (it needs the stack's final "
            f"state only). Received: pooling={pooling!r}"
        )
    use_last = poolings == ["last"]
    stack = RecurrentStack(return_sequences=not use_last, name="recurrent_stack", **stack_options)
    pooling_layers = [
        AttentionPooling(attention_dim, name="attention_pooling") if mode == "attention"
        else MaskedPooling(mode, name=f"{mode}_pooling")
        for mode in poolings
        if mode != "last"
    ]

    # === Functional Model ===
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = embedding(token_ids)
    if embedding_dropout:
        x = keras.layers.Dropout(embedding_dropout, noise_shape=(None, None, 1), name="embedding_dropout")(x)
    features = stack(x)
    if pooling_layers:
        pooled = [layer(features) for layer in pooling_layers]
        features = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="pooled")(pooled)
    if ngram_dim:
        bag = NgramEmbedding(vocabulary_size, ngram_dim, orders=ngram_orders, num_buckets=ngram_buckets, name="ngram_embedding")
        features = keras.layers.Concatenate(name="deep_and_wide")([features, bag(token_ids)])
    if hidden_dim:
        features = keras.layers.Dropout(head_dropout, name="hidden_dropout")(features)
        features = keras.layers.Dense(hidden_dim, activation="relu", name="hidden")(features)
    if head_dropout:
        features = keras.layers.Dropout(head_dropout, name="head_dropout")(features)
    if naive_bayes_weights is None:
        outputs = _output_layer(head, num_classes)(features)
    else:
        logits = keras.layers.Dense(outputs_per_text, name="logits")(features)
        prior = NgramEmbedding(
            vocabulary_size, outputs_per_text, orders=ngram_orders, num_buckets=ngram_buckets, combiner="sum",
            trainable=naive_bayes_trainable, name="naive_bayes_logits",
        )
        prior_logits = prior(token_ids)
        if not naive_bayes_trainable:
            prior_logits = keras.layers.Dense(
                outputs_per_text, use_bias=False, kernel_initializer="identity", name="naive_bayes_temperature"
            )(prior_logits)
        logits = keras.layers.Add(name="logits_with_prior")([logits, prior_logits])
        activation = "sigmoid" if head == "binary" else "softmax"
        outputs = keras.layers.Activation(activation, name="probability" if head == "binary" else "probabilities")(logits)
    model = keras.Model(token_ids, outputs, name=name)

    # Initial values are assigned, not passed as initializers: a Constant initializer
    # would copy the whole matrix into the model's config.
    if embedding_matrix is not None:
        embedding.embeddings.assign(embedding_matrix)
    if naive_bayes_weights is not None:
        prior.embedding.embeddings.assign(naive_bayes_weights * naive_bayes_scale)
    return model


def _output_layer(head, num_classes):
    if head == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name="probability")
    if head == "multiclass":
        return keras.layers.Dense(num_classes, activation="softmax", name="probabilities")
    if head == "multilabel":
        return keras.layers.Dense(num_classes, activation="sigmoid", name="probabilities")
    return keras.layers.Dense(1, name="value")


def compile_classifier(model, head="binary", learning_rate=1e-3, clipnorm=1.0, jit_compile="auto"):
    """Compiles with Adam, gradient clipping, and the head's loss and metrics.

    The optimizer is `LazyAdam`: Adam that updates only the embedding rows a
    batch uses (identical to Keras' Adam for every other weight). `clipnorm`
    clips each weight's gradient to that norm (Keras' `clipnorm`); 0 or None
    turns clipping off.
    """
    if head not in HEADS:
        raise ValueError(f"`head` must be one of {HEADS}. Received: head={head!r}")
    losses = {
        "binary": keras.losses.BinaryCrossentropy(),
        "multiclass": keras.losses.SparseCategoricalCrossentropy(),
        "multilabel": keras.losses.BinaryCrossentropy(),
        "regression": keras.losses.MeanSquaredError(),
    }
    metrics = {
        "binary": [keras.metrics.BinaryAccuracy(name="accuracy")],
        "multiclass": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        "multilabel": [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc", multi_label=True)],
        "regression": [keras.metrics.MeanAbsoluteError(name="mae")],
    }
    optimizer = LazyAdam(learning_rate=learning_rate, clipnorm=clipnorm or None)
    model.compile(optimizer=optimizer, loss=losses[head], metrics=metrics[head], jit_compile=jit_compile)
    return model


def class_probabilities(outputs, head="binary"):
    """Model outputs to per-class probabilities (binary: `[P(class 0), P(class 1)]`)."""
    outputs = np.asarray(outputs)
    if head == "binary":
        positive = outputs.reshape(-1)
        return np.stack([1.0 - positive, positive], axis=-1)
    return outputs
