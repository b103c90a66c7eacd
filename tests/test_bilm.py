"""Bidirectional LM, ELMo's ContextualEmbedding, and Dai & Le initialization."""

import keras
import numpy as np
import pytest

import seqkit
from seqkit.layers import ContextualEmbedding, ReverseSequence
from seqkit.models.bilm import bidirectional_targets, layer_outputs


@pytest.fixture(scope="module")
def bilm():
    seqkit.set_seed(0)
    return seqkit.build_bidirectional_language_model(30, embedding_dim=8, units=8, num_layers=2, dropout=0.0)


def logits(model, ids):
    outputs = model.predict({"token_ids": np.array(ids)}, verbose=0)
    return outputs["forward"], outputs["backward"]


def test_reverse_sequence_reverses_within_each_length_and_is_its_own_inverse():
    x = np.arange(1, 9, dtype="float32").reshape(2, 4, 1)
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    reversed_ = ReverseSequence()(x, mask=mask)
    assert reversed_[..., 0].numpy().tolist() == [[3, 2, 1, 4], [8, 7, 6, 5]]
    np.testing.assert_array_equal(ReverseSequence()(reversed_, mask=mask).numpy(), x)


def test_targets_shift_each_row_and_padding_predicts_nothing():
    forward, backward = bidirectional_targets(np.array([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]]))
    assert forward.tolist() == [[6, 7, 0, 0, 0], [9, 0, 0, 0, 0]]
    assert backward.tolist() == [[0, 5, 6, 0, 0], [0, 8, 0, 0, 0]]


def test_forward_scores_see_only_the_past_and_backward_scores_only_the_future(bilm):
    forward, backward = logits(bilm, [[5, 6, 7, 8, 9]])
    changed_forward, changed_backward = logits(bilm, [[5, 6, 20, 8, 9]])  # Token 2 changed.
    np.testing.assert_allclose(forward[0, :2], changed_forward[0, :2], atol=1e-6)  # Steps before it: unchanged.
    assert np.abs(forward[0, 2:] - changed_forward[0, 2:]).max() > 1e-4
    np.testing.assert_allclose(backward[0, 3:], changed_backward[0, 3:], atol=1e-6)  # Steps after it: unchanged.
    assert np.abs(backward[0, :3] - changed_backward[0, :3]).max() > 1e-4


def test_padding_changes_nothing(bilm):
    forward, backward = logits(bilm, [[5, 6, 7]])
    padded_forward, padded_backward = logits(bilm, [[5, 6, 7, 0, 0, 0]])
    np.testing.assert_allclose(forward[0], padded_forward[0, :3], atol=1e-5)
    np.testing.assert_allclose(backward[0], padded_backward[0, :3], atol=1e-5)


