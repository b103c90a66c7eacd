import keras
import numpy as np
import pytest

import seqkit  # noqa: F401  (registers the layers for `load_model`)
from seqkit.layers.attention import ATTENTIONS, BahdanauAttention, LuongAttention, get_attention


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(2, 3)).astype("float32")
VALUES = RNG.normal(size=(2, 4, 2)).astype("float32")
# Row 0 has 3 real source steps, row 1 has 2.
MASK = np.array([[True, True, True, False], [True, True, False, False]])

# Hand-set Bahdanau weights: units 2, query width 3, value width 2.
W_QUERY = np.array([[0.5, -1.0], [0.25, 0.75], [-0.5, 0.3]], "float32")
W_KEY = np.array([[1.0, 0.2], [-0.4, 0.6]], "float32")
B_KEY = np.array([0.1, -0.2], "float32")
V_SCORE = np.array([[1.5], [-0.7]], "float32")


def bahdanau_with_known_weights():
    layer = BahdanauAttention(2)
    layer.build(QUERY.shape, VALUES.shape)
    layer.query_projection.kernel.assign(W_QUERY)
    layer.key_projection.kernel.assign(W_KEY)
    layer.key_projection.bias.assign(B_KEY)
    layer.score_vector.kernel.assign(V_SCORE)
    return layer


def test_bahdanau_matches_a_numpy_computation():
    context, weights = bahdanau_with_known_weights()(QUERY, VALUES)
    # score_j = v . tanh(W_q q + W_k h_j + b)
    hidden = np.tanh((QUERY @ W_QUERY)[:, None, :] + VALUES @ W_KEY + B_KEY)
    expected_weights = softmax((hidden @ V_SCORE)[..., 0])
    np.testing.assert_allclose(numpy(weights), expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(context), np.einsum("bs,bsd->bd", expected_weights, VALUES), rtol=1e-5, atol=1e-6)
    assert numpy(weights).shape == (2, 4) and numpy(context).shape == (2, 2)


def test_luong_dot_matches_a_numpy_computation():
    query = QUERY[:, :2]  # "dot" needs the query as wide as the values.
    context, weights = LuongAttention("dot")(query, VALUES)
    expected_weights = softmax(np.einsum("bd,bsd->bs", query, VALUES))
    np.testing.assert_allclose(numpy(weights), expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(context), np.einsum("bs,bsd->bd", expected_weights, VALUES), rtol=1e-5, atol=1e-6)


