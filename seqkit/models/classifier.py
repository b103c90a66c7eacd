"""Many-to-one: the text classifier builder (embedding -> recurrent stack -> pooling -> head)."""

import keras
import numpy as np

from seqkit.optimizers import LazyAdam
from seqkit.utils import output_dtype
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
    hidden_dim=0,
    head_dropout=0.5,
    contextual_embedding=None,
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
            `nbsvm_weights()` gives NBSVM's fitted weights in the same layout;
            `stack_ngram_logit` combines them with a trained network instead.
        naive_bayes_scale: the factor applied to `naive_bayes_weights` at the start.
        hidden_dim: an optional ReLU layer before the output (0: none).
        head_dropout: dropout before the output layer.
        contextual_embedding: an optional `ContextualEmbedding` over a BiLM with
            the same vocabulary; its features are concatenated with the token
            embedding (ELMo).

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
    if contextual_embedding is not None:
        x = keras.layers.Concatenate(name="token_and_contextual")([x, contextual_embedding(token_ids)])
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
    if head == "regression":
        outputs = keras.layers.Dense(1, name="value", dtype=output_dtype())(features)
    else:
        # Logits and activation are separate layers, so that `stack_ngram_logit` can reach the logits.
        logits = keras.layers.Dense(outputs_per_text, name="logits")(features)
        if naive_bayes_weights is not None:
            prior = NgramEmbedding(
                vocabulary_size, outputs_per_text, orders=ngram_orders, num_buckets=ngram_buckets, combiner="sum",
                name="naive_bayes_logits",
            )
            logits = keras.layers.Add(name="logits_with_prior")([logits, prior(token_ids)])
        outputs = _output_activation(head)(logits)
    model = keras.Model(token_ids, outputs, name=name)

    # Initial values are assigned, not passed as initializers: a Constant initializer
    # would copy the whole matrix into the model's config.
    if embedding_matrix is not None:
        embedding.embeddings.assign(embedding_matrix)
    if naive_bayes_weights is not None:
        prior.embedding.embeddings.assign(naive_bayes_weights * naive_bayes_scale)
    return model


