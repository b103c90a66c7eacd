"""The sequence tagger: shapes, masking, decoding, training, saving, and its helpers."""

import keras
import numpy as np
import pytest

from seqkit.data import BucketedBatches
from seqkit.data.tag_schemes import bio_errors
from seqkit.layers import CharacterEncoder
from seqkit.metrics import entity_scores
from seqkit.models import WordDropout, build_tagger, compile_tagger, decode_tags, predict_tag_names
from seqkit.testing import run_layer_test
from seqkit.training import EntityF1, set_seed

TAGS = ["O", "B-X", "I-X", "B-Y", "I-Y"]
VOCAB, CHARS, CASINGS = 40, 20, 9
SMALL = dict(
    char_vocabulary_size=CHARS,
    casing_size=CASINGS,
    word_embedding_dim=8,
    char_embedding_dim=4,
    char_hidden_dim=5,
    casing_dim=3,
    units=6,
)


def features(words, seed=0):
    """Word ids plus random char and casing ids, 0 wherever the word is padding."""
    rng = np.random.default_rng(seed)
    words = np.asarray(words, "int32")
    present = words > 0
    chars = rng.integers(1, CHARS, words.shape + (5,)).astype("int32") * present[..., None]
    chars[..., 3:] *= rng.random(words.shape + (1,)) < 0.5  # Words of 3 or 5 characters.
    casing = rng.integers(1, CASINGS, words.shape).astype("int32") * present
    return {"words": words, "chars": chars, "casing": casing}


def random_words(rng, count, max_length, low=4):
    words = np.zeros((count, max_length), "int32")
    for row in range(count):
        length = rng.integers(1, max_length + 1)
        words[row, :length] = rng.integers(low, VOCAB, length)
    return words


def emissions(model, inputs):
    return keras.ops.convert_to_numpy(model({key: inputs[key] for key in model.input}, training=False))


def sharpen(model, seed=0):
    """Random, large emission and transition weights, so an untrained model decodes varied tags."""
    rng = np.random.default_rng(seed)
    dense = model.get_layer("emissions")
    kernel, bias = dense.get_weights()
    # The untrained recurrent outputs are small: a large kernel and no bias make them decide the tags.
    dense.set_weights([rng.normal(0, 30, kernel.shape).astype("float32"), np.zeros_like(bias)])
    for layer in model.layers:
        if layer.name == "crf":
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])


# === Shapes ===


@pytest.mark.parametrize(
    "options",
    [
        dict(output="crf", char_encoder="cnn"),
        dict(output="softmax", char_encoder="lstm"),
        dict(output="crf", char_encoder=None, casing_dim=0),
        dict(output="softmax", char_encoder=None),
        dict(output="crf", char_encoder="lstm", casing_dim=0, num_layers=2, cell="gru"),
    ],
    ids=lambda options: "-".join(f"{value}" for value in options.values()),
)
def test_output_shape_and_inputs(options):
    model = build_tagger(VOCAB, TAGS, **{**SMALL, **options})
    expected_inputs = {"words"}
    if options["char_encoder"]:
        expected_inputs.add("chars")
    if options.get("casing_dim", SMALL["casing_dim"]):
        expected_inputs.add("casing")
    assert set(model.input) == expected_inputs
    inputs = features(random_words(np.random.default_rng(0), 3, 7))
    assert emissions(model, inputs).shape == (3, 7, len(TAGS))
    assert any(layer.name == "crf" for layer in model.layers) == (options["output"] == "crf")


# === Padding changes nothing ===


