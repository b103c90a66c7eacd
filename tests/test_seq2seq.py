import itertools
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import seqkit  # noqa: F401  (registers the layers for `load_model`)
from conftest import REPO
from seqkit.layers import DecoderBridge
from seqkit.models.seq2seq import attention_model, build_seq2seq, compile_seq2seq, decode_step, encode

TINY = {"embedding_dim": 6, "units": 8, "attention_units": 5}
# Right-padded batches: source lengths 4, 3, 6 and 1; target lengths 5, 4, 5 and 2.
SOURCE = np.array([[5, 6, 7, 8, 0, 0], [8, 9, 4, 0, 0, 0], [4, 5, 6, 7, 8, 9], [11, 0, 0, 0, 0, 0]], "int32")
TARGET = np.array([[2, 5, 6, 9, 4], [2, 7, 4, 10, 0], [2, 4, 4, 4, 4], [2, 6, 0, 0, 0]], "int32")
LABELS = np.array([[5, 6, 9, 4, 3], [7, 4, 10, 3, 0], [4, 4, 4, 4, 3], [6, 3, 0, 0, 0]], "int32")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def logits_of(model, source=SOURCE, target=TARGET):
    return numpy(model({"source_ids": source, "target_ids": target}))


# === Every configuration builds ===


@pytest.mark.parametrize(
    "attention,initial_state,cell",
    list(itertools.product(("bahdanau", "luong_dot", "luong_general", "none"), ("zeros", "final", "backward_first"),
                           ("lstm", "gru"))),
)
def test_every_configuration_builds(attention, initial_state, cell):
    kwargs = dict(attention=attention, decoder_initial_state=initial_state, cell=cell, **TINY)
    if attention == "luong_dot" and initial_state == "backward_first":
        # Luong dot needs a unidirectional encoder, backward_first a bidirectional one.
        for bidirectional in (True, False):
            with pytest.raises(ValueError, match="bidirectional"):
                build_seq2seq(12, 11, bidirectional=bidirectional, **kwargs)
        return
    model = build_seq2seq(12, 11, bidirectional=attention != "luong_dot", **kwargs)
    logits = logits_of(model)
    assert logits.shape == (4, 5, 11)
    assert np.isfinite(logits).all()
    # The decoder reads the source in every configuration ("none" through its fixed summary).
    other = logits_of(model, source=np.where(SOURCE > 0, 15 - SOURCE, 0))
    assert np.abs(other - logits).max() > 1e-6


def test_invalid_combinations_say_why():
    with pytest.raises(ValueError, match="luong_general.*bidirectional=False"):
        build_seq2seq(12, 11, attention="luong_dot", bidirectional=True, **TINY)
    # With bidirectional=False, the widths match: this one builds.
    build_seq2seq(12, 11, attention="luong_dot", bidirectional=False, **TINY)
    with pytest.raises(ValueError, match="backward_first.*needs a bidirectional encoder"):
        build_seq2seq(12, 11, decoder_initial_state="backward_first", bidirectional=False, **TINY)
    for kwargs, message in (({"attention": "cosine"}, "attention"), ({"decoder_initial_state": "last"}, "initial_state"),
                            ({"cell": "simple"}, "cell")):
        with pytest.raises(ValueError, match=message):
            build_seq2seq(12, 11, **kwargs, **TINY)
    with pytest.raises(ValueError, match="target_vocabulary_size"):
        build_seq2seq(12, 4, **TINY)


# === Teacher forcing and one step at a time agree ===


@pytest.mark.parametrize(
    "kwargs",
    [{"attention": "bahdanau", "input_feeding": True},
     {"attention": "luong_general", "decoder_layers": 2, "cell": "gru", "decoder_initial_state": "backward_first"},
     {"attention": "luong_dot", "bidirectional": False, "encoder_layers": 2, "input_feeding": True}],
    ids=["bahdanau_input_feeding", "luong_general_2_layers", "luong_dot_unidirectional"],
)
def test_step_by_step_decoding_matches_teacher_forcing(kwargs):
    keras.utils.set_random_seed(0)
    model = build_seq2seq(12, 11, **TINY, **kwargs)
    expected = logits_of(model)
    _, expected_weights = attention_model(model)({"source_ids": SOURCE, "target_ids": TARGET})
    values, keys, source_mask, carry = encode(model, SOURCE)
    steps, weights = [], []
    for t in range(TARGET.shape[1]):
        logits, step_weights, carry = decode_step(model, TARGET[:, t], carry, values, keys, source_mask)
        steps.append(numpy(logits))
        weights.append(numpy(step_weights))
    np.testing.assert_allclose(np.stack(steps, 1), expected, atol=1e-5)
    np.testing.assert_allclose(np.stack(weights, 1), numpy(expected_weights), atol=1e-5)