def test_one_token_sentences_are_left_out_and_an_all_short_corpus_is_an_error():
    batches = seqkit.bidirectional_batches([[5], [5, 6, 7], [8, 9]], batch_size=8, shuffle=False)
    inputs, targets = batches[0]
    assert inputs["token_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert targets["backward"].tolist() == [[0, 5, 6], [0, 8, 0]]
    with pytest.raises(ValueError, match="at least 2 tokens"):
        seqkit.bidirectional_batches([[5], [6]])


def test_training_takes_a_length_multiple_and_more_callbacks():
    rows = [[5, 6, 7, 8, 9][: 2 + index % 4] for index in range(40)]
    model = seqkit.build_bidirectional_language_model(12, embedding_dim=4, units=4, num_layers=1)
    seqkit.compile_bidirectional_language_model(model)
    epoch_ends = []

    class EpochEnds(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epoch_ends.append(epoch)

    batches = seqkit.bidirectional_batches(rows, batch_size=8, length_multiple=4)
    assert {batch[0]["token_ids"].shape[1] for batch in batches} <= {4, 5}  # 2-3 -> 4; 4-5 -> 5 (cut, never grown).
    report = seqkit.models.bilm.train_bidirectional_language_model(
        model, rows, rows[:8], epochs=2, batch_size=8, verbose=0, length_multiple=4, callbacks=[EpochEnds()]
    )
    assert report["epochs_run"] == 2 and epoch_ends == [0, 1]


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_a_bilm_learns_real_text_in_both_directions(shared_data):
    """Characters of CoNLL-2003 sentences: each direction beats the unigram model on held-out sentences."""
    from seqkit.data import datasets

    sentences = datasets.load_conll2003(data_dir=shared_data / "conll2003", download=False)["train"][0][:500]
    texts = [list(" ".join(sentence)) for sentence in sentences]
    vocabulary = seqkit.Vocabulary.build(texts[:400])
    rows = [vocabulary.encode(text) for text in texts]
    counts = np.bincount([i for row in rows[:400] for i in row], minlength=vocabulary.size) + 1.0
    unigram = -np.mean(np.log(counts / counts.sum())[[i for row in rows[400:] for i in row]])
    seqkit.set_seed(0)
    model = seqkit.build_bidirectional_language_model(vocabulary.size, embedding_dim=32, units=32, num_layers=1)
    seqkit.compile_bidirectional_language_model(model, learning_rate=0.01)
    history = model.fit(seqkit.bidirectional_batches(rows[:400], batch_size=8),
                        validation_data=seqkit.bidirectional_batches(rows[400:]), epochs=2, verbose=0).history
    for direction in ("forward", "backward"):
        losses = history[f"val_{direction}_loss"]
        assert losses[-1] < losses[0] < unigram  # Better than the unigram model, and better still after epoch 2,
        assert losses[-1] < unigram - 0.4  # by a wide margin (nats per character).


def test_contextual_embedding_mixes_layers_with_softmax_weights_and_a_scale(bilm):
    layer = ContextualEmbedding(bilm)
    ids = np.array([[5, 6, 7, 0]])
    assert layer.num_mixed_layers == 3 and layer.include_token_layer  # embedding_dim == units: h_0 is mixed too.
    np.testing.assert_allclose(layer.mix_weights(), [1 / 3] * 3, atol=1e-6)
    features = keras.Model(bilm.input, [keras.layers.Concatenate()(list(pair)) for pair in layer_outputs(bilm)])
    layers = [np.asarray(h) for h in features.predict({"token_ids": ids}, verbose=0)]
    np.testing.assert_allclose(layer(ids).numpy(), sum(layers) / 3, atol=1e-5)
    layer.mix_logits.assign([0.0, 50.0, 0.0])  # All weight on the first recurrent layer,
    layer.scale.assign(2.0)  # scaled by 2.
    np.testing.assert_allclose(layer(ids).numpy(), 2 * layers[1], atol=1e-4)
    # h_0 is the token representation, the same for both directions.
    np.testing.assert_allclose(layers[0][..., :8], layers[0][..., 8:])
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(ids)), [[True, True, True, False]])


def test_the_token_layer_needs_matching_widths():
    narrow = seqkit.build_bidirectional_language_model(30, embedding_dim=4, units=8, num_layers=1)
    assert ContextualEmbedding(narrow).num_mixed_layers == 1  # Left out by default.
    with pytest.raises(ValueError, match=r"embedding_dim == units.*Received: 4 and 8"):
        ContextualEmbedding(narrow, include_token_layer=True)


@pytest.mark.parametrize("trainable_bilm", [False, True])
def test_a_frozen_bilm_stays_put_and_a_trainable_one_is_fine_tuned(trainable_bilm):
    seqkit.set_seed(0)
    bilm = seqkit.build_bidirectional_language_model(30, embedding_dim=8, units=8, num_layers=1)
    layer = ContextualEmbedding(bilm, trainable_bilm=trainable_bilm)
    model = seqkit.build_classifier(30, embedding_dim=8, units=8, contextual_embedding=layer)
    seqkit.compile_classifier(model, learning_rate=0.05)
    before = [keras.ops.convert_to_numpy(w) for w in bilm.weights]
    mix_before = keras.ops.convert_to_numpy(layer.mix_logits)
    x = np.random.default_rng(0).integers(4, 30, (32, 6))
    model.fit(x, (x[:, 0] > 15).astype("float32"), epochs=1, verbose=0)
    moved = [not np.allclose(a, keras.ops.convert_to_numpy(b)) for a, b in zip(before, bilm.weights)]
    assert any(moved) == trainable_bilm
    assert not np.allclose(mix_before, keras.ops.convert_to_numpy(layer.mix_logits))  # The mix is always trained.