@pytest.mark.parametrize("output, char_encoder", [("crf", "cnn"), ("softmax", "lstm")])
def test_padding_changes_nothing(output, char_encoder):
    set_seed(0)
    model = build_tagger(VOCAB, TAGS, output=output, char_encoder=char_encoder, **SMALL)
    sharpen(model)
    rng = np.random.default_rng(1)
    words = random_words(rng, 12, 9)
    words[:, :4] = rng.integers(4, VOCAB, (12, 4))  # Every sentence is at least 4 long.
    long = features(words)
    reference = {key: value[:, :4] for key, value in long.items()}  # The first 4 tokens alone, unpadded.
    padded = {key: np.concatenate([value, np.zeros_like(long[key][:, :5])], axis=1) for key, value in reference.items()}
    garbage = {key: value.copy() for key, value in long.items()}
    garbage["words"][:, 4:] = 0  # Padding by word id only: chars and casing still hold values.
    mixed = {key: np.concatenate([padded[key], long[key]]) for key in long}  # Batched with longer sentences.

    expected = emissions(model, reference)
    for name, inputs in [("padded", padded), ("garbage", garbage), ("mixed", mixed)]:
        np.testing.assert_allclose(emissions(model, inputs)[:12, :4], expected, atol=1e-5, err_msg=name)

    tags = decode_tags(model, reference)
    assert len(np.unique(tags)) >= 3, "the sharpened model should decode varied tags"
    for name, inputs in [("padded", padded), ("garbage", garbage), ("mixed", mixed)]:
        decoded = decode_tags(model, inputs)
        np.testing.assert_array_equal(decoded[:12, :4], tags, err_msg=name)
        np.testing.assert_array_equal(decoded[:12, 4:], 0, err_msg=name)
    # The longer sentences decode to 0 at their padding, and the batch size does not matter.
    decoded = decode_tags(model, long, batch_size=5)
    assert (decoded[words == 0] == 0).all()
    np.testing.assert_array_equal(decoded, decode_tags(model, long))


def test_decode_tags_of_no_sentences():
    model = build_tagger(VOCAB, TAGS, char_encoder=None, casing_dim=0, units=4, word_embedding_dim=4)
    assert decode_tags(model, {"words": np.zeros((0, 5), "int32")}).shape == (0, 5)


# === Constrained CRF ===


def test_constrained_crf_never_outputs_invalid_bio():
    rng = np.random.default_rng(0)
    inputs = {"words": random_words(rng, 64, 10)}
    results = {}
    for constrain in (True, False):
        set_seed(0)
        model = build_tagger(VOCAB, TAGS, char_encoder=None, casing_dim=0, units=4, word_embedding_dim=4, constrain_transitions=constrain)
        sharpen(model)
        crf = model.get_layer("crf")
        transitions, start, end = (keras.ops.convert_to_numpy(w) for w in (crf.transitions, crf.start_transitions, crf.end_transitions))
        # Learned scores that favour every forbidden move: I- tags at the start and after O or the other type.
        transitions[:, [2, 4]] += 5.0
        start[[2, 4]] += 5.0
        crf.set_weights([transitions, start, end])
        tags = decode_tags(model, inputs)
        lengths = (inputs["words"] > 0).sum(axis=1)
        results[constrain] = [bio_errors([TAGS[i] for i in row[:length]]) for row, length in zip(tags, lengths)]
    assert sum(map(len, results[False])) > 10, "the unconstrained control should break BIO"
    assert all(not errors for errors in results[True])


# === Training ===


def keyword_task(count, seed):
    """B-X on words 4-9, I-X when such a word follows another one, O elsewhere."""
    rng = np.random.default_rng(seed)
    words = random_words(rng, count, 8)
    entity = (words >= 4) & (words < 10)
    entity_after_entity = entity & np.concatenate([np.zeros((count, 1), bool), entity[:, :-1]], axis=1)
    tags = np.where(entity, 1, 0)
    tags = np.where(entity_after_entity, 2, tags)
    tags = np.where(words == 0, -1, tags).astype("int32")
    return words, tags


def tag_names(tags):
    return [[TAGS[i] for i in row if i >= 0] for row in tags]