def stack_ngram_logit(
    model,
    ngram_weights,
    dataset,
    orders=(1, 2),
    num_buckets=200_000,
    C=1.0,
    char_ngram_weights=None,
    char_orders=(1, 2, 3, 4, 5, 6),
    char_num_buckets=2_000_000,
):
    """Stacks a trained classifier with a linear n-gram model, e.g. NBSVM, fit on held-out data.

    The returned model reads the same token ids and computes the classifier's
    logits beside the n-gram logits (the sum of `ngram_weights` over the
    distinct n-grams of a text, in `NgramEmbedding`'s hashing), then maps both
    through a `"stacking"` Dense layer whose weights are a logistic regression
    (scikit-learn) fit on `dataset`. Nothing in it trains: the network's layers
    are shared with `model`, not copied, and this call freezes them (set
    `model.trainable = True` to train `model` again). Use held-out data
    that neither part was fit on, such as the dev split: a linear model scores
    its own training data too well to be weighed there, and that is also why
    joint training (`build_classifier(naive_bayes_weights=...)`) cannot use
    NBSVM's fitted weights as well as stacking does.

    With `char_ngram_weights`, a third logit sums weights over the distinct
    character n-grams of the text (spaces included), from a second input: the
    stacked model then takes `{"token_ids": ..., "char_ids": ...}`, the char ids
    being a character `TextPreprocessor`'s output. Character n-grams see inside
    words (stems, endings, spelling variants, words unseen in training), which a
    word model cannot; on MR they add more than a point to word NBSVM.

    Args:
        model: a trained binary or multiclass classifier from `build_classifier`.
        ngram_weights: `(vocabulary_size + num_buckets, outputs)` weights, e.g.
            from `nbsvm_weights(..., orders, num_buckets)` on the training data.
        dataset: an iterable of `(inputs, int labels)` batches (a `tf.data`
            dataset from `make_dataset`, or a list of array pairs); the inputs are
            token ids, or the dict above with `char_ngram_weights`.
        orders, num_buckets: the n-gram settings `ngram_weights` was built with.
        C: the regression's inverse regularization strength.
        char_ngram_weights: optional `(char_vocabulary_size + char_num_buckets,
            outputs)` weights, e.g. `nbsvm_weights` on character ids.
        char_orders, char_num_buckets: the n-gram settings of those weights.

    Returns:
        `(stacked_model, report)`: the report has `"dev_accuracy"` of each logit
        alone and of the stack (each a regression fit and scored on `dataset`)
        and, for a binary head, the regression's `"weights"`.

    Examples:
    >>> import numpy as np
    >>> model = build_classifier(10, units=4, embedding_dim=4)
    >>> weights = np.zeros((12, 1), "float32"); weights[5], weights[6] = 2.0, -2.0
    >>> stacked, report = stack_ngram_logit(model, weights, [(np.array([[5], [6], [5], [6]]), np.array([1, 0, 1, 0]))],
    ...                                     num_buckets=2)
    >>> report["dev_accuracy"]["n-gram logit"], stacked.predict(np.array([[5], [6]]), verbose=0).round().ravel().tolist()
    (1.0, [1.0, 0.0])
    """
    from sklearn.linear_model import LogisticRegression

    names = {layer.name for layer in model.layers}
    name = "logits_with_prior" if "logits_with_prior" in names else "logits"  # With a joint n-gram prior or not.
    final = model.layers[-1]
    if name not in names or getattr(final, "activation", None) not in (keras.activations.sigmoid, keras.activations.softmax):
        raise ValueError(
            "`stack_ngram_logit` needs a binary or multiclass classifier from `build_classifier` (a 'logits' "
            f"layer, then a sigmoid or softmax). Received model {model.name!r}."
        )
    logits = model.get_layer(name).output
    outputs = int(logits.shape[-1])
    if outputs > 1 and final.activation is keras.activations.sigmoid:
        raise ValueError("`stack_ngram_logit` does not support multilabel heads (one sigmoid per class).")
    vocabulary_size = model.get_layer("token_embedding").input_dim
    ngram_weights = _checked_weights(ngram_weights, "ngram_weights", vocabulary_size + num_buckets, outputs)
    if char_ngram_weights is not None:
        char_ngram_weights = np.asarray(char_ngram_weights, dtype="float32")
        if char_ngram_weights.ndim != 2 or char_ngram_weights.shape[0] <= char_num_buckets:
            raise ValueError(
                "`char_ngram_weights` must have shape (char_vocabulary_size + char_num_buckets, outputs), with "
                f"char_num_buckets={char_num_buckets}. Received: shape={char_ngram_weights.shape}"
            )
        char_ngram_weights = _checked_weights(
            char_ngram_weights, "char_ngram_weights", char_ngram_weights.shape[0], outputs
        )

    # === The stacked model ===
    network = keras.Model(model.input, logits, name=f"{model.name}_logits")
    network.trainable = False

    def ngram_logit(size, ngram_orders, buckets, layer_name):  # Binary: NBSVM's features count an n-gram once.
        return NgramEmbedding(
            size, outputs, orders=ngram_orders, num_buckets=buckets, combiner="sum", binary=True, trainable=False,
            name=layer_name,
        )

    ngrams = ngram_logit(vocabulary_size, orders, num_buckets, "ngram_logits")
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    parts = {"network": network(token_ids), "n-gram logit": ngrams(token_ids)}
    inputs = token_ids
    if char_ngram_weights is not None:
        char_ngrams = ngram_logit(
            char_ngram_weights.shape[0] - char_num_buckets, char_orders, char_num_buckets, "char_ngram_logits"
        )
        char_ids = keras.Input(shape=(None,), dtype="int32", name="char_ids")
        parts["char n-gram logit"] = char_ngrams(char_ids)
        inputs = {"token_ids": token_ids, "char_ids": char_ids}
    features = keras.layers.Concatenate(name="stacking_features")(list(parts.values()))
    stacking = keras.layers.Dense(outputs, trainable=False, name="stacking")
    probabilities = _output_activation("binary" if outputs == 1 else "multiclass")(stacking(features))
    stacked = keras.Model(inputs, probabilities, name=f"{model.name}_stacked")
    ngrams.embedding.embeddings.assign(ngram_weights)
    if char_ngram_weights is not None:
        char_ngrams.embedding.embeddings.assign(char_ngram_weights)

    # === The regression on held-out data ===
    features_model = keras.Model(inputs, features)
    rows, labels = [], []
    for batch_inputs, targets in dataset:
        if char_ngram_weights is not None and not (isinstance(batch_inputs, dict) and "char_ids" in batch_inputs):
            raise ValueError(
                "With `char_ngram_weights`, `dataset` must yield ({'token_ids': ..., 'char_ids': ...}, labels). "
                f"Received inputs of type {type(batch_inputs).__name__}."
            )
        # `predict_on_batch` runs compiled; an eager call steps recurrent layers in Python (minutes on IMDB).
        rows.append(np.asarray(features_model.predict_on_batch(batch_inputs)))
        labels.append(np.asarray(targets).reshape(-1))
    if not rows:
        raise ValueError("`stack_ngram_logit` received an empty dataset.")
    rows, labels = np.concatenate(rows).astype("float64"), np.concatenate(labels).astype("int64")
    classes = np.unique(labels)
    if len(classes) != max(outputs, 2):
        raise ValueError(
            f"`stack_ngram_logit` needs every one of the model's {max(outputs, 2)} classes in the held-out data. "
            f"Received labels: {classes.tolist()}"
        )

    def fit(columns):
        return LogisticRegression(C=C, max_iter=1000).fit(rows[:, columns], labels)

    columns = {part: list(range(index * outputs, (index + 1) * outputs)) for index, part in enumerate(parts)}
    every = list(range(len(parts) * outputs))
    accuracy = {part: float(fit(own).score(rows[:, own], labels)) for part, own in columns.items()}
    accuracy["stacked"] = float(fit(every).score(rows, labels))
    regression = fit(every)
    stacking.kernel.assign(regression.coef_.T.astype("float32"))  # (parts * outputs, outputs)
    stacking.bias.assign(regression.intercept_.astype("float32"))
    report = {"dev_accuracy": accuracy}
    if outputs == 1:
        report["weights"] = {part: float(regression.coef_[0, index]) for index, part in enumerate(parts)}
    return stacked, report


