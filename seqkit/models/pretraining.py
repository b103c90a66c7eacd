"""Starting a classifier from a pretrained language model (Dai & Le 2015, "Semi-supervised sequence learning")."""

import numpy as np


def _stack_layers(stack):
    """The Keras recurrent layers of a `RecurrentStack`, bottom first."""
    return list(stack.recurrent_layers)


def initialize_from_language_model(classifier, language_model):
    """Copies a pretrained LM's token embedding and recurrent weights into a `build_classifier` model, in place.

    Dai & Le pretrain an LSTM LM on the task's own text and fine-tune it as the
    classifier; the output layer and pooling start fresh. Two pairings work:

    - a unidirectional LM (`build_language_model`) into a unidirectional
      classifier with the same cell, units and depth;
    - a BiLM (`build_bidirectional_language_model`) into a bidirectional
      classifier with the same cell and units: its forward LM starts the
      forward direction, its backward LM the backward one. A bidirectional
      classifier's upper layers read both directions, unlike a BiLM's, so only
      one-layer classifiers take it; a unidirectional one takes the forward LM.

    The vocabularies must be the same (same ids) and so must the embedding width.

    Returns:
        The names of the classifier's layers that were initialized.

    Examples:
    >>> from seqkit.models.bilm import build_bidirectional_language_model
    >>> from seqkit.models.classifier import build_classifier
    >>> bilm = build_bidirectional_language_model(30, embedding_dim=8, units=8, num_layers=1)
    >>> classifier = build_classifier(30, embedding_dim=8, units=8)
    >>> initialize_from_language_model(classifier, bilm)
    ['token_embedding', 'recurrent_stack']
    """
    names = {layer.name for layer in language_model.layers}
    embedding = classifier.get_layer("token_embedding")
    source_embedding = language_model.get_layer("token_embedding")
    if tuple(embedding.embeddings.shape) != tuple(source_embedding.embeddings.shape):
        raise ValueError(
            "The classifier's token embedding must match the language model's (same vocabulary and width). "
            f"Received: classifier {tuple(embedding.embeddings.shape)}, language model "
            f"{tuple(source_embedding.embeddings.shape)}"
        )
    stack = classifier.get_layer("recurrent_stack")
    if "forward_1" in names:  # A BiLM: one single-layer stack per direction and depth.
        depth = sum(1 for name in names if name.startswith("forward_"))
        forward = [_stack_layers(language_model.get_layer(f"forward_{k}"))[0] for k in range(1, depth + 1)]
        backward = [_stack_layers(language_model.get_layer(f"backward_{k}"))[0] for k in range(1, depth + 1)]
        source_cell = language_model.get_layer("forward_1").cell
    elif "recurrent_stack" in names:
        forward, backward = _stack_layers(language_model.get_layer("recurrent_stack")), None
        source_cell = language_model.get_layer("recurrent_stack").cell
        depth = len(forward)
    else:
        raise ValueError(
            "Expected a model from `build_language_model` or `build_bidirectional_language_model`. "
            f"Received: layers {sorted(names)}"
        )
    if stack.cell != source_cell:
        raise ValueError(f"The classifier's cell must match the language model's. Received: {stack.cell!r} and {source_cell!r}")
    targets = _stack_layers(stack)
    if stack.bidirectional:
        if backward is None:
            raise ValueError("A bidirectional classifier needs a bidirectional LM (`build_bidirectional_language_model`); "
                             "a unidirectional LM starts a classifier with bidirectional=False.")
        if len(targets) != 1:
            raise ValueError(
                "A bidirectional classifier's layers above the first read both directions, which a BiLM's do not: "
                f"only a one-layer bidirectional classifier can start from a BiLM. Received: num_layers={len(targets)}"
            )
        pairs = [(targets[0].forward_layer, forward[0]), (targets[0].backward_layer, backward[0])]
    else:
        if len(targets) != depth:
            raise ValueError(f"The classifier needs the language model's depth. Received: {len(targets)} and {depth} layers")
        pairs = list(zip(targets, forward))
    for target, source in pairs:
        shapes = [tuple(w.shape) for w in target.weights], [tuple(w.shape) for w in source.weights]
        if shapes[0] != shapes[1]:
            raise ValueError(f"Recurrent layer shapes differ (units or input width): classifier {shapes[0]}, "
                             f"language model {shapes[1]}")
    embedding.embeddings.assign(np.asarray(source_embedding.embeddings))
    for target, source in pairs:
        target.set_weights(source.get_weights())
    return ["token_embedding", "recurrent_stack"]