@pytest.fixture(scope="module", params=["crf", "softmax"])
def trained(request):
    set_seed(0)
    model = build_tagger(
        VOCAB, TAGS[:3], char_encoder=None, casing_dim=0, word_embedding_dim=16, units=16,
        embedding_dropout=0.0, output_dropout=0.0, output=request.param,
    )
    compile_tagger(model, learning_rate=0.05, jit_compile=False)
    words, tags = keyword_task(192, seed=0)
    dev_words, dev_tags = keyword_task(40, seed=1)
    before = model.evaluate({"words": words}, tags, verbose=0)
    history = model.fit(
        {"words": words}, tags, epochs=10, batch_size=64, verbose=0,
        callbacks=[EntityF1({"words": dev_words}, tag_names(dev_tags), TAGS[:3])],
    )
    return model, before, history.history, (dev_words, dev_tags)


def test_fit_learns_the_task_and_decodes_the_gold_tags(trained):
    model, before, history, _ = trained
    assert history["loss"][-1] < 0.2 * before
    words, tags = keyword_task(60, seed=2)
    decoded = decode_tags(model, {"words": words})
    gold = np.where(tags < 0, 0, tags)
    assert (decoded == gold).mean() > 0.98
    assert (decoded[words == 0] == 0).all()
    predicted = predict_tag_names(model, {"words": words}, (words > 0).sum(axis=1), TAGS[:3])
    assert entity_scores(tag_names(tags), predicted)["f1"] > 0.95


def test_entity_f1_callback_logs_the_entity_f1(trained):
    model, _, history, (dev_words, dev_tags) = trained
    assert len(history["val_f1"]) == len(history["loss"])
    assert history["val_f1"][-1] > 0.9
    assert history["val_f1"][0] < history["val_f1"][-1]
    decoded = decode_tags(model, {"words": dev_words})
    predicted = [[TAGS[i] for i in row[:length]] for row, length in zip(decoded, (dev_words > 0).sum(axis=1))]
    scores = entity_scores(tag_names(dev_tags), predicted)
    assert history["val_f1"][-1] == pytest.approx(scores["f1"])
    assert history["val_token_accuracy"][-1] == pytest.approx(scores["token_accuracy"])
    # On its own, with a prefix.
    callback = EntityF1({"words": dev_words}, tag_names(dev_tags), TAGS[:3], prefix="dev")
    callback.set_model(model)
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs == {"dev_f1": pytest.approx(scores["f1"]), "dev_token_accuracy": pytest.approx(scores["token_accuracy"])}


def test_keras_round_trip_gives_identical_decodes(trained, tmp_path):
    model = trained[0]
    path = tmp_path / "tagger.keras"
    model.save(path)
    restored = keras.saving.load_model(path, compile=False)
    words, _ = keyword_task(30, seed=3)
    np.testing.assert_array_equal(decode_tags(restored, {"words": words}), decode_tags(model, {"words": words}))
    np.testing.assert_allclose(emissions(restored, {"words": words}), emissions(model, {"words": words}), atol=1e-6)


