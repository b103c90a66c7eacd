"""The scikit-learn baseline a user would otherwise pick: TF-IDF word 1-2-grams + LogisticRegression."""

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def tfidf_logistic_regression(C=4.0):
    """A fresh, unfitted pipeline; `fit(texts, labels)` then `score(texts, labels)`."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b|[^\w\s]"),
        LogisticRegression(C=C, max_iter=2000),
    )