def test_luong_general_matches_a_numpy_computation():
    layer = LuongAttention("general")
    layer.build(QUERY.shape, VALUES.shape)
    kernel = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]], "float32")  # (value width, query width)
    layer.key_projection.kernel.assign(kernel)
    context, weights = layer(QUERY, VALUES)
    # score_j = q . (W h_j), with W h_j = h_j @ kernel.
    expected_weights = softmax(np.einsum("bd,bsd->bs", QUERY, VALUES @ kernel))
    np.testing.assert_allclose(numpy(weights), expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(numpy(context), np.einsum("bs,bsd->bd", expected_weights, VALUES), rtol=1e-5, atol=1e-6)


def make_layer(kind):
    if kind == "bahdanau":
        return bahdanau_with_known_weights(), QUERY
    if kind == "dot":
        return LuongAttention("dot"), QUERY[:, :2]
    layer = LuongAttention("general")
    layer.build(QUERY.shape, VALUES.shape)
    return layer, QUERY


@pytest.mark.parametrize("kind", ["bahdanau", "dot", "general"])
def test_padding_gets_no_weight_and_its_values_do_not_matter(kind):
    layer, query = make_layer(kind)
    context, weights = layer(query, VALUES, mask=MASK)
    context, weights = numpy(context), numpy(weights)
    assert np.all(weights[~MASK] < 1e-6)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    # The same as attending over the real prefix alone.
    for row, length in enumerate(MASK.sum(1)):
        prefix_context, prefix_weights = layer(query[row : row + 1], VALUES[row : row + 1, :length])
        np.testing.assert_allclose(weights[row, :length], numpy(prefix_weights)[0], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(context[row], numpy(prefix_context)[0], rtol=1e-5, atol=1e-6)
    # Garbage at the padded steps changes nothing.
    noisy = np.where(MASK[..., None], VALUES, 100.0 * RNG.normal(size=VALUES.shape)).astype("float32")
    noisy_context, noisy_weights = layer(query, noisy, mask=MASK)
    np.testing.assert_allclose(numpy(noisy_context), context, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(numpy(noisy_weights), weights, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["bahdanau", "dot", "general"])
def test_precomputed_keys_give_the_same_outputs_and_are_used(kind):
    layer, query = make_layer(kind)
    keys = layer.keys(VALUES)
    for a, b in zip(layer(query, VALUES, keys=keys, mask=MASK), layer(query, VALUES, mask=MASK)):
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-6, atol=1e-7)
    # The keys passed in are the ones scored: other keys give other weights.
    _, other = layer(query, VALUES, keys=2.0 * numpy(keys) + 0.5, mask=MASK)
    _, same = layer(query, VALUES, keys=keys, mask=MASK)
    assert np.abs(numpy(other) - numpy(same)).max() > 1e-3


def test_luong_dot_with_mismatched_widths_points_to_general():
    with pytest.raises(ValueError, match="general"):
        LuongAttention("dot")(QUERY, VALUES)  # Query width 3, values width 2.
    with pytest.raises(ValueError, match="score"):
        LuongAttention("concat")


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", None])
def test_bahdanau_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        BahdanauAttention(units)


def test_get_attention():
    assert ATTENTIONS == ("bahdanau", "luong_dot", "luong_general", "none")
    bahdanau = get_attention("bahdanau", units=7)
    assert isinstance(bahdanau, BahdanauAttention) and bahdanau.units == 7
    assert get_attention("luong_dot").score == "dot"
    assert get_attention("luong_general").score == "general"
    assert get_attention("none") is None
    with pytest.raises(ValueError, match="attention"):
        get_attention("cosine")
    with pytest.raises(ValueError, match="attention"):
        get_attention("luong")


# `run_layer_test` calls a layer with one input, so these two-input layers get the
# same checks by hand: config round-trip, then a `.keras` round-trip in a model.
@pytest.mark.parametrize(
    "layer_class,kwargs,query,num_weights",
    [(BahdanauAttention, {"units": 5}, QUERY, 4), (LuongAttention, {"score": "general"}, QUERY, 1),
     (LuongAttention, {"score": "dot"}, QUERY[:, :2], 0)],
)
def test_serialization(layer_class, kwargs, query, num_weights, tmp_path):
    layer = layer_class(**kwargs, name="attention")
    outputs = [numpy(o) for o in layer(query, VALUES, mask=MASK)]
    config = layer.get_config()
    clone = layer_class.from_config(config)
    assert clone.get_config() == config
    clone(query, VALUES, mask=MASK)
    assert len(clone.get_weights()) == len(layer.get_weights()) == num_weights
    clone.set_weights(layer.get_weights())
    for a, b in zip(outputs, clone(query, VALUES, mask=MASK)):
        np.testing.assert_allclose(numpy(b), a, rtol=1e-6, atol=1e-7)

    query_input = keras.Input(shape=query.shape[1:])
    values_input = keras.Input(shape=VALUES.shape[1:])
    model = keras.Model([query_input, values_input], list(layer(query_input, values_input)))
    expected = [numpy(o) for o in model([query, VALUES])]
    model.save(tmp_path / "attention.keras")
    restored = keras.saving.load_model(tmp_path / "attention.keras")
    assert type(restored.get_layer("attention")) is layer_class
    for a, b in zip(expected, restored([query, VALUES])):
        np.testing.assert_allclose(numpy(b), a, rtol=1e-6, atol=1e-7)


# === Gradients: autodiff against central finite differences, in float64 ===


@pytest.mark.parametrize("make", [lambda: BahdanauAttention(3, dtype="float64"),
                                  lambda: LuongAttention("general", dtype="float64")], ids=["bahdanau", "luong_general"])
def test_gradients_match_finite_differences(make):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    query, values = rng.normal(size=(2, 3)), rng.normal(size=(2, 4, 5))
    projection = rng.normal(size=(2, 5))  # A random linear read-out of the context, so every weight matters.
    layer = make()
    context, _ = layer(query, values, mask=MASK)
    # float64 in, weights and computation: finite differences need the precision.
    assert [v.dtype for v in layer.trainable_variables] == ["float64"] * len(layer.trainable_variables), (
        "float64 layer holds weights of dtypes " + str([(v.path, v.dtype) for v in layer.trainable_variables])
    )
    assert context.dtype == tf.float64, context.dtype

    def loss():
        context, _ = layer(query, values, mask=MASK)
        return float(np.sum(numpy(context) * projection))

    with tf.GradientTape() as tape:
        context, _ = layer(query, values, mask=MASK)
        objective = tf.reduce_sum(context * projection)
    gradients = tape.gradient(objective, layer.trainable_variables)
    eps = 1e-6
    for variable, gradient in zip(layer.trainable_variables, gradients):
        base = numpy(variable).copy()
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            shifted = base.copy()
            shifted[index] += eps
            variable.assign(shifted)
            up = loss()
            shifted[index] -= 2 * eps
            variable.assign(shifted)
            numeric[index] = (up - loss()) / (2 * eps)
        variable.assign(base)
        gradient = numpy(gradient)
        assert np.abs(gradient).max() > 1e-3, f"{variable.path}: no gradient reaches it"
        error = np.abs(numeric - gradient).max() / np.abs(gradient).max()
        assert error < 1e-6, f"{variable.path}: relative error {error:.3g}"