def test_a_saved_tagger_loads_compiled_and_trains_on(trained, tmp_path):
    """`keras.saving.load_model` without `compile=False`: the CRF loss binds to the loaded CRF layer."""
    model = trained[0]
    path = tmp_path / "tagger.keras"
    model.save(path)
    if model.get_layer("emissions") is not model.layers[-1]:  # A CRF on top: a fresh model of the same name first.
        build_tagger(VOCAB, TAGS[:3], char_encoder=None, casing_dim=0, word_embedding_dim=16, units=16)
    restored = keras.saving.load_model(path)
    if hasattr(model.loss, "crf"):
        assert restored.loss.crf is restored.layers[-1] and restored.loss.crf is not model.loss.crf
    words, tags = keyword_task(64, seed=4)
    expected = model.evaluate({"words": words}, tags, verbose=0)
    assert restored.evaluate({"words": words}, tags, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = restored.fit({"words": words}, tags, epochs=2, batch_size=64, verbose=0).history
    assert np.isfinite(history["loss"]).all()


# === Character encoder ===


@pytest.mark.parametrize("encoder, width", [("cnn", 6), ("lstm", 10)])
def test_character_encoder_layer(encoder, width):
    chars = np.array([[[4, 5, 6, 0], [7, 0, 0, 0], [0, 0, 0, 0]], [[8, 9, 10, 11], [0, 0, 0, 0], [0, 0, 0, 0]]], "int32")
    output = run_layer_test(
        CharacterEncoder,
        {"vocabulary_size": 12, "encoder": encoder, "embedding_dim": 4, "hidden_dim": 6 if encoder == "cnn" else 5},
        chars,
        (2, 3, width),
        expected_num_trainable_weights=3 if encoder == "cnn" else 7,
    )
    # A word with no characters encodes to zeros; words with characters do not.
    np.testing.assert_array_equal(output[0, 2], 0)
    np.testing.assert_array_equal(output[1, 1:], 0)
    assert (np.abs(output[:, 0]).sum(axis=-1) > 0).all()
    assert np.abs(output[0, 1]).sum() > 0


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_character_encoder_ignores_padding_characters(encoder):
    set_seed(0)
    layer = CharacterEncoder(12, encoder, embedding_dim=4, hidden_dim=5)
    short = keras.ops.convert_to_numpy(layer(np.array([[[4, 5, 6]]], "int32")))
    padded = keras.ops.convert_to_numpy(layer(np.array([[[4, 5, 6, 0, 0, 0]]], "int32")))
    np.testing.assert_allclose(short, padded, atol=1e-6)


def test_character_encoder_rejects_unknown_encoders():
    with pytest.raises(ValueError, match="Received: encoder='gru'"):
        CharacterEncoder(10, "gru")


# === Word dropout ===


def test_word_dropout_is_identity_at_inference():
    ids = np.array([[5, 6, 1, 0], [9, 0, 0, 0]], "int32")
    layer = WordDropout(0.5, seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids, training=False)), ids)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids)), ids)


def test_word_dropout_in_training():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, (200, 50)).astype("int32")
    dropped = keras.ops.convert_to_numpy(WordDropout(0.5, seed=3)(ids, training=True))
    assert dropped.dtype == ids.dtype
    content = ids > 1
    replaced = dropped != ids
    assert (dropped[replaced] == 1).all()
    assert not replaced[~content].any()  # 0 (padding) and 1 (<unk>) never change.
    assert 0.45 < replaced[content].mean() < 0.55
    np.testing.assert_array_equal(dropped[~replaced], ids[~replaced])


def test_word_dropout_config_and_validation():
    layer = WordDropout(0.25, seed=7, name="wd")
    clone = WordDropout.from_config(layer.get_config())
    assert (clone.rate, clone.seed, clone.name) == (0.25, 7, "wd")
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="rate"):
            WordDropout(bad)


def test_word_dropout_in_the_tagger():
    options = dict(char_encoder=None, casing_dim=0, units=4, word_embedding_dim=4, embedding_dropout=0.0, output_dropout=0.0)
    model = build_tagger(VOCAB, TAGS, word_dropout=0.3, **options)
    assert model.get_layer("word_dropout").rate == 0.3
    inputs = {"words": random_words(np.random.default_rng(0), 4, 6)}
    inference = emissions(model, inputs)
    np.testing.assert_array_equal(emissions(model, inputs), inference)
    # With no other dropout, only the word dropout makes training differ from inference.
    training = keras.ops.convert_to_numpy(model(inputs, training=True))
    assert not np.allclose(training, inference)
    plain = build_tagger(VOCAB, TAGS, **options)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(plain(inputs, training=True)), inference, atol=1e-6)