def _checked_weights(weights, argument, rows, outputs):
    weights = np.asarray(weights, dtype="float32")
    if weights.shape != (rows, outputs):
        raise ValueError(
            f"`{argument}` must have shape (vocabulary_size + num_buckets, outputs) = {(rows, outputs)}. "
            f"Received: shape={weights.shape}"
        )
    return weights


def _output_activation(head):
    if head == "binary":
        return keras.layers.Activation("sigmoid", name="probability", dtype=output_dtype())
    if head == "multiclass":
        return keras.layers.Activation("softmax", name="probabilities", dtype=output_dtype())
    return keras.layers.Activation("sigmoid", name="probabilities", dtype=output_dtype())  # Multilabel.


def compile_classifier(
    model, head="binary", learning_rate=1e-3, clipnorm=1.0, jit_compile="auto", learning_rate_multipliers=None
):
    """Compiles with Adam, gradient clipping, and the head's loss and metrics.

    The optimizer is `LazyAdam`: Adam that updates only the embedding rows a
    batch uses (identical to Keras' Adam for every other weight). `clipnorm`
    clips each weight's gradient to that norm (Keras' `clipnorm`); 0 or None
    turns clipping off. `learning_rate_multipliers` (variable path -> factor)
    trains some weights at a multiple of `learning_rate`, e.g. the layers a
    pretrained LM started at 0.25.
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
    optimizer = LazyAdam(
        learning_rate=learning_rate, clipnorm=clipnorm or None, learning_rate_multipliers=learning_rate_multipliers
    )
    model.compile(optimizer=optimizer, loss=losses[head], metrics=metrics[head], jit_compile=jit_compile)
    return model


def class_probabilities(outputs, head="binary"):
    """Model outputs to per-class probabilities (binary: `[P(class 0), P(class 1)]`)."""
    outputs = np.asarray(outputs)
    if head == "binary":
        positive = outputs.reshape(-1)
        return np.stack([1.0 - positive, positive], axis=-1)
    return outputs
