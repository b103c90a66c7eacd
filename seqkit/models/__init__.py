"""Model builders, one per sequence-problem shape."""

from seqkit.models.classifier import HEADS, build_classifier, class_probabilities, compile_classifier, stack_ngram_logit
from seqkit.models.tagger import OUTPUTS, WordDropout, build_tagger, compile_tagger, decode_tags, predict_tag_names
from seqkit.models.naive_bayes import naive_bayes_weights, nbsvm_weights
from seqkit.models.language_model import build_language_model, compile_language_model
from seqkit.models.seq2seq import attention_model, build_seq2seq, compile_seq2seq
from seqkit.models.bilm import (
    bidirectional_batches, bidirectional_targets, build_bidirectional_language_model, initialize_output_bias,
    compile_bidirectional_language_model,
)
from seqkit.models.pretraining import initialize_from_language_model
