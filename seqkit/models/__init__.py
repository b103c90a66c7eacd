"""Model builders, one per sequence-problem shape."""

from seqkit.models.classifier import HEADS, build_classifier, class_probabilities, compile_classifier
