import keras
import numpy as np
import pytest

import seqkit
from seqkit.layers import NgramEmbedding
from seqkit.models import build_classifier, naive_bayes_weights, stack_ngram_logit


def test_log_count_ratios_match_a_hand_count():
    # Docs: [5 6] positive, [5 7] negative, [7] negative. Counts are binarized per document.
    ids = [np.array([[5, 6], [5, 7], [7, 0]])]
    weights = naive_bayes_weights(ids, [1, 0, 0], 2, vocabulary_size=10, orders=(1,), num_buckets=3, alpha=1.0)
    positive = np.ones(13)
    negative = np.ones(13)
    positive[[5, 6]] += 1
    negative[[5, 7]] += 1
    negative[7] += 1
    expected = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    np.testing.assert_allclose(weights[:, 0], expected, rtol=1e-5)
    assert weights[6, 0] > 0 > weights[7, 0] and abs(weights[5, 0]) < 0.2


def test_bigram_rows_follow_the_layer_hashing():
    weights = naive_bayes_weights([np.array([[5, 6, 0]])], [1], 2, vocabulary_size=10, num_buckets=7)
    ids, valid = NgramEmbedding(10, 1, num_buckets=7).ngram_ids(np.array([[5, 6, 0]]))
    bigram = int(keras.ops.convert_to_numpy(ids)[0, 3])
    assert keras.ops.convert_to_numpy(valid)[0, 3] and weights[bigram, 0] > 0


def test_multiclass_has_one_column_per_class():
    weights = naive_bayes_weights([np.array([[4], [5], [6]])], [0, 1, 2], 3, vocabulary_size=8, num_buckets=2)
    assert weights.shape == (10, 3)
    assert weights[4].argmax() == 0 and weights[5].argmax() == 1 and weights[6].argmax() == 2
    with pytest.raises(ValueError, match="rows"):
        naive_bayes_weights([np.array([[4]])], [0, 1], 2, vocabulary_size=8, num_buckets=2)


def test_classifier_starts_from_the_prior():
    seqkit.set_seed(0)
    weights = naive_bayes_weights([np.array([[5, 6], [7, 8]])], [1, 0], 2, vocabulary_size=10, num_buckets=5)
    model = build_classifier(10, units=4, embedding_dim=4, ngram_buckets=5, naive_bayes_weights=weights,
                             naive_bayes_scale=2.0)
    positive, negative = model.predict(np.array([[5, 6], [7, 8]]), verbose=0).ravel()
    assert positive > 0.8 and negative < 0.2  # The prior alone already separates them.
    table = keras.ops.convert_to_numpy(model.get_layer("naive_bayes_logits").embedding.embeddings)
    np.testing.assert_allclose(table, 2.0 * weights, rtol=1e-6)
    assert len(str(model.get_config())) < 20_000  # The table is a weight, not part of the config.
    with pytest.raises(ValueError, match="shape"):
        build_classifier(10, ngram_buckets=6, naive_bayes_weights=weights)
    with pytest.raises(ValueError, match="binary or multiclass"):
        build_classifier(10, head="regression", ngram_buckets=5, naive_bayes_weights=weights)


def _stacked_data():
    # Word 5/6 marks a positive text and 7/8 a negative one, but 6 and 8 also appear with the other label:
    # the n-gram logit alone is right 3 times in 4; word 9 (which the n-gram table does not know) fixes the rest.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    ids = rng.integers(10, 14, (400, 3))
    ids[:, 0] = np.where(labels == 1, 5, 7)
    flipped = rng.random(400) < 0.25
    ids[flipped, 0] = np.where(labels[flipped] == 1, 7, 5)
    ids[flipped, 1] = 9
    return ids, labels


