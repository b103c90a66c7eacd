"""Evaluation metrics: entity-level precision/recall/F1 (seqeval, conlleval-compatible) and token accuracy."""

import numpy as np


def entity_scores(true_tags, predicted_tags):
    """Entity-level scores of BIO tag sequences, per type and micro-averaged.

    Uses `seqeval` in its default mode, which counts entities the way the CoNLL
    `conlleval` script does (an `I-X` that starts a chunk opens an entity), plus
    token accuracy.

    Returns:
        `{"precision", "recall", "f1", "token_accuracy", "support", "per_type":
        {type: {"precision", "recall", "f1", "support"}}}`, floats in [0, 1].

    Examples:
    >>> scores = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    >>> round(scores["f1"], 3), scores["per_type"]["LOC"]["recall"]
    (0.667, 0.0)
    """
    from seqeval.metrics import classification_report

    true_tags, predicted_tags = [list(row) for row in true_tags], [list(row) for row in predicted_tags]
    _check_lengths(true_tags, predicted_tags)
    report = classification_report(true_tags, predicted_tags, output_dict=True, zero_division=0)
    per_type = {
        name: {key: float(values[key]) for key in ("precision", "recall", "f1-score", "support")}
        for name, values in report.items()
        if not name.endswith(" avg")
    }
    for values in per_type.values():
        values["f1"] = values.pop("f1-score")
        values["support"] = int(values["support"])
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    return {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "support": int(micro["support"]),
        "token_accuracy": token_accuracy(true_tags, predicted_tags),
        "per_type": per_type,
    }


def token_accuracy(true_tags, predicted_tags):
    """The fraction of tokens tagged right, padding excluded (sequences keep their own lengths).

    Examples:
    >>> token_accuracy([["O", "B-PER"]], [["O", "O"]])
    0.5
    """
    _check_lengths(true_tags, predicted_tags)
    total = sum(len(row) for row in true_tags)
    if not total:
        return 0.0
    right = sum(np.sum(np.asarray(t, dtype=object) == np.asarray(p, dtype=object)) for t, p in zip(true_tags, predicted_tags))
    return float(right) / total


def _check_lengths(true_tags, predicted_tags):
    if len(true_tags) != len(predicted_tags):
        raise ValueError(
            f"Expected as many predicted sentences as true ones. Received: {len(predicted_tags)} and {len(true_tags)}"
        )
    for index, (truth, prediction) in enumerate(zip(true_tags, predicted_tags)):
        if len(truth) != len(prediction):
            raise ValueError(
                f"Sentence {index}: expected {len(truth)} predicted tags, one per token. Received: {len(prediction)}"
            )
