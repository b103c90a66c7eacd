"""Entity-level scores and token accuracy: hand-made examples and a conlleval-style reference."""

import collections

import numpy as np
import pytest

from seqkit.data.tag_schemes import spans
from seqkit.metrics import entity_scores, token_accuracy

# Five sentences whose scores are worked out by hand below.
TRUE = [
    ["B-PER", "I-PER", "O", "B-LOC"],
    ["O", "I-ORG", "I-ORG", "O"],  # A stray I- opens an entity, as in conlleval.
    ["B-ORG", "I-ORG", "I-ORG", "O"],
    ["B-PER", "O", "B-MISC"],
    ["O", "O", "O"],
]
PREDICTED = [
    ["B-PER", "I-PER", "O", "B-LOC"],  # Both right.
    ["O", "B-ORG", "I-ORG", "O"],  # Same span as the stray-I gold entity: right.
    ["B-ORG", "I-ORG", "O", "O"],  # A partial span: a miss and a false positive.
    ["B-LOC", "O", "I-MISC"],  # Wrong type: PER missed, LOC false; the stray I-MISC matches B-MISC.
    ["B-PER", "I-PER", "O"],  # A false positive.
]
# Gold: PER 2, LOC 1, ORG 2, MISC 1 (6). Predicted: PER 2, LOC 2, ORG 2, MISC 1 (7). Right: one of each (4).


def test_hand_made_scores_per_type_and_micro():
    scores = entity_scores(TRUE, PREDICTED)
    expected = {
        "PER": (1 / 2, 1 / 2, 1 / 2, 2),
        "LOC": (1 / 2, 1.0, 2 / 3, 1),
        "ORG": (1 / 2, 1 / 2, 1 / 2, 2),
        "MISC": (1.0, 1.0, 1.0, 1),
    }
    assert set(scores["per_type"]) == set(expected)
    for name, (precision, recall, f1, support) in expected.items():
        values = scores["per_type"][name]
        assert values["precision"] == pytest.approx(precision), name
        assert values["recall"] == pytest.approx(recall), name
        assert values["f1"] == pytest.approx(f1), name
        assert values["support"] == support, name
    assert scores["precision"] == pytest.approx(4 / 7)
    assert scores["recall"] == pytest.approx(4 / 6)
    assert scores["f1"] == pytest.approx(8 / 13)
    assert scores["support"] == 6
    # 18 tokens; wrong: S2 pos 1, S3 pos 2, S4 pos 0 and 2, S5 pos 0 and 1.
    assert scores["token_accuracy"] == pytest.approx(12 / 18)
    assert all(isinstance(scores[key], float) for key in ("precision", "recall", "f1", "token_accuracy"))


