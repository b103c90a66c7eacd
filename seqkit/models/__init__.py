"""Model builders, one per sequence-problem shape."""

from seqkit.models.classifier import HEADS, build_classifier, class_probabilities, compile_classifier
from seqkit.models.naive_bayes import naive_bayes_weights
