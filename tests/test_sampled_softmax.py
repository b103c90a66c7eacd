"""Sampled softmax: exact in evaluation, the sampled estimate in training, and a BiLM trained with it."""

import math

import keras
import numpy as np
import pytest

import seqkit
from seqkit.layers import SampledSoftmaxLoss, mean_token_loss
from seqkit.models.bilm import sampled_softmax_model


def dense(vocabulary_size, dim, seed=0):
    layer = keras.layers.Dense(vocabulary_size)
    layer.build((None, dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(size=(dim, vocabulary_size)).astype("float32"),
                       rng.normal(size=(vocabulary_size,)).astype("float32")])
    return layer


def log_expected_count(ids, vocabulary_size, num_sampled):
    ids = np.asarray(ids, "float64")
    return np.log(num_sampled * np.log((ids + 2) / (ids + 1)) / np.log(vocabulary_size + 1))


def test_evaluation_is_the_full_softmax_cross_entropy_and_padding_is_zero():
    layer = dense(40, 6)
    hidden = np.random.default_rng(1).normal(size=(2, 3, 6)).astype("float32")
    targets = np.array([[5, 39, 0], [1, 0, 0]])
    losses = SampledSoftmaxLoss(layer, num_sampled=4)(hidden, targets).numpy()
    logits = hidden @ layer.kernel.numpy() + layer.bias.numpy()
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0] * (targets != 0)
    np.testing.assert_allclose(losses, expected, rtol=1e-5, atol=1e-5)


def test_the_sampled_loss_matches_a_hand_computed_one_with_accidental_hits_removed():
    vocabulary_size, num_sampled = 40, 3
    layer = dense(vocabulary_size, 6)
    loss = SampledSoftmaxLoss(layer, num_sampled=num_sampled)
    hidden = np.random.default_rng(2).normal(size=(1, 2, 6)).astype("float32")
    targets, sampled = np.array([[7, 12]]), np.array([3, 12, 30])  # 12 is the second token's own target.
    got = loss.sampled_losses(hidden, targets, sampled).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    for t, target in enumerate(targets[0]):
        true = hidden[0, t] @ kernel[:, target] + bias[target] - log_expected_count(target, vocabulary_size, num_sampled)
        negatives = [hidden[0, t] @ kernel[:, s] + bias[s] - log_expected_count(s, vocabulary_size, num_sampled)
                     for s in sampled if s != target]
        expected = np.log(np.exp([true, *negatives]).sum()) - true
        np.testing.assert_allclose(got[0, t], expected, rtol=1e-5)


def test_samples_follow_the_log_uniform_proposal():
    vocabulary_size = 20
    loss = SampledSoftmaxLoss(dense(vocabulary_size, 2), num_sampled=50_000, seed=0)
    ids = keras.ops.convert_to_numpy(loss.sample())
    assert ids.min() >= 0 and ids.max() < vocabulary_size
    frequencies = np.bincount(ids, minlength=vocabulary_size) / ids.size
    ranks = np.arange(vocabulary_size)
    proposal = np.log((ranks + 2) / (ranks + 1)) / math.log(vocabulary_size + 1)
    np.testing.assert_allclose(proposal.sum(), 1.0, rtol=1e-6)
    assert np.abs(frequencies - proposal).sum() / 2 < 0.02  # Total variation distance.
    assert frequencies[0] > 5 * frequencies[-1]  # Frequent (low) ids are drawn far more often.


def test_a_training_step_touches_only_the_targets_and_sampled_words_output_weights():
    import tensorflow as tf

    layer = dense(200, 4)
    loss = SampledSoftmaxLoss(layer, num_sampled=5)
    hidden = tf.constant(np.random.default_rng(3).normal(size=(1, 2, 4)).astype("float32"))
    sampled = np.array([0, 1, 2, 3, 150])
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(loss.sampled_losses(hidden, np.array([[40, 60]]), sampled))
    kernel_gradient = tf.convert_to_tensor(tape.gradient(value, layer.kernel)).numpy()
    touched = np.flatnonzero(np.abs(kernel_gradient).sum(axis=0))
    assert touched.tolist() == [0, 1, 2, 3, 40, 60, 150]


def test_config_round_trip_and_bad_arguments():
    layer = SampledSoftmaxLoss(dense(30, 4), num_sampled=16, seed=3, name="loss")
    restored = SampledSoftmaxLoss.from_config(layer.get_config())
    assert (restored.num_sampled, restored.seed, restored.output_layer.units) == (16, 3, 30)
    with pytest.raises(ValueError, match="num_sampled"):
        SampledSoftmaxLoss(dense(30, 4), num_sampled=0)
    with pytest.raises(ValueError, match="Dense"):
        SampledSoftmaxLoss(keras.layers.Identity())


def test_mean_token_loss_averages_over_real_targets_only():
    value = mean_token_loss(np.array([[3, 4, 0]]), np.array([[1.0, 2.0, 9.0]], "float32"))
    assert float(value) == pytest.approx(1.5)


def test_a_bilm_trained_with_a_sampled_softmax_learns_both_directions():
    seqkit.set_seed(0)
    vocabulary_size = 40  # Counting over ids 4-19; the others only ever appear as sampled negatives.
    model = seqkit.build_bidirectional_language_model(vocabulary_size, embedding_dim=16, units=16, num_layers=1)
    seqkit.compile_bidirectional_language_model(model, learning_rate=0.02)
    before = [weight.copy() for weight in model.get_weights()]
    rows = [[4 + (start + step) % 16 for step in range(8)] for start in range(64)]
    report = seqkit.models.bilm.train_bidirectional_language_model(
        model, rows, rows[:16], epochs=20, batch_size=16, verbose=0, num_sampled=20
    )
    assert report["num_sampled"] == 20 and "forward_perplexity" not in report  # No training perplexity when sampled.
    # Dev perplexities are exact (full softmax over 40 ids), and far below uniform.
    assert report["val_forward_perplexity"] < 2 and report["val_backward_perplexity"] < 2
    assert all(np.abs(a - b).max() > 0 for a, b in zip(before, model.get_weights()))  # The BiLM itself was trained.
    outputs = model.predict({"token_ids": np.array([[4, 5, 6, 7]])}, verbose=0)
    assert outputs["forward"][0, :3].argmax(-1).tolist() == [5, 6, 7]
    assert outputs["backward"][0, 1:].argmax(-1).tolist() == [4, 5, 6]


def test_the_sampled_view_shares_the_bilms_weights_and_needs_a_compiled_bilm():
    model = seqkit.build_bidirectional_language_model(50, embedding_dim=8, units=8, num_layers=2)
    view = sampled_softmax_model(model, num_sampled=10)
    assert {id(w) for w in view.trainable_weights} == {id(w) for w in model.trainable_weights}
    with pytest.raises(ValueError, match="Compile the BiLM"):
        seqkit.models.bilm.train_bidirectional_language_model(model, [[5, 6, 7]], num_sampled=10, verbose=0)
    with pytest.raises(ValueError, match="build_bidirectional_language_model"):
        sampled_softmax_model(seqkit.build_language_model(50, embedding_dim=8, units=8))