def test_stacking_weighs_the_network_and_the_ngram_logit_on_held_out_data(tmp_path):
    seqkit.set_seed(0)
    ids, labels = _stacked_data()
    weights = np.zeros((18, 1), "float32")
    weights[5], weights[7] = 1.5, -1.5
    model = build_classifier(16, units=8, embedding_dim=8)  # Untrained: the n-gram logit carries the signal.
    stacked, report = stack_ngram_logit(model, weights, [(ids[:100], labels[:100]), (ids[100:], labels[100:])],
                                        num_buckets=2)
    kernel = keras.ops.convert_to_numpy(stacked.get_layer("stacking").kernel)
    assert kernel[1, 0] > 0.5 and report["weights"]["n-gram logit"] == pytest.approx(float(kernel[1, 0]))
    accuracy = report["dev_accuracy"]
    assert accuracy["n-gram logit"] == pytest.approx(float((np.where(ids[:, 0] == 5, 1, 0) == labels).mean()))
    assert accuracy["network"] < 0.7 <= accuracy["n-gram logit"] <= accuracy["stacked"]
    # The stacked output is the fitted regression's probability over [network logit, n-gram logit].
    from sklearn.linear_model import LogisticRegression

    network_logit = keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer("logits").output)(ids))
    features = np.concatenate([network_logit, (ids[:, :1] == 5) * 1.5 - (ids[:, :1] == 7) * 1.5], axis=1)
    expected = LogisticRegression(max_iter=1000).fit(features, labels).predict_proba(features)[:, 1]
    np.testing.assert_allclose(stacked.predict(ids, verbose=0).ravel(), expected, atol=1e-4)
    # Nothing in it trains, and it round-trips through .keras.
    assert not stacked.trainable_weights
    stacked.save(tmp_path / "stacked.keras")
    restored = keras.saving.load_model(tmp_path / "stacked.keras")
    np.testing.assert_allclose(restored.predict(ids, verbose=0), stacked.predict(ids, verbose=0), rtol=1e-5)


def test_stacking_with_a_character_ngram_logit(tmp_path):
    seqkit.set_seed(0)
    ids, labels = _stacked_data()
    word_weights = np.zeros((18, 1), "float32")
    word_weights[5], word_weights[7] = 1.5, -1.5
    # Characters fix the rows the words get wrong: the pair (2, 3) marks a positive one, (3, 2) a negative one.
    flipped = ids[:, 1] == 9
    chars = np.full((400, 4), 4)
    chars[flipped, 1:3] = np.where(labels[flipped, None] == 1, [2, 3], [3, 2])
    char_weights = np.zeros((6 + 1000, 1), "float32")  # 6 char ids, then the pair buckets.
    pair_ids = NgramEmbedding(6, 1, orders=(2,), num_buckets=1000).ngram_ids(np.array([[2, 3], [3, 2]]))[0]
    (positive,), (negative,) = keras.ops.convert_to_numpy(pair_ids).tolist()
    char_weights[positive], char_weights[negative] = 4.0, -4.0
    model = build_classifier(16, units=4, embedding_dim=4)
    batches = [({"token_ids": ids[i : i + 100], "char_ids": chars[i : i + 100]}, labels[i : i + 100]) for i in (0, 100, 200, 300)]
    stacked, report = stack_ngram_logit(model, word_weights, batches, num_buckets=2, char_ngram_weights=char_weights,
                                        char_orders=(1, 2), char_num_buckets=1000)
    accuracy = report["dev_accuracy"]
    assert set(accuracy) == {"network", "n-gram logit", "char n-gram logit", "stacked"}
    assert accuracy["n-gram logit"] < 0.8 and accuracy["char n-gram logit"] < 0.8 and accuracy["stacked"] == 1.0
    assert report["weights"]["n-gram logit"] > 0 and report["weights"]["char n-gram logit"] > 0
    inputs = {"token_ids": ids, "char_ids": chars}
    assert (stacked.predict(inputs, verbose=0).ravel().round() == labels).all()
    stacked.save(tmp_path / "stacked.keras")
    restored = keras.saving.load_model(tmp_path / "stacked.keras")
    np.testing.assert_allclose(restored.predict(inputs, verbose=0), stacked.predict(inputs, verbose=0), rtol=1e-5)
    with pytest.raises(ValueError, match="must yield .*'char_ids'"):
        stack_ngram_logit(model, word_weights, [(ids, labels)], num_buckets=2, char_ngram_weights=char_weights,
                          char_num_buckets=1000)
    with pytest.raises(ValueError, match="char_vocabulary_size \\+ char_num_buckets"):
        stack_ngram_logit(model, word_weights, batches, num_buckets=2, char_ngram_weights=char_weights[:900],
                          char_num_buckets=1000)