# === Masks ===


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"attention": "luong_general", "cell": "gru", "decoder_initial_state": "final"},
     {"attention": "luong_dot", "bidirectional": False}, {"attention": "none", "decoder_initial_state": "backward_first"}],
    ids=["bahdanau", "luong_general", "luong_dot", "none"],
)
def test_source_padding_changes_nothing(kwargs):
    keras.utils.set_random_seed(0)
    model = build_seq2seq(12, 11, **TINY, **kwargs)
    padded = np.pad(SOURCE, ((0, 0), (0, 3)))
    np.testing.assert_allclose(logits_of(model, source=padded), logits_of(model), atol=1e-5)


def masked_cross_entropy(logits, labels):
    log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probabilities, labels[..., None], -1)[..., 0]
    return -picked[labels > 0].mean()


def test_padded_target_steps_add_nothing_to_the_loss():
    keras.utils.set_random_seed(0)
    model = compile_seq2seq(build_seq2seq(12, 11, **TINY))
    inputs = {"source_ids": SOURCE, "target_ids": TARGET}
    result = model.evaluate(inputs, LABELS, batch_size=4, verbose=0, return_dict=True)
    expected = masked_cross_entropy(logits_of(model).astype("float64"), LABELS)
    accuracy = (logits_of(model).argmax(-1) == LABELS)[LABELS > 0].mean()
    assert result["loss"] == pytest.approx(expected, rel=1e-5), "padded target steps count in the loss"
    assert result["token_accuracy"] == pytest.approx(accuracy, abs=1e-6), "padded target steps count in the accuracy"
    # More padding columns: the same loss.
    padded = {"source_ids": SOURCE, "target_ids": np.pad(TARGET, ((0, 0), (0, 3)))}
    padded_result = model.evaluate(padded, np.pad(LABELS, ((0, 0), (0, 3))), batch_size=4, verbose=0, return_dict=True)
    assert padded_result["loss"] == pytest.approx(result["loss"], rel=1e-5)
    assert padded_result["token_accuracy"] == pytest.approx(result["token_accuracy"], abs=1e-6)


# === The decoder's initial state ===


