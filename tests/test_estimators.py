"""scikit-learn estimators on slices of real data: lists, Series, DataFrames, Pipeline, CV and grid search."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import seqkit
from seqkit.estimators import SequenceTagger, TextClassifier

SMALL_CLASSIFIER = {"embedding_dim": 16, "units": 8, "epochs": 2, "batch_size": 64}
SMALL_TAGGER = {"word_embedding_dim": 16, "char_hidden_dim": 8, "casing_dim": 4, "units": 16, "epochs": 4,
                "learning_rate": 0.01}


@pytest.fixture(scope="module")
def mr(shared_data):
    """1,600 MR sentences (shuffled, seeded) as a DataFrame with named columns."""
    texts, labels = seqkit.datasets.load_mr()["all"]
    order = np.random.default_rng(0).permutation(len(texts))[:1600]
    return pd.DataFrame({"sentence": [texts[i] for i in order], "polarity": [labels[i] for i in order]})


@pytest.fixture(scope="module")
def conll(shared_data):
    """CoNLL-2003: 600 training sentences and 300 of the dev set, BIO."""
    data = seqkit.datasets.load_conll2003()
    (train_x, train_y), (dev_x, dev_y) = data["train"], data["dev"]
    return (train_x[:600], train_y[:600]), (dev_x[:300], dev_y[:300])


def test_classifier_params_follow_sklearn_conventions():
    model = TextClassifier(units=8, epochs=1)
    assert model.get_params()["units"] == 8 and model.get_params()["cell"] == "lstm"
    model.set_params(units=12, cell="gru")
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'hidden'"):
        model.set_params(hidden=3)


def test_classifier_on_mr_accepts_a_dataframe_a_series_and_lists(mr):
    train, test = mr.iloc[:1200], mr.iloc[1200:]
    options = {**SMALL_CLASSIFIER, "epochs": 6, "learning_rate": 5e-3}
    model = TextClassifier(text_column="sentence", **options).fit(train, train["polarity"])
    assert model.classes_.tolist() == ["neg", "pos"]
    probabilities = model.predict_proba(test)
    assert probabilities.shape == (400, 2) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The same texts as a DataFrame, a Series and a list give the same predictions.
    predicted = model.predict(test)
    assert (model.predict(test["sentence"]) == predicted).all()
    assert (model.predict(test["sentence"].tolist()) == predicted).all()
    accuracy = model.score(test, test["polarity"])
    assert accuracy == pytest.approx(float((predicted == test["polarity"].to_numpy()).mean()))
    assert accuracy > 0.6, accuracy  # Chance is 0.5; 1,200 sentences, 6 epochs of a tiny BiLSTM.
    with pytest.raises(ValueError, match=r"set `text_column`"):
        TextClassifier().fit(train, train["polarity"])
    with pytest.raises(ValueError, match=r"`text_column='review'` is not a column"):
        TextClassifier(text_column="review").fit(train, train["polarity"])


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_classifier_in_a_pipeline_under_cross_validation_and_grid_search(mr):
    data = mr.iloc[:800]
    pipeline = Pipeline([
        ("clean", FunctionTransformer(lambda frame: frame["sentence"].str.replace("-", " "))),
        ("model", TextClassifier(**SMALL_CLASSIFIER)),
    ])
    scores = cross_val_score(pipeline, data, data["polarity"], cv=2)
    assert scores.shape == (2,) and all(0.0 <= score <= 1.0 for score in scores)
    search = GridSearchCV(TextClassifier(text_column="sentence", **SMALL_CLASSIFIER),
                          {"cell": ["lstm", "gru"]}, cv=2)
    search.fit(data, data["polarity"])
    assert search.best_params_["cell"] in ("lstm", "gru") and len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_estimator_.cell == search.best_params_["cell"]
    assert search.predict(data.iloc[:5]).shape == (5,)


@pytest.mark.slow  # About a minute or more on 2 cores; `pytest -m slow` runs it.
def test_tagger_on_conll_slice_scores_entity_f1_and_works_in_cross_validation(conll):
    (train_x, train_y), (dev_x, dev_y) = conll
    tagger = SequenceTagger(**SMALL_TAGGER).fit(pd.Series(train_x), pd.Series(train_y))
    predicted = tagger.predict(dev_x)
    assert [len(row) for row in predicted] == [len(row) for row in dev_x]
    from seqeval.metrics import f1_score

    assert tagger.score(dev_x, dev_y) == pytest.approx(f1_score(dev_y, predicted))
    assert tagger.score(dev_x, dev_y) > 0.3  # 600 sentences, 4 epochs: well above 0, far below the recipe's 91.
    frame = pd.DataFrame({"tokens": dev_x[:20], "id": range(20)})
    assert SequenceTagger(tokens_column="tokens").set_params(**SMALL_TAGGER).get_params()["units"] == 16
    assert tagger.set_params(tokens_column="tokens").predict(frame) == predicted[:20]
    scores = cross_val_score(SequenceTagger(**{**SMALL_TAGGER, "epochs": 1}), train_x[:300], train_y[:300], cv=2)
    assert scores.shape == (2,)


@pytest.mark.parametrize("X,y,fragment", [
    ([["EU", "rejects"]], [["B-ORG"]], "Sentence 0 has 2 tokens and 1 tags"),
    ([["EU", "rejects"]], [["I-ORG", "O"]], "y, sentence 0: malformed BIO tag 'I-ORG'"),
    ([["EU", ""]], [["B-ORG", "O"]], "non-empty lists of non-empty token strings"),
    ("EU rejects", [["B-ORG", "O"]], "not one string"),
])
def test_tagger_bad_input_says_what_is_wrong(X, y, fragment):
    with pytest.raises(ValueError) as error:
        SequenceTagger(epochs=1).fit(X, y)
    assert fragment in str(error.value)
