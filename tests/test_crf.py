"""CRF layer: log-partition and Viterbi against brute force, gradients, masking, saving."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from seqkit.layers.crf import CRF, FORBIDDEN, CRFLoss, bio_constraints


def _brute_force(crf, emissions, mask):
    """Every path's score over the unmasked steps: (paths, scores) per sequence."""
    transitions, start, end = [ops.convert_to_numpy(v) for v in crf._scores()]
    results = []
    for b in range(emissions.shape[0]):
        steps = np.nonzero(mask[b])[0]
        paths = list(itertools.product(range(crf.num_tags), repeat=len(steps)))
        scores = []
        for path in paths:
            score = start[path[0]] + emissions[b, steps[0], path[0]]
            for k in range(1, len(steps)):
                score += transitions[path[k - 1], path[k]] + emissions[b, steps[k], path[k]]
            scores.append(score + end[path[-1]])
        results.append((steps, paths, np.array(scores, "float64")))
    return results


def _random_crf(num_tags, seed, **kwargs):
    crf = CRF(num_tags, transition_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed), **kwargs)
    crf.build((None, None, num_tags))
    return crf


MASKS = [
    np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool),  # right padding
    np.array([[0, 1, 1, 0, 1], [1, 0, 1, 0, 1], [0, 0, 0, 1, 1]], bool),  # holes and left padding
]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("num_tags", [1, 2, 3])
def test_log_likelihood_and_viterbi_match_brute_force(mask, num_tags):
    rng = np.random.default_rng(num_tags)
    emissions = rng.normal(size=mask.shape + (num_tags,)).astype("float32")
    crf = _random_crf(num_tags, seed=num_tags)
    decoded = ops.convert_to_numpy(crf.decode(emissions, mask))
    for b, (steps, paths, scores) in enumerate(_brute_force(crf, emissions, mask)):
        log_partition = np.log(np.exp(scores - scores.max()).sum()) + scores.max()
        for choice in (0, len(paths) // 2, len(paths) - 1):
            tags = np.full(mask.shape, -1)
            tags[b, steps] = paths[choice]
            log_likelihood = ops.convert_to_numpy(crf.log_likelihood(emissions, tags, mask))[b]
            np.testing.assert_allclose(log_likelihood, scores[choice] - log_partition, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(decoded[b, steps], paths[int(np.argmax(scores))])
        np.testing.assert_array_equal(decoded[b, ~mask[b]], 0)


def test_probabilities_of_all_paths_sum_to_one():
    crf = _random_crf(3, seed=7)
    emissions = np.random.default_rng(3).normal(size=(1, 4, 3)).astype("float32")
    paths = np.array(list(itertools.product(range(3), repeat=4)))
    log_likelihoods = ops.convert_to_numpy(crf.log_likelihood(np.repeat(emissions, len(paths), 0), paths))
    np.testing.assert_allclose(np.exp(log_likelihoods).sum(), 1.0, rtol=1e-5)


def test_fully_masked_sequence_has_zero_log_likelihood():
    crf = _random_crf(2, seed=0)
    emissions = np.ones((2, 3, 2), "float32")
    mask = np.array([[0, 0, 0], [1, 1, 0]], bool)
    log_likelihood = ops.convert_to_numpy(crf.log_likelihood(emissions, np.zeros((2, 3), int), mask))
    assert log_likelihood[0] == 0.0 and log_likelihood[1] < 0.0
    np.testing.assert_array_equal(ops.convert_to_numpy(crf.decode(emissions, mask))[0], [0, 0, 0])


def test_padding_changes_nothing():
    crf = _random_crf(4, seed=2)
    rng = np.random.default_rng(5)
    emissions = rng.normal(size=(1, 3, 4)).astype("float32")
    tags = np.array([[1, 2, 3]])
    padded = np.concatenate([emissions, rng.normal(size=(1, 4, 4)).astype("float32") * 50], axis=1)
    padded_tags = np.concatenate([tags, np.full((1, 4), -1)], axis=1)
    mask = np.array([[1, 1, 1, 0, 0, 0, 0]], bool)
    np.testing.assert_allclose(
        ops.convert_to_numpy(crf.log_likelihood(emissions, tags)),
        ops.convert_to_numpy(crf.log_likelihood(padded, padded_tags, mask)),
        rtol=1e-6,
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(crf.decode(emissions)), ops.convert_to_numpy(crf.decode(padded, mask))[:, :3]
    )


def test_gradients_match_finite_differences():
    crf = _random_crf(3, seed=11)
    rng = np.random.default_rng(11)
    emissions = tf.Variable(rng.normal(size=(2, 4, 3)), dtype="float32")
    tags = np.array([[0, 2, 1, -1], [1, 1, 0, 2]])
    mask = tags >= 0
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(crf.log_likelihood(emissions, tags, mask))
    analytic = tape.gradient(total, [emissions] + [v for v in crf.trainable_variables])

    def objective():
        return float(np.sum(ops.convert_to_numpy(crf.log_likelihood(emissions, tags, mask)), dtype="float64"))

    epsilon = 1e-2
    for variable, gradient in zip([emissions] + list(crf.trainable_variables), analytic):
        values = ops.convert_to_numpy(variable).astype("float64")
        for index in list(np.ndindex(values.shape))[:: max(1, values.size // 8)]:
            numeric = []
            for sign in (1, -1):
                shifted = values.copy()
                shifted[index] += sign * epsilon
                variable.assign(shifted.astype("float32"))
                numeric.append(objective())
            variable.assign(values.astype("float32"))
            estimate = (numeric[0] - numeric[1]) / (2 * epsilon)
            np.testing.assert_allclose(np.asarray(gradient)[index], estimate, rtol=2e-2, atol=2e-3)
    # Masked steps get no gradient.
    np.testing.assert_array_equal(np.asarray(analytic[0])[0, 3], 0.0)


def test_bio_constraints():
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed, start, end = bio_constraints(tags)
    assert not allowed[0, 2] and not allowed[3, 2] and not allowed[4, 2]  # I-PER only after B/I-PER
    assert allowed[1, 2] and allowed[2, 2] and allowed[2, 0] and allowed[2, 3]
    assert start.tolist() == [True, True, False, True, False]
    assert end.all()
    allowed, start, end = bio_constraints(["O", "B-X", "I-X", "E-X", "S-X"], scheme="bioes")
    assert allowed[1].tolist() == [False, False, True, True, False]  # B-X -> I-X or E-X only
    assert allowed[3].tolist() == [True, True, False, False, True]  # E-X -> a new start
    assert end.tolist() == [True, False, False, True, True]
    with pytest.raises(ValueError, match="E-X"):
        bio_constraints(["O", "E-X"], scheme="bio")


def test_constrained_decoding_never_breaks_bio():
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed, start, end = bio_constraints(tags)
    crf = CRF(5, allowed_transitions=allowed, allowed_start=start, allowed_end=end)
    crf.build((None, None, 5))
    # Emissions that, alone, would say "I-PER I-LOC O I-PER".
    emissions = np.full((1, 4, 5), -3.0, "float32")
    for step, tag in enumerate([2, 4, 0, 2]):
        emissions[0, step, tag] = 3.0
    path = ops.convert_to_numpy(crf.decode(emissions))[0]
    names = [tags[i] for i in path]
    for previous, current in zip(["O"] + names, names):
        if current.startswith("I-"):
            assert previous[2:] == current[2:], names
    # A forbidden gold path gets a very low likelihood.
    log_likelihood = ops.convert_to_numpy(crf.log_likelihood(emissions, np.array([[2, 4, 0, 2]])))
    assert log_likelihood[0] < FORBIDDEN / 2


def test_config_and_keras_round_trip(tmp_path):
    allowed, start, end = bio_constraints(["O", "B-PER", "I-PER"])
    inputs = keras.Input((None,), dtype="int32")
    features = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    emissions = keras.layers.Dense(3)(features)
    crf = CRF(3, allowed_transitions=allowed, allowed_start=start, allowed_end=end, name="crf")
    model = keras.Model(inputs, crf(emissions))
    crf.transitions.assign(np.arange(9, dtype="float32").reshape(3, 3) / 10)
    clone = CRF.from_config(crf.get_config())
    assert clone.get_config() == crf.get_config()
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    restored = loaded.get_layer("crf")
    np.testing.assert_allclose(ops.convert_to_numpy(restored.transitions), ops.convert_to_numpy(crf.transitions))
    assert restored.allowed_start == [True, True, False]
    x = np.array([[3, 4, 5, 0], [1, 2, 0, 0]])
    np.testing.assert_array_equal(
        ops.convert_to_numpy(restored.decode(loaded(x), x > 0)), ops.convert_to_numpy(crf.decode(model(x), x > 0))
    )


def test_training_learns_a_transition_pattern():
    """Tags alternate 1, 2, 1, 2 whatever the token: only the transitions can learn it."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    features = keras.layers.Embedding(5, 4, mask_zero=True)(inputs)
    crf = CRF(3)
    emissions = crf(keras.layers.Dense(3)(features))
    model = keras.Model(inputs, emissions)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss=crf.loss())
    lengths = np.random.default_rng(0).integers(2, 7, size=64)
    tokens = np.where(np.arange(6)[None] < lengths[:, None], 1 + np.random.default_rng(1).integers(0, 4, (64, 6)), 0)
    tags = np.where(tokens > 0, 1 + np.arange(6)[None] % 2, -1)
    history = model.fit(tokens, tags, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    decoded = ops.convert_to_numpy(crf.decode(model(tokens), tokens > 0))
    np.testing.assert_array_equal(decoded[tokens > 0], tags[tokens > 0])


def test_loss_is_mean_negative_log_likelihood_per_token():
    crf = _random_crf(3, seed=4)
    emissions = np.random.default_rng(4).normal(size=(2, 3, 3)).astype("float32")
    tags = np.array([[0, 1, 2], [2, -1, -1]])
    mask = tags >= 0
    loss = CRFLoss(crf)(tags, emissions)
    log_likelihood = ops.convert_to_numpy(crf.log_likelihood(emissions, tags, mask))
    # Without a Keras mask the per-token average runs over all positions; (3 + 1) of 6 are real.
    expected = -(log_likelihood[0] + log_likelihood[1]) / 6
    np.testing.assert_allclose(ops.convert_to_numpy(loss), expected, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_tags"):
        CRF(0)
    with pytest.raises(ValueError, match="allowed_transitions"):
        CRF(3, allowed_transitions=np.ones((2, 2)))
    with pytest.raises(ValueError, match="num_tags=3"):
        CRF(3)(np.zeros((1, 2, 4), "float32"))