def test_bridge_final_reads_each_rows_last_real_token_forward_and_first_token_backward():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 5, 6)).astype("float32")  # Forward half 0:3, backward half 3:6.
    mask = np.arange(5)[None] < np.array([5, 2, 1])[:, None]
    bridge = DecoderBridge("final", units=2, num_layers=2, states_per_layer=2, bidirectional=True)
    bridge.build(values.shape, mask.shape)
    kernels = [np.linspace(-1, 1, 12).reshape(6, 2).astype("float32"), np.linspace(0.7, -0.5, 12).reshape(6, 2).astype("float32")]
    biases = [np.array([0.1, -0.3], "float32"), np.array([0.0, 0.2], "float32")]
    for projection, kernel, bias in zip(bridge.projections, kernels, biases):
        projection.kernel.assign(kernel)
        projection.bias.assign(bias)
    states = [numpy(s) for s in bridge(values, mask)]
    lengths = mask.sum(1)
    source = np.concatenate([values[np.arange(3), lengths - 1, :3], values[:, 0, 3:]], -1)
    assert len(states) == 4  # [h, c] per LSTM layer; c starts at zero.
    for layer in range(2):
        np.testing.assert_allclose(states[2 * layer], np.tanh(source @ kernels[layer] + biases[layer]), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(states[2 * layer + 1], 0.0)

    # Unidirectional: the whole state at the last real token.
    bridge = DecoderBridge("final", units=2, num_layers=1, states_per_layer=1, bidirectional=False)
    bridge.build(values.shape, mask.shape)
    bridge.projections[0].kernel.assign(kernels[0])
    bridge.projections[0].bias.assign(biases[0])
    (state,) = bridge(values, mask)
    expected = np.tanh(values[np.arange(3), lengths - 1] @ kernels[0] + biases[0])
    np.testing.assert_allclose(numpy(state), expected, rtol=1e-5, atol=1e-6)

    # backward_first: the backward half at the first token only.
    bridge = DecoderBridge("backward_first", units=2, num_layers=1, states_per_layer=1, bidirectional=True)
    bridge.build(values.shape, mask.shape)
    bridge.projections[0].kernel.assign(kernels[0][:3])
    bridge.projections[0].bias.assign(biases[0])
    (state,) = bridge(values, mask)
    np.testing.assert_allclose(numpy(state), np.tanh(values[:, 0, 3:] @ kernels[0][:3] + biases[0]), rtol=1e-5, atol=1e-6)

    zeros = DecoderBridge("zeros", units=2, num_layers=2, states_per_layer=2)(values, mask)
    assert len(zeros) == 4 and all(np.all(numpy(z) == 0) for z in zeros)
    with pytest.raises(ValueError, match="mode"):
        DecoderBridge("first")


# === Learning: reversing a sequence needs attention ===


def reverse_task(count, rng, vocabulary=14, max_length=6):
    """Sources of 3-6 tokens (ids 4..13); targets reversed, then <eos> (3); decoder inputs start with <bos> (2)."""
    lengths = rng.integers(3, max_length + 1, count)
    source = np.zeros((count, max_length), "int32")
    target_in = np.zeros((count, max_length + 1), "int32")
    target_out = np.zeros((count, max_length + 1), "int32")
    for row, length in enumerate(lengths):
        tokens = rng.integers(4, vocabulary, length)
        source[row, :length] = tokens
        target_in[row, 0] = 2
        target_in[row, 1 : length + 1] = tokens[::-1]
        target_out[row, :length] = tokens[::-1]
        target_out[row, length] = 3
    return {"source_ids": source, "target_ids": target_in}, target_out


def test_no_attention_reads_one_summary_the_mean_of_the_real_source_states():
    from seqkit.layers import AttentionDecoder

    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 5, 6)).astype("float32")
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    decoder = AttentionDecoder("gru", units=4, attention="none")
    outputs, weights = decoder(rng.normal(size=(2, 3, 4)).astype("float32"), values, source_mask=mask)
    expected = np.array([[0.2] * 5, [1 / 3] * 3 + [0, 0]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), np.repeat(expected[:, None], 3, 1), atol=1e-6)
    summary = keras.ops.convert_to_numpy(decoder.keys(values, mask))
    np.testing.assert_allclose(summary, [values[0].mean(0), values[1, :3].mean(0)], atol=1e-6)
    # Padding states are outside the summary; moving a real one changes every step.
    padded, moved = values.copy(), values.copy()
    padded[1, 3:] += 5.0
    moved[1, 0] += 5.0
    for changed, differs in ((padded, False), (moved, True)):
        other, _ = decoder(np.zeros((2, 3, 4), "float32"), changed, source_mask=mask)
        base, _ = decoder(np.zeros((2, 3, 4), "float32"), values, source_mask=mask)
        delta = np.abs(keras.ops.convert_to_numpy(other) - keras.ops.convert_to_numpy(base))[1]
        assert (delta.min(-1) > 1e-6).all() if differs else delta.max() < 1e-6


def test_attention_learns_to_reverse_and_beats_no_attention():
    rng = np.random.default_rng(0)
    train_inputs, train_labels = reverse_task(1000, rng)
    validation_inputs, validation_labels = reverse_task(300, rng)
    accuracy = {}
    for attention in ("bahdanau", "none"):
        keras.utils.set_random_seed(0)
        # A unidirectional GRU encoder keeps it fast (about 5 s a model on 2 CPU cores).
        model = build_seq2seq(14, 14, embedding_dim=16, units=32, attention_units=32, attention=attention, cell="gru",
                              bidirectional=False)
        compile_seq2seq(model, learning_rate=3e-3)
        model.fit(train_inputs, train_labels, batch_size=16, epochs=4, verbose=0)
        predicted = model.predict(validation_inputs, batch_size=300, verbose=0).argmax(-1)
        real = validation_labels > 0  # Real target steps and <eos>, whatever the loss does with padding.
        accuracy[attention] = float((predicted == validation_labels)[real].mean())
    # Measured with seeds 0, 1, 2: 1.0 with Bahdanau (final losses 0.05-0.11), 0.71-0.72 without
    # (one summary of the source for every step; final losses 0.88-0.92).
    assert accuracy["bahdanau"] > 0.9, accuracy
    assert accuracy["none"] < 0.8 and accuracy["bahdanau"] - accuracy["none"] > 0.2, accuracy


