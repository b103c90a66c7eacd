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


def _word_features(sentence, position):
    word = sentence[position]
    features = {
        "bias": 1.0,
        "word.lower": word.lower(),
        "prefix2": word[:2],
        "prefix3": word[:3],
        "suffix2": word[-2:],
        "suffix3": word[-3:],
        "is_title": word.istitle(),
        "is_upper": word.isupper(),
        "is_digit": word.isdigit(),
        "has_digit": any(character.isdigit() for character in word),
        "has_hyphen": "-" in word,
    }
    for offset in (-2, -1, 1, 2):
        neighbour = position + offset
        if 0 <= neighbour < len(sentence):
            features[f"{offset}:word.lower"] = sentence[neighbour].lower()
            features[f"{offset}:is_title"] = sentence[neighbour].istitle()
            features[f"{offset}:is_upper"] = sentence[neighbour].isupper()
        else:
            features[f"{offset}:boundary"] = True
    return features


def sentence_features(sentence):
    """Word-shape features of each token: lowercase word, 2-3 character prefixes and suffixes,
    case and digit flags, and the lowercase words and case flags of the ±2 neighbours."""
    return [_word_features(sentence, position) for position in range(len(sentence))]


def crfsuite_tagger(c1=0.1, c2=0.1, max_iterations=100):
    """The linear-chain CRF a user would otherwise pick (sklearn-crfsuite, L-BFGS with L1+L2).

    `fit([sentence_features(s) for s in sentences], tags)`, then `predict(...)`.
    """
    import sklearn_crfsuite

    return sklearn_crfsuite.CRF(
        algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations, all_possible_transitions=True
    )
