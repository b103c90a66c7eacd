"""Data preparation: vocabularies, tokenizers, readers, datasets, splits and input pipelines.

Names are imported on first use: the pure-Python parts (vocabularies, CoNLL and
tag-scheme tools, `BucketedBatches`) load without TensorFlow; the tokenizers,
`TextPreprocessor`, `TagFeaturizer` and `make_dataset` need it.
"""

import importlib

_SUBMODULES = (
    "adding_problem", "bucketing", "casing", "conll", "datasets", "dates", "documents", "errors", "labels", "pipeline", "preprocessor", "readers", "splits",
    "tag_features", "tag_schemes", "text_windows", "tokenizers", "vocabulary", "word_vectors",
)
_NAMES = {
    "errors": ("DataError",),
    "preprocessor": ("TextPreprocessor",),
    "tokenizers": ("CharTokenizer", "NewsTokenizer", "Tokenizer", "WordTokenizer", "get_tokenizer"),
    "vocabulary": ("SPECIAL_TOKENS", "Vocabulary"),
    "labels": ("LabelEncoder",),
    "pipeline": ("make_dataset", "make_pair_dataset"),
    "conll": ("read_conll", "write_conll"),
    "word_vectors": ("load_word_vectors",),
    "bucketing": ("BucketedBatches", "concatenate_padded"),
    "readers": ("read_pairs",),
    "tag_features": ("TagFeaturizer",),
    "casing": ("CASING_NAMES",),
    "dates": ("DATE_FORMATS", "date_splits", "format_date", "generate_date_pairs"),
    "adding_problem": ("adding_problem",),
}
_LOCATION = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_LOCATION) + list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        value = importlib.import_module(f"seqkit.data.{name}")
    elif name in _LOCATION:
        value = getattr(importlib.import_module(f"seqkit.data.{_LOCATION[name]}"), name)
    else:
        raise AttributeError(f"module 'seqkit.data' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
