"""seqkit: a Keras 3 toolkit for applied sequence modeling.

Examples:
>>> import seqkit
>>> vocabulary = seqkit.Vocabulary.build(seqkit.WordTokenizer()(["A good film.", "A bad film."]))
>>> model = seqkit.build_classifier(vocabulary.size, units=8, embedding_dim=8)
"""

import os

# Keep TensorFlow's C++ start-up chatter out of the user's terminal (set it to 0 to see it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from seqkit.data import (  # noqa: E402
    CharTokenizer,
    DataError,
    LabelEncoder,
    TextPreprocessor,
    Vocabulary,
    WordTokenizer,
    datasets,
    get_tokenizer,
    make_dataset,
    readers,
    splits,
)
from seqkit.export import export_classifier, next_version_dir  # noqa: E402
from seqkit.layers import AttentionPooling, MaskedPooling, RecurrentStack  # noqa: E402
from seqkit import models  # noqa: E402
from seqkit.models import build_classifier, class_probabilities, compile_classifier, naive_bayes_weights  # noqa: E402
from seqkit.training import BestModelCheckpoint, set_seed, training_callbacks  # noqa: E402

__version__ = "0.1.0"