def test_a_tagger_with_contextual_features_saves_loads_and_exports(tmp_path, bilm):
    import tensorflow as tf

    tags = ["O", "B-PER", "I-PER"]
    model = seqkit.build_tagger(30, tags, char_encoder=None, casing_dim=0, units=4,
                                contextual_embedding=ContextualEmbedding(bilm, dropout=0.1))
    seqkit.compile_tagger(model)
    words = np.array([[5, 6, 7, 0], [8, 9, 10, 11]])
    expected = seqkit.decode_tags(model, {"words": words})
    model.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras")  # Compiled: the CRF loss binds to its layer.
    np.testing.assert_array_equal(seqkit.decode_tags(loaded, {"words": words}), expected)
    # The BiLM stays frozen: only the mix (2 variables) and the tagger's own weights train.
    contextual = next(layer for layer in loaded.layers if isinstance(layer, ContextualEmbedding))
    assert len(contextual.trainable_variables) == 2
    assert [v.path for v in loaded.trainable_variables] == [v.path for v in model.trainable_variables]
    emissions = keras.Model(model.input, model.get_layer("emissions").output)
    loaded_emissions = keras.Model(loaded.input, loaded.get_layer("emissions").output)
    np.testing.assert_allclose(emissions.predict(words, verbose=0), loaded_emissions.predict(words, verbose=0),
                               atol=1e-5)
    # The SavedModel traces the BiLM inside the tagger.
    module = tf.Module()
    module.model = model
    module.f = tf.function(lambda w: model(w, training=False), input_signature=[tf.TensorSpec((None, None), tf.int32)])
    tf.saved_model.save(module, str(tmp_path / "saved"))
    restored = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(restored.f(tf.constant(words, tf.int32)).numpy(), model.predict(words, verbose=0),
                               atol=1e-5)
    # The loaded tagger trains on, with the BiLM frozen.
    targets = np.array([[1, 2, 0, -1], [0, 0, 1, 2]])
    frozen = [v.numpy().copy() for v in contextual.non_trainable_weights]
    loaded.fit({"words": words}, targets, epochs=2, verbose=0)
    for before, variable in zip(frozen, contextual.non_trainable_weights):
        np.testing.assert_array_equal(variable.numpy(), before)


def test_a_char_aware_bilm_reads_the_taggers_characters():
    bilm = seqkit.build_bidirectional_language_model(30, embedding_dim=8, units=8, num_layers=1,
                                                     char_vocabulary_size=12, char_hidden_dim=6)
    assert sorted(bilm.input) == ["chars", "token_ids"]
    model = seqkit.build_tagger(30, ["O", "B-X"], char_vocabulary_size=12, casing_dim=0, units=4,
                                contextual_embedding=ContextualEmbedding(bilm))
    words = np.array([[5, 6, 0]])
    chars = np.array([[[3, 4, 0], [5, 0, 0], [0, 0, 0]]])
    assert seqkit.decode_tags(model, {"words": words, "chars": chars}).shape == (1, 3)
    with pytest.raises(ValueError, match="`chars` only with a character encoder"):
        seqkit.build_tagger(30, ["O", "B-X"], char_encoder=None, casing_dim=0, units=4,
                            contextual_embedding=ContextualEmbedding(bilm))


def test_a_bidirectional_classifier_started_from_a_bilm_computes_the_bilms_states(bilm):
    one_layer = seqkit.build_bidirectional_language_model(30, embedding_dim=8, units=8, num_layers=1)
    classifier = seqkit.build_classifier(30, embedding_dim=8, units=8, embedding_dropout=0.0)
    assert seqkit.initialize_from_language_model(classifier, one_layer) == ["token_embedding", "recurrent_stack"]
    ids = np.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    stack = keras.Model(classifier.input, classifier.get_layer("recurrent_stack").output)
    (token, _), (forward, backward) = layer_outputs(one_layer)
    states = keras.Model(one_layer.input, keras.layers.Concatenate()([forward, backward]))
    got, want = stack.predict(ids, verbose=0), states.predict({"token_ids": ids}, verbose=0)
    mask = ids > 0
    np.testing.assert_allclose(got[mask], want[mask], atol=1e-5)  # Keras' go_backwards == our reversed LM.
    np.testing.assert_array_equal(classifier.get_layer("token_embedding").embeddings,
                                  one_layer.get_layer("token_embedding").embeddings)