def test_stacking_reads_the_logits_after_a_joint_prior():
    seqkit.set_seed(0)
    ids, labels = _stacked_data()
    prior = np.zeros((18, 1), "float32")
    prior[9] = 3.0  # Joint prior: only word 9 counts.
    model = build_classifier(16, units=4, embedding_dim=4, ngram_buckets=2, naive_bayes_weights=prior,
                             naive_bayes_scale=1.0)
    stacked, _ = stack_ngram_logit(model, np.zeros((18, 1), "float32"), [(ids, labels)], num_buckets=2)
    joint_logit = keras.Model(model.input, model.get_layer("logits_with_prior").output)(ids)
    inner = keras.Model(stacked.input, stacked.get_layer("stacking_features").output)(ids)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(inner)[:, :1], keras.ops.convert_to_numpy(joint_logit), rtol=1e-5)


def test_stacking_multiclass_and_errors():
    seqkit.set_seed(0)
    ids = np.array([[4], [5], [6]] * 10)
    labels = np.array([0, 1, 2] * 10)
    weights = naive_bayes_weights([ids], labels, 3, vocabulary_size=8, num_buckets=2)
    model = build_classifier(8, head="multiclass", num_classes=3, units=4, embedding_dim=4)
    stacked, report = stack_ngram_logit(model, weights, [(ids, labels)], num_buckets=2)
    assert keras.ops.convert_to_numpy(stacked.get_layer("stacking").kernel).shape == (6, 3)
    assert report["dev_accuracy"]["stacked"] == 1.0
    np.testing.assert_array_equal(stacked.predict(ids, verbose=0).argmax(-1), labels)
    with pytest.raises(ValueError, match="every one of the model's 3 classes"):
        stack_ngram_logit(model, weights, [(ids[:2], labels[:2])], num_buckets=2)
    with pytest.raises(ValueError, match="shape"):
        stack_ngram_logit(model, weights, [(ids, labels)], num_buckets=3)
    with pytest.raises(ValueError, match="multilabel"):
        stack_ngram_logit(build_classifier(8, head="multilabel", num_classes=3, units=4, embedding_dim=4),
                          weights, [(ids, labels)], num_buckets=2)
    with pytest.raises(ValueError, match="binary or multiclass"):
        stack_ngram_logit(build_classifier(8, head="regression", units=4, embedding_dim=4), weights[:, :1],
                          [(ids, labels)], num_buckets=2)


def test_nbsvm_weights_are_the_ratios_times_the_interpolated_svm_weights():
    from sklearn.svm import LinearSVC

    from seqkit.models.naive_bayes import nbsvm_weights

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    # Word 5 or 6 marks a positive text, 7 or 8 a negative one; 9-14 are noise.
    ids = rng.integers(9, 15, (60, 4))
    ids[:, 0] = np.where(labels == 1, rng.choice([5, 6], 60), rng.choice([7, 8], 60))
    ratios = naive_bayes_weights([ids], labels, 2, vocabulary_size=15, orders=(1,), num_buckets=1)[:, 0]
    dense = np.zeros((60, 16))
    for row, text in enumerate(ids):
        dense[row, np.unique(text)] = 1.0
    svm_weights = LinearSVC(C=1.0, max_iter=10_000).fit(dense * ratios, labels == 1).coef_.ravel()

    full = nbsvm_weights([ids], labels, 2, vocabulary_size=15, orders=(1,), num_buckets=1, beta=1.0)[:, 0]
    np.testing.assert_allclose(full, ratios * svm_weights, rtol=1e-3, atol=1e-5)
    smoothed = nbsvm_weights([ids], labels, 2, vocabulary_size=15, orders=(1,), num_buckets=1, beta=0.25)[:, 0]
    expected = ratios * (0.75 * np.abs(svm_weights).mean() + 0.25 * svm_weights)
    np.testing.assert_allclose(smoothed, expected, rtol=1e-3, atol=1e-5)
    margins = dense @ smoothed
    assert margins[labels == 1].min() > margins[labels == 0].max()  # The marker words dominate.


def test_nbsvm_weights_one_column_per_class():
    from seqkit.models.naive_bayes import nbsvm_weights

    ids = np.array([[4], [5], [6]] * 5)
    weights = nbsvm_weights([ids], [0, 1, 2] * 5, 3, vocabulary_size=8, num_buckets=2)
    assert weights.shape == (10, 3)
    assert weights[4].argmax() == 0 and weights[5].argmax() == 1 and weights[6].argmax() == 2
