"""scikit-learn estimators over seqkit's builders: `TextClassifier` and `SequenceTagger`.

They follow scikit-learn's conventions (every hyperparameter is an `__init__`
argument stored as is, learned state ends in `_`), so `get_params`, `set_params`,
`clone`, `Pipeline`, `cross_val_score` and `GridSearchCV` work on them. Each
`fit` builds and trains a fresh Keras model, seeded by `seed`.

Examples:
>>> from seqkit.estimators import TextClassifier
>>> texts = ["a fine film", "a dull film", "fine acting", "dull plot"] * 8
>>> labels = ["pos", "neg", "pos", "neg"] * 8
>>> model = TextClassifier(embedding_dim=8, units=4, epochs=2).fit(texts, labels)
>>> model.predict(["fine plot"]).shape, model.classes_.tolist()
((1,), ['neg', 'pos'])
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder as SklearnLabelEncoder
from sklearn.utils.validation import check_is_fitted


def _column(data, column, argument, kind):
    """A list from a list, a pandas Series, or the `column` of a DataFrame (or its only column)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        if column is None:
            if data.shape[1] != 1:
                raise ValueError(f"`{argument}` is a DataFrame with columns {list(data.columns)}: set "
                                 f"`{kind}_column` to the one that holds the {kind}.")
            column = data.columns[0]
        if column not in data.columns:
            raise ValueError(f"`{kind}_column={column!r}` is not a column of `{argument}`. "
                             f"Received columns: {list(data.columns)}")
        return data[column].tolist()
    if pd is not None and isinstance(data, pd.Series):
        return data.tolist()
    if isinstance(data, str):
        raise ValueError(f"`{argument}` must be a list of {kind}, not one string. Received: {data[:50]!r}")
    return list(data)