def test_a_unidirectional_classifier_starts_from_a_language_model_of_its_depth():
    lm = seqkit.build_language_model(30, embedding_dim=8, units=8, num_layers=2)
    classifier = seqkit.build_classifier(30, embedding_dim=8, units=8, num_layers=2, bidirectional=False)
    seqkit.initialize_from_language_model(classifier, lm)
    for target, source in zip(classifier.get_layer("recurrent_stack").weights, lm.get_layer("recurrent_stack").weights):
        np.testing.assert_array_equal(target, source)


@pytest.mark.parametrize("case, message", [
    ("two_layers", "only a one-layer bidirectional classifier"),
    ("width", "must match the language model's"),
    ("unidirectional_lm", "needs a bidirectional LM"),
    ("cell", "cell must match"),
])
def test_mismatched_initialization_is_a_clear_error(bilm, case, message):
    classifier_options = {"two_layers": dict(num_layers=2), "width": dict(embedding_dim=4),
                          "unidirectional_lm": {}, "cell": dict(cell="gru")}[case]
    classifier = seqkit.build_classifier(30, **{"embedding_dim": 8, "units": 8, **classifier_options})
    source = seqkit.build_language_model(30, embedding_dim=8, units=8, num_layers=1) if case == "unidirectional_lm" else bilm
    with pytest.raises(ValueError, match=message):
        seqkit.initialize_from_language_model(classifier, source)


def test_the_output_bias_starts_at_the_training_texts_unigram_log_frequencies():
    from seqkit.models.bilm import initialize_output_bias

    model = seqkit.build_bidirectional_language_model(8, embedding_dim=4, units=4, num_layers=1)
    model.get_layer("logits").kernel.assign(np.zeros((4, 8), "float32"))  # Scores come from the bias alone.
    rows = [[5, 5, 5, 6], [5, 7]]
    bias = initialize_output_bias(model, rows)
    counts = np.array([0, 0, 0, 0, 0, 4, 1, 1]) + 1.0  # Padding (0) is not counted; add-one smoothing.
    np.testing.assert_allclose(bias, np.log(counts / counts.sum()), rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("logits").bias.numpy(), bias)
    forward, _ = logits(model, [[5, 6]])
    np.testing.assert_allclose(forward[0, 0] - forward[0, 0].max(), np.log(counts / counts.max()), atol=1e-5)
    with pytest.raises(ValueError, match="must be < the vocabulary size 8. Received: id 9"):
        initialize_output_bias(model, [[5, 9]])


def test_contextual_features_can_also_join_the_taggers_output(tmp_path, bilm):
    layer = ContextualEmbedding(bilm)
    model = seqkit.build_tagger(30, ["O", "B-X"], char_encoder=None, casing_dim=0, units=4, output_dropout=0.0,
                                contextual_embedding=layer, contextual_at_output=True)
    # The emission layer reads the BiLSTM's 2 x 4 units and the mixed BiLM features, from the one BiLM call.
    assert model.get_layer("emissions").kernel.shape[0] == 8 + layer.output_dim
    words = np.array([[5, 6, 7, 0]])
    joined = keras.Model(model.input, model.get_layer("recurrent_and_contextual").output)
    features = keras.Model(model.input, layer.output)
    np.testing.assert_allclose(joined.predict({"words": words}, verbose=0)[..., 8:],
                               features.predict({"words": words}, verbose=0),
                               atol=1e-6)
    model.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras")
    np.testing.assert_array_equal(seqkit.decode_tags(loaded, {"words": words}), seqkit.decode_tags(model, {"words": words}))
    with pytest.raises(ValueError, match="`contextual_at_output=True` needs a `contextual_embedding`"):
        seqkit.build_tagger(30, ["O", "B-X"], char_encoder=None, casing_dim=0, units=4, contextual_at_output=True)