# === Saving, attention weights ===


def test_save_and_load_give_identical_logits(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_seq2seq(12, 11, attention="luong_general", cell="gru", decoder_layers=2, input_feeding=True, **TINY)
    expected = logits_of(model)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(logits_of(restored), expected)


def test_translate_compiles_its_decoder_once_per_model_and_setting():
    from seqkit.data import TextPreprocessor, Vocabulary
    from seqkit.translation import translate

    source = TextPreprocessor("char", Vocabulary.build([list("abcdef")]))
    target = Vocabulary.build([list("uvwxyz")])
    model = build_seq2seq(source.vocabulary.size, target.size, **TINY)
    texts = ["abc", "fed", "", "a" * 9]
    first = translate(model, source, target, texts, level="char", num_beams=1, max_length=6)
    decoders = model.__dict__["_seqkit_decoders"]
    assert len(decoders) == 1
    traces = next(iter(decoders.values())).experimental_get_tracing_count()
    second = translate(model, source, target, texts[::-1], level="char", num_beams=1, max_length=6)
    assert next(iter(decoders.values())).experimental_get_tracing_count() == traces  # No new trace.
    assert second[0] == first[0][::-1] and first[0][2] == ""
    translate(model, source, target, texts, level="char", num_beams=2, max_length=6)
    assert len(decoders) == 2  # Beam search is a decoder of its own.


def test_attention_model_weights_are_a_distribution_over_real_source_steps():
    keras.utils.set_random_seed(0)
    model = build_seq2seq(12, 11, **TINY)
    logits, weights = attention_model(model)({"source_ids": SOURCE, "target_ids": TARGET})
    weights = numpy(weights)
    assert weights.shape == (4, 5, 6)
    np.testing.assert_allclose(numpy(logits), logits_of(model), atol=1e-6)
    real = SOURCE > 0
    np.testing.assert_allclose((weights * real[:, None]).sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights * ~real[:, None] < 1e-6)
    assert np.all(weights[:, :, 0][real.sum(1) > 1] < 1.0 - 1e-6)  # Spread over the real steps, not one-hot.


# === JAX, without TensorFlow ===

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.modules["tensorflow"] = None  # As on a machine without TensorFlow: importing it fails.
    import numpy as np
    import keras
    from seqkit.models.seq2seq import build_seq2seq, compile_seq2seq

    keras.utils.set_random_seed(0)
    model = compile_seq2seq(build_seq2seq(12, 11, embedding_dim=6, units=8, attention_units=5), learning_rate=0.01)
    inputs = {"source_ids": np.array(SOURCE, "int32"), "target_ids": np.array(TARGET, "int32")}
    losses = [float(model.train_on_batch(inputs, np.array(LABELS, "int32"))[0]) for _ in range(5)]
    print(json.dumps({"backend": keras.backend.backend(), "losses": losses}))
    """
)


@pytest.mark.slow  # Default-run budget (10 min on 2 cores); `pytest -m slow` runs it.
def test_seq2seq_trains_on_jax_without_tensorflow():
    pytest.importorskip("jax")
    script = JAX_SCRIPT.replace("SOURCE", str(SOURCE.tolist())).replace("TARGET", str(TARGET.tolist()))
    script = script.replace("LABELS", str(LABELS.tolist()))
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environment, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    losses = report["losses"]
    assert np.all(np.isfinite(losses)), losses
    assert 0.5 * np.log(11) < losses[0] < 2 * np.log(11), losses  # About log(vocabulary) at the start.
    assert losses[-1] < losses[0], losses  # Gradients reach the weights: the same batch gets easier.