class TextClassifier(ClassifierMixin, BaseEstimator):
    """A recurrent text classifier (`build_classifier`) with scikit-learn's interface.

    Args:
        tokenizer: `"word"` or `"char"`.
        lowercase: lowercase before tokenizing.
        max_vocabulary: keep the most frequent tokens (the rest read as `<unk>`).
        max_length: cut texts to this many tokens (`None`: keep all).
        embedding_dim, cell, units, num_layers, bidirectional, dropout, pooling:
            as in `build_classifier`.
        epochs, batch_size, learning_rate: training.
        text_column: the column holding the texts when `X` is a DataFrame.
        seed: seeds initialization and shuffling.
        verbose: Keras' `fit` verbosity.

    `classes_` holds the labels in the order of `predict_proba`'s columns.
    """

    def __init__(
        self,
        tokenizer="word",
        lowercase=True,
        max_vocabulary=30000,
        max_length=None,
        embedding_dim=64,
        cell="lstm",
        units=32,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        pooling="max",
        epochs=5,
        batch_size=32,
        learning_rate=2e-3,
        text_column=None,
        seed=0,
        verbose=0,
    ):
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.max_vocabulary = max_vocabulary
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.text_column = text_column
        self.seed = seed
        self.verbose = verbose

    def _texts(self, X):
        texts = _column(X, self.text_column, "X", "text")
        bad = next(((i, t) for i, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise ValueError(f"`X` must hold strings. Received at row {bad[0]}: {bad[1]!r} ({type(bad[1]).__name__})")
        return texts

    def fit(self, X, y):
        import seqkit

        texts = self._texts(X)
        labels = _column(y, None, "y", "label")
        if len(texts) != len(labels):
            raise ValueError(f"`X` and `y` must have the same length. Received: {len(texts)} texts, {len(labels)} labels")
        self._label_encoder = SklearnLabelEncoder().fit(labels)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"`y` must hold at least 2 classes. Received: {self.classes_.tolist()}")
        seqkit.set_seed(self.seed)
        tokenizer = seqkit.get_tokenizer({"type": self.tokenizer, "lowercase": self.lowercase})
        vocabulary = seqkit.Vocabulary.build(tokenizer.iter_tokenize(texts), max_size=self.max_vocabulary)
        self.preprocessor_ = seqkit.TextPreprocessor(tokenizer, vocabulary, max_length=self.max_length)
        self.head_ = "binary" if len(self.classes_) == 2 else "multiclass"
        self.model_ = seqkit.build_classifier(
            vocabulary.size, num_classes=len(self.classes_), head=self.head_, embedding_dim=self.embedding_dim,
            cell=self.cell, units=self.units, num_layers=self.num_layers, bidirectional=self.bidirectional,
            dropout=self.dropout, pooling=self.pooling,
        )
        seqkit.compile_classifier(self.model_, head=self.head_, learning_rate=self.learning_rate)
        targets = self._label_encoder.transform(labels)
        dataset = seqkit.make_dataset(texts, targets.astype("float32" if self.head_ == "binary" else "int32"),
                                      preprocessor=self.preprocessor_, batch_size=self.batch_size, shuffle=True,
                                      seed=self.seed)
        self.model_.fit(dataset, epochs=self.epochs, verbose=self.verbose, shuffle=False)  # It shuffles itself.
        return self

    def predict_proba(self, X):
        """`(num_texts, num_classes)` probabilities, columns in the order of `classes_`."""
        import seqkit

        check_is_fitted(self, "model_")
        texts = self._texts(X)
        if not texts:
            return np.zeros((0, len(self.classes_)), "float32")
        dataset = seqkit.make_dataset(texts, preprocessor=self.preprocessor_, batch_size=256, bucketing=False)
        outputs = np.asarray(self.model_.predict(dataset, verbose=0), "float32")
        if self.head_ == "binary":
            positive = outputs.reshape(-1)
            return np.stack([1.0 - positive, positive], axis=1)
        return outputs

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class SequenceTagger(BaseEstimator):
    """A BiLSTM-CRF tagger (`build_tagger`) with scikit-learn's interface; `score` is entity F1.

    `X` is a list (or Series, or DataFrame column) of token lists, `y` the matching
    lists of BIO tags. `predict` returns BIO tag lists.

    Args:
        output: `"crf"` or `"softmax"`.
        tag_scheme: the scheme the model predicts (`"bio"` or `"bioes"`); input and
            output tags are BIO either way.
        word_embedding_dim, char_encoder, char_hidden_dim, casing_dim, units,
            num_layers, embedding_dropout, output_dropout: as in `build_tagger`.
        epochs, batch_size, learning_rate: training.
        tokens_column: the column holding the token lists when `X` is a DataFrame.
        seed: seeds initialization and shuffling.
        verbose: Keras' `fit` verbosity.
    """

    def __init__(
        self,
        output="crf",
        tag_scheme="bio",
        word_embedding_dim=50,
        char_encoder="cnn",
        char_hidden_dim=30,
        casing_dim=8,
        units=64,
        num_layers=1,
        embedding_dropout=0.2,
        output_dropout=0.2,
        epochs=10,
        batch_size=32,
        learning_rate=5e-3,
        tokens_column=None,
        seed=0,
        verbose=0,
    ):
        self.output = output
        self.tag_scheme = tag_scheme
        self.word_embedding_dim = word_embedding_dim
        self.char_encoder = char_encoder
        self.char_hidden_dim = char_hidden_dim
        self.casing_dim = casing_dim
        self.units = units
        self.num_layers = num_layers
        self.embedding_dropout = embedding_dropout
        self.output_dropout = output_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.tokens_column = tokens_column
        self.seed = seed
        self.verbose = verbose

    def _sentences(self, X):
        sentences = [list(row) for row in _column(X, self.tokens_column, "X", "tokens")]
        for index, row in enumerate(sentences):
            if not row or not all(isinstance(token, str) and token for token in row):
                raise ValueError(f"`X` must hold non-empty lists of non-empty token strings. Received at row {index}: "
                                 f"{row[:10]!r}")
        return sentences

    def fit(self, X, y):
        import seqkit
        from seqkit.data.bucketing import BucketedBatches
        from seqkit.data.tag_features import CASING_NAMES
        from seqkit.data.tag_schemes import convert, validate

        sentences = self._sentences(X)
        tags = [list(row) for row in _column(y, None, "y", "tags")]
        if len(sentences) != len(tags):
            raise ValueError(f"`X` and `y` must have the same length. Received: {len(sentences)} and {len(tags)}")
        for index, (tokens, row) in enumerate(zip(sentences, tags)):
            if len(tokens) != len(row):
                raise ValueError(f"Sentence {index} has {len(tokens)} tokens and {len(row)} tags: {tokens[:10]!r}")
            validate(row, "bio", where=f"y, sentence {index}")
        model_tags = [convert(row, "bio", self.tag_scheme) for row in tags]
        # Every prefix of each entity type seen (as the ner recipe): a BIOES model trained
        # without one-token locations can still predict S-LOC.
        types = sorted({tag[2:] for row in tags for tag in row if tag != "O"})
        prefixes = "BI" if self.tag_scheme == "bio" else "BIES"
        self.tag_names_ = ["O"] + sorted(f"{prefix}-{kind}" for kind in types for prefix in prefixes)
        index = {tag: i for i, tag in enumerate(self.tag_names_)}
        seqkit.set_seed(self.seed)
        self.featurizer_ = seqkit.TagFeaturizer.build(sentences)
        self.model_ = seqkit.build_tagger(
            self.featurizer_.word_vocabulary.size, self.tag_names_, self.featurizer_.char_vocabulary.size,
            len(CASING_NAMES), word_embedding_dim=self.word_embedding_dim,
            char_encoder=None if self.char_encoder in (None, "none") else self.char_encoder,
            char_hidden_dim=self.char_hidden_dim, casing_dim=self.casing_dim, units=self.units,
            num_layers=self.num_layers, embedding_dropout=self.embedding_dropout,
            output_dropout=self.output_dropout, output=self.output, tag_scheme=self.tag_scheme,
        )
        seqkit.compile_tagger(self.model_, learning_rate=self.learning_rate)
        features = self.featurizer_.encode(sentences)
        targets = np.full(features["words"].shape, -1, "int32")
        for row, labels in enumerate(model_tags):
            targets[row, : len(labels)] = [index[tag] for tag in labels]
        inputs = {key: features[key] for key in self.model_.input}
        batches = BucketedBatches(inputs, targets, [len(s) for s in sentences], self.batch_size, seed=self.seed)
        self.model_.fit(batches, epochs=self.epochs, verbose=self.verbose)
        return self

    def predict(self, X):
        """BIO tag lists, one per sentence."""
        from seqkit.models.tagger import predict_tag_names

        check_is_fitted(self, "model_")
        sentences = self._sentences(X)
        if not sentences:
            return []
        features = self.featurizer_.encode(sentences)
        inputs = {key: features[key] for key in self.model_.input}
        return predict_tag_names(self.model_, inputs, [len(s) for s in sentences], self.tag_names_, self.tag_scheme)

    def score(self, X, y):
        """Entity-level micro F1 (seqeval, conlleval-compatible) of `predict(X)` against `y`."""
        from seqeval.metrics import f1_score

        return float(f1_score([list(row) for row in _column(y, None, "y", "tags")], self.predict(X)))