# === Arguments ===


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"output": "hmm"}, r"`output` must be one of \('crf', 'softmax'\). Received: output='hmm'"),
        ({"char_vocabulary_size": None}, "char_vocabulary_size"),
        ({"casing_size": None}, "casing_size"),
        ({"word_vocabulary_size": 4}, "Received: 4"),
        ({"tag_names": ["O", "O"]}, "distinct"),
        ({"tag_names": []}, "non-empty"),
        ({"embedding_matrix": np.zeros((VOCAB - 1, 8))}, r"= \(40, 8\). Received: shape=\(39, 8\)"),
        ({"embedding_matrix": np.zeros((VOCAB, 7))}, r"= \(40, 8\). Received: shape=\(40, 7\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    arguments = {"word_vocabulary_size": VOCAB, "tag_names": TAGS, **SMALL, **kwargs}
    with pytest.raises(ValueError, match=message):
        build_tagger(**arguments)


def test_optional_features_need_no_sizes():
    model = build_tagger(VOCAB, TAGS, char_encoder=None, casing_dim=0, units=4, word_embedding_dim=4)
    assert set(model.input) == {"words"}


def test_embedding_matrix_is_used():
    matrix = np.random.default_rng(0).normal(size=(VOCAB, 8)).astype("float32")
    model = build_tagger(VOCAB, TAGS, embedding_matrix=matrix, trainable_embeddings=False, **SMALL)
    layer = model.get_layer("word_embedding")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.embeddings), matrix)
    assert not layer.trainable
    assert model.get_layer("word_embedding").trainable_weights == []


# === Bucketed batches ===


def bucketing_data(count=53, width=12, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, width + 1, count)
    words = np.zeros((count, width), "int32")
    targets = np.full((count, width), -1, "int32")
    for row, length in enumerate(lengths):
        words[row, :length] = 1000 * row + np.arange(1, length + 1)  # The row and position, readable back.
        targets[row, :length] = row
    chars = np.repeat(words[..., None], 3, axis=-1)
    return {"words": words, "chars": chars}, targets, lengths