def test_docstring_example():
    scores = entity_scores([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    assert round(scores["f1"], 3) == 0.667
    assert scores["per_type"]["LOC"]["recall"] == 0.0
    assert scores["per_type"]["PER"]["f1"] == 1.0


@pytest.mark.parametrize(
    "truth, prediction, f1",
    [
        (["I-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"], 1.0),  # Stray I- at the start.
        (["B-PER", "I-LOC"], ["B-PER", "B-LOC"], 1.0),  # I- of another type opens a new entity.
        (["B-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "O"], 0.0),  # Partial span.
        (["B-PER", "I-PER"], ["B-PER", "B-PER"], 0.0),  # Split span.
        (["B-PER", "I-PER"], ["B-ORG", "I-ORG"], 0.0),  # Wrong type.
        (["B-PER", "B-PER"], ["B-PER", "I-PER"], 0.0),  # Merged span.
        (["B-PER", "O", "B-ORG"], ["B-PER", "O", "O"], 2 / 3),  # Precision 1, recall 1/2.
    ],
)
def test_conlleval_counting_rules(truth, prediction, f1):
    assert entity_scores([truth], [prediction])["f1"] == pytest.approx(f1)


def test_a_type_only_predicted_has_zero_support():
    scores = entity_scores([["B-PER", "O"]], [["B-PER", "B-ORG"]])
    assert scores["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["recall"] == 1.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # seqeval averages over no types.
def test_no_entities_at_all_gives_zeros():
    scores = entity_scores([["O", "O"], ["O"]], [["O", "O"], ["O"]])
    assert (scores["precision"], scores["recall"], scores["f1"], scores["support"]) == (0.0, 0.0, 0.0, 0)
    assert scores["per_type"] == {}
    assert scores["token_accuracy"] == 1.0


def test_entity_scores_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"Sentence 1: expected 3 predicted tags.*Received: 2"):
        entity_scores([["O"], ["O", "B-PER", "I-PER"]], [["O"], ["O", "B-PER"]])
    with pytest.raises(ValueError, match="as many predicted sentences"):
        entity_scores([["O"], ["O"]], [["O"]])


def test_token_accuracy_counts_every_token():
    # "O" tokens count like any other: nothing is ignored.
    assert token_accuracy([["O", "B-PER"]], [["O", "O"]]) == 0.5
    assert token_accuracy([["O", "O", "O"], ["B-LOC"]], [["O", "O", "O"], ["O"]]) == 0.75
    assert token_accuracy([["O"], []], [["B-PER"], []]) == 0.0
    assert token_accuracy([], []) == 0.0
    # Sentences of different lengths are not padded: 4 of 6 tokens.
    assert token_accuracy([["B-PER", "I-PER", "O", "O", "O"], ["B-LOC"]], [["B-PER", "O", "O", "B-LOC", "O"], ["B-LOC"]]) == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    "truth, prediction",
    [
        ([["O", "B-PER"]], [["O"]]),  # Broadcast: returns 0.5.
        ([["O"], ["O"]], [["O"]]),  # Truncated by zip: returns 0.5.
        ([["O", "B-PER", "O"]], [["O", "O"]]),  # numpy's "could not be broadcast", naming no sentence.
    ],
)
def test_token_accuracy_rejects_mismatched_lengths(truth, prediction):
    with pytest.raises(ValueError, match=r"[Ss]entence 0|predicted sentences"):
        token_accuracy(truth, prediction)


def reference_scores(true_tags, predicted_tags):
    """A conlleval-style counter: exact (type, start, end) matches of `spans`."""
    correct, gold, guessed = collections.Counter(), collections.Counter(), collections.Counter()
    for truth, prediction in zip(true_tags, predicted_tags):
        true_spans, predicted_spans = set(spans(truth)), set(spans(prediction))
        for type_, _, _ in true_spans:
            gold[type_] += 1
        for type_, _, _ in predicted_spans:
            guessed[type_] += 1
        for type_, _, _ in true_spans & predicted_spans:
            correct[type_] += 1

    def prf(right, predicted, actual):
        precision = right / predicted if predicted else 0.0
        recall = right / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    per_type = {name: prf(correct[name], guessed[name], gold[name]) for name in gold | guessed}
    return prf(sum(correct.values()), sum(guessed.values()), sum(gold.values())), per_type


def random_tags(rng, length):
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    return [tags[i] for i in rng.integers(0, len(tags), length)]


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_conlleval_style_counter_on_random_sequences(seed):
    rng = np.random.default_rng(seed)
    true_tags, predicted_tags = [], []
    for _ in range(40):
        length = int(rng.integers(1, 15))
        truth = random_tags(rng, length)
        # Mostly right, so that there are matches to count.
        prediction = [tag if rng.random() < 0.7 else other for tag, other in zip(truth, random_tags(rng, length))]
        true_tags.append(truth)
        predicted_tags.append(prediction)
    (precision, recall, f1), per_type = reference_scores(true_tags, predicted_tags)
    assert 0 < f1 < 1  # The example is neither trivial nor hopeless.
    scores = entity_scores(true_tags, predicted_tags)
    assert scores["precision"] == pytest.approx(precision)
    assert scores["recall"] == pytest.approx(recall)
    assert scores["f1"] == pytest.approx(f1)
    assert set(scores["per_type"]) == set(per_type)
    for name, values in per_type.items():
        assert (scores["per_type"][name]["precision"], scores["per_type"][name]["recall"], scores["per_type"][name]["f1"]) == pytest.approx(values)
