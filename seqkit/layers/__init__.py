"""Keras layers shared by the seqkit builders; `keras.ops` only, so they run on any backend.

(`Embedding` adds a TensorFlow fast path for its lookup; other backends use Keras' own.)
"""

from seqkit.layers.embedding import Embedding

from seqkit.layers.pooling import POOLINGS, AttentionPooling, MaskedPooling
from seqkit.layers.peephole import PeepholeLSTMCell
from seqkit.layers.scan_lstm import ScanLSTM, lstm_sequence, lstm_sequence_forward
from seqkit.layers.recurrent_stack import (
    CELLS, PRESETS, RecurrentStack, fused_path_blockers, get_initializer, stack_preset,
)
from seqkit.layers.ngram_embedding import NgramEmbedding
from seqkit.layers.char_encoder import CharacterEncoder
from seqkit.layers.crf import CRF, CRFLoss, bio_constraints
from seqkit.layers.attention import ATTENTIONS, BahdanauAttention, LuongAttention
from seqkit.layers.attention_decoder import AttentionDecoder, DecoderBridge
from seqkit.layers.sequence_reversal import ReverseSequence
from seqkit.layers.contextual_embedding import ContextualEmbedding
from seqkit.layers.sampled_softmax import SampledSoftmaxLoss, mean_token_loss
