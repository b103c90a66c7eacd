import keras
import numpy as np
import pytest

from seqkit.layers import AttentionPooling, MaskedPooling
from seqkit.testing import run_layer_test

SEQUENCE = np.array([[[1.0, -4.0], [5.0, -2.0], [9.0, 7.0]]], "float32")
MASK = np.array([[True, True, False]])


@pytest.mark.parametrize("mode,expected", [("max", [[5.0, -2.0]]), ("mean", [[3.0, -3.0]])])
def test_masked_pooling_ignores_masked_steps(mode, expected):
    output = MaskedPooling(mode)(SEQUENCE, mask=MASK)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output), expected)


@pytest.mark.parametrize("mode,expected", [("max", [[9.0, 7.0]]), ("mean", [[5.0, 1 / 3]])])
def test_masked_pooling_without_mask(mode, expected):
    np.testing.assert_allclose(keras.ops.convert_to_numpy(MaskedPooling(mode)(SEQUENCE)), expected, rtol=1e-6)


def test_masked_pooling_serializes():
    run_layer_test(MaskedPooling, {"mode": "mean"}, SEQUENCE, (1, 2))
    with pytest.raises(ValueError, match="`mode` must be"):
        MaskedPooling("min")


def test_attention_pooling_weights():
    layer = AttentionPooling(4, return_attention=True)
    pooled, weights = layer(SEQUENCE, mask=MASK)
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(axis=-1), [1.0], rtol=1e-6)
    assert weights[0, 2] < 1e-6  # The masked step gets no weight.
    expected = (weights[..., None] * SEQUENCE).sum(axis=1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled), expected, rtol=1e-5)


def test_attention_pooling_serializes():
    run_layer_test(AttentionPooling, {"hidden_dim": 3}, SEQUENCE, (1, 2), expected_num_trainable_weights=3)
    with pytest.raises(ValueError, match="`hidden_dim`"):
        AttentionPooling(0)
