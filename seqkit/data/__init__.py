"""Data preparation: vocabularies, tokenizers, readers, datasets, splits and tf.data pipelines."""

from seqkit.data.errors import DataError
from seqkit.data.preprocessor import TextPreprocessor
from seqkit.data.tokenizers import CharTokenizer, Tokenizer, WordTokenizer, get_tokenizer
from seqkit.data.vocabulary import SPECIAL_TOKENS, Vocabulary
from seqkit.data import datasets, readers, splits
from seqkit.data.labels import LabelEncoder
from seqkit.data.pipeline import make_dataset
