"""seqkit: a Keras 3 toolkit for applied sequence modeling.

Names are imported on first use, so the model code (`seqkit.layers`,
`seqkit.models`, `seqkit.training`, `seqkit.metrics`) loads without TensorFlow,
for instance on the JAX backend; the data pipeline and export need TensorFlow.

Examples:
>>> import seqkit
>>> vocabulary = seqkit.Vocabulary.build(seqkit.WordTokenizer()(["A good film.", "A bad film."]))
>>> model = seqkit.build_classifier(vocabulary.size, units=8, embedding_dim=8)
"""

import importlib
import importlib.util
import os

# Keep TensorFlow's C++ start-up chatter out of the user's terminal (set it to 0 to see it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_SUBMODULES = (
    "cli", "config", "data", "decoding", "distribute", "estimators", "export", "layers", "metrics", "models",
    "optimizers", "plots", "testing", "training", "translation", "tuning", "utils",
)
_NAMES = {
    "seqkit.data": (
        "BucketedBatches", "CharTokenizer", "DataError", "LabelEncoder", "NewsTokenizer", "TagFeaturizer",
        "TextPreprocessor", "Vocabulary", "WordTokenizer", "datasets", "get_tokenizer", "make_dataset",
        "read_conll", "readers", "splits",
    ),
    "seqkit.export": (
        "export_classifier", "export_language_model", "export_seq2seq", "export_tagger", "next_version_dir",
    ),
    "seqkit.layers": (
        "CRF", "AttentionDecoder", "AttentionPooling", "BahdanauAttention", "CharacterEncoder", "LuongAttention",
        "MaskedPooling", "RecurrentStack", "ContextualEmbedding",
    ),
    "seqkit.models": (
        "build_classifier", "build_tagger", "class_probabilities", "compile_classifier", "compile_tagger",
        "decode_tags", "stack_ngram_logit", "naive_bayes_weights", "nbsvm_weights", "build_language_model",
        "compile_language_model", "build_seq2seq", "compile_seq2seq", "build_bidirectional_language_model",
        "compile_bidirectional_language_model", "bidirectional_batches", "initialize_from_language_model",
    ),
    "seqkit.estimators": ("SequenceTagger", "TextClassifier"),
    "seqkit.training": (
        "BestModelCheckpoint", "EntityF1", "GenerationSamples", "ResetStates", "TimeBudget", "refit_schedule",
        "set_seed", "training_callbacks",
    ),
}
_LOCATION = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_LOCATION) + list(_SUBMODULES)


# The Keras-serializable layers, models and optimizer register themselves on import, so
# that `import seqkit` is enough for `keras.saving.load_model` to find them. These
# modules need only Keras.
from seqkit import layers, models, optimizers  # noqa: E402, F401

# `TextPreprocessor` (a registered layer too) needs TensorFlow; register it where that is installed.
try:
    _tensorflow = importlib.util.find_spec("tensorflow")
except (ImportError, ValueError):  # Made unimportable (sys.modules entry None), or broken.
    _tensorflow = None
if _tensorflow is not None:
    from seqkit.data import preprocessor as _preprocessor  # noqa: E402, F401


def __getattr__(name):
    if name in _SUBMODULES:
        value = importlib.import_module(f"seqkit.{name}")
    elif name in _LOCATION:
        value = getattr(importlib.import_module(_LOCATION[name]), name)
    else:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