def test_bucketed_batches_cover_every_row_once_per_epoch():
    inputs, targets, lengths = bucketing_data()
    batches = BucketedBatches(inputs, targets, lengths, batch_size=8, pool_batches=2, seed=1)
    assert len(batches) == 7
    for _ in range(2):
        seen = []
        for index in range(len(batches)):
            batch_inputs, batch_targets = batches[index]
            words = batch_inputs["words"]
            rows = words[:, 0] // 1000
            seen.extend(rows.tolist())
            # Cut to the longest row of the batch.
            assert words.shape[1] == lengths[rows].max()
            assert batch_inputs["chars"].shape == words.shape + (3,)
            assert batch_targets.shape == words.shape
            # Targets stay aligned with their inputs, padding -1 where the words are 0.
            np.testing.assert_array_equal(batch_targets == -1, words == 0)
            np.testing.assert_array_equal(np.where(words > 0, words // 1000, -1), batch_targets)
            np.testing.assert_array_equal(batch_inputs["chars"][..., 2], words)
        assert sorted(seen) == list(range(53))
        batches.on_epoch_end()


def test_bucketed_batches_sort_by_length_within_pools():
    inputs, targets, lengths = bucketing_data(count=200)
    batches = BucketedBatches(inputs, targets, lengths, batch_size=10, pool_batches=20)
    # One pool holds every row, so batches are consecutive runs of the sorted lengths.
    padding = sum(batch[0]["words"].size - (batch[0]["words"] > 0).sum() for batch in batches)
    unsorted = sum(10 * lengths[start : start + 10].max() - lengths[start : start + 10].sum() for start in range(0, 200, 10))
    assert padding < unsorted / 3
    first = [tuple(batches[i][0]["words"][:, 0] // 1000) for i in range(len(batches))]
    batches.on_epoch_end()
    second = [tuple(batches[i][0]["words"][:, 0] // 1000) for i in range(len(batches))]
    assert first != second  # Reshuffled every epoch.


def test_bucketed_batches_without_shuffle_keep_order():
    inputs, targets, lengths = bucketing_data(count=10)
    batches = BucketedBatches(inputs, None, lengths, batch_size=4, shuffle=False)
    rows = [batch[0]["words"][:, 0] // 1000 for batch in batches]
    assert [row.tolist() for row in rows] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert all(len(batch) == 1 for batch in batches)  # Inputs only.
    assert [batch[0]["words"].shape[1] for batch in batches] == [lengths[0:4].max(), lengths[4:8].max(), lengths[8:].max()]


def test_bucketed_batches_docstring_example_and_empty_rows():
    words = np.array([[4, 5, 6], [7, 0, 0], [8, 9, 0]])
    batches = BucketedBatches({"words": words}, None, lengths=[3, 1, 2], batch_size=2, shuffle=False)
    assert [batch[0]["words"].shape for batch in batches] == [(2, 3), (1, 2)]
    empty = BucketedBatches({"words": np.zeros((2, 4), "int32")}, None, lengths=[0, 0], batch_size=2)
    assert empty[0][0]["words"].shape == (2, 1)  # At least one step.


def test_bucketed_batches_keep_one_label_per_sentence_whole():
    words = np.array([[4, 5, 6, 0], [7, 0, 0, 0], [8, 9, 0, 0]])
    labels = np.array([1, 0, 1])
    batches = BucketedBatches({"words": words}, labels, lengths=[3, 1, 2], batch_size=2, shuffle=False)
    assert [(batch[0]["words"].shape, batch[1].tolist()) for batch in batches] == [((2, 3), [1, 0]), ((1, 2), [1])]
    both = BucketedBatches({"words": words}, {"label": labels, "tags": words}, lengths=[3, 1, 2], batch_size=3,
                           shuffle=False)
    assert both[0][1]["label"].tolist() == [1, 0, 1] and both[0][1]["tags"].shape == (3, 3)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data is how Keras feeds it on TensorFlow")
def test_bucketed_batches_reach_fit_without_tf_data_autotuning():
    # Autotuning makes every epoch's end wait for its thread (see `seqkit.data.pipeline.prefetch`).
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    words = np.array([[4, 5, 6], [7, 0, 0], [8, 9, 0]])
    batches = BucketedBatches({"words": words}, words, lengths=[3, 1, 2], batch_size=2)
    dataset = PyDatasetAdapter(batches, shuffle=False).get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    explicit = BucketedBatches({"words": words}, words, lengths=[3, 1, 2], batch_size=2, workers=1)
    assert PyDatasetAdapter(explicit, shuffle=False).get_tf_dataset().options().autotune.enabled is not False


@pytest.mark.parametrize(
    "rows",
    [
        {"inputs": 5, "targets": 5, "lengths": 4},
        {"inputs": 5, "targets": 4, "lengths": 5},
        {"inputs": 4, "targets": None, "lengths": 5},
    ],
)
def test_bucketed_batches_reject_mismatched_sizes(rows):
    inputs = {"words": np.ones((rows["inputs"], 3), "int32")}
    targets = None if rows["targets"] is None else np.zeros((rows["targets"], 3), "int32")
    with pytest.raises(ValueError, match=r"same number of rows. Received: \[4, 5\]"):
        BucketedBatches(inputs, targets, [3] * rows["lengths"])


def test_concatenate_padded_pads_each_array_to_the_longest():
    from seqkit.data import concatenate_padded

    chars = [np.ones((2, 3, 4), "int32"), np.full((1, 5, 4), 2, "int32")]
    joined = concatenate_padded(chars)
    assert joined.shape == (3, 5, 4) and joined.dtype == np.int32
    assert joined[:2, 3:].max() == 0 and (joined[:2, :3] == 1).all() and (joined[2] == 2).all()
    tags = concatenate_padded([np.zeros((1, 2), "int32"), np.zeros((1, 1), "int32")], fill=-1)
    assert tags.tolist() == [[0, 0], [0, -1]]
