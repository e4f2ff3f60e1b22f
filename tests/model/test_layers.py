"""Shapes, configs, serialisation and known-answer checks of the saliency head's Keras layers."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.train

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from smartcrop.model.layers import AttentiveConvLSTM, GaussianPrior, SpatialSoftmax, Upsample  # noqa: E402


def _features(shape=(2, 6, 8, 16), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _run(layer, x) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(x))


def _clone_with_weights(layer, x):
    """Rebuild `layer` from its config, build it on `x`, copy the weights."""
    clone = layer.__class__.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    return clone


# --- AttentiveConvLSTM ---------------------------------------------------------------------


def test_convlstm_output_shape_and_finite():
    x = _features()
    layer = AttentiveConvLSTM(units=8, steps=2)
    y = _run(layer, x)
    assert y.shape == (2, 6, 8, 8)
    assert layer.compute_output_shape(x.shape) == (2, 6, 8, 8)
    assert np.all(np.isfinite(y))
    assert np.all(np.abs(y) < 1.0)  # h = sigmoid(o) * tanh(c)


def test_convlstm_deterministic():
    x = _features()
    layer = AttentiveConvLSTM(units=8, steps=2)
    np.testing.assert_array_equal(_run(layer, x), _run(layer, x))


def test_convlstm_config_round_trip():
    x = _features()
    layer = AttentiveConvLSTM(units=8, steps=2, kernel_size=3, name="lstm")
    expected = _run(layer, x)
    config = layer.get_config()
    assert (config["units"], config["steps"], config["kernel_size"]) == (8, 2, 3)
    clone = _clone_with_weights(layer, x)
    assert clone.get_config() == config
    np.testing.assert_allclose(_run(clone, x), expected, rtol=1e-6, atol=1e-6)


def test_convlstm_keras_serialisation():
    x = _features()
    layer = AttentiveConvLSTM(units=8, steps=2, kernel_size=1)
    expected = _run(layer, x)
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "smartcrop>AttentiveConvLSTM"
    clone = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(clone, AttentiveConvLSTM)
    assert (clone.units, clone.steps, clone.kernel_size) == (8, 2, 1)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_run(clone, x), expected, rtol=1e-6, atol=1e-6)


def test_convlstm_attention_has_mean_one():
    """Read the attention map out through the layer's output and check it averages 1.

    With 1x1 kernels, one step, input/output gates held open and a tiny cell input k * (x * a) that
    reads a constant channel, h = tanh(tanh(k * a)): a must be non-uniform and have mean 1.
    """
    k = 1e-3
    rng = np.random.default_rng(3)
    x = np.ones((2, 5, 7, 2), np.float32)
    x[..., 0] = rng.normal(size=(2, 5, 7))  # drives the attention; channel 1 stays 1
    layer = AttentiveConvLSTM(units=1, steps=1, kernel_size=1)
    layer(x)
    layer.w_a.set_weights([np.eye(2, dtype=np.float32)[None, None], np.zeros(2, np.float32)])
    layer.u_a.set_weights([np.zeros((1, 1, 1, 2), np.float32)])
    layer.v_a.set_weights([np.array([3.0, 0.0], np.float32).reshape(1, 1, 2, 1)])
    # gates (i, f, o, g): i and o saturated open by their bias, g = k * (x * a)[..., 1] = k * a
    kernel = np.zeros((1, 1, 2, 4), np.float32)
    kernel[0, 0, 1, 3] = k
    bias = np.array([30.0, 0.0, 30.0, 0.0], np.float32)
    layer.w_gates.set_weights([kernel, bias])
    layer.u_gates.set_weights([np.zeros((1, 1, 1, 4), np.float32)])
    attention = np.arctanh(np.arctanh(_run(layer, x)[..., 0].astype(np.float64))) / k  # h = tanh(tanh(g))
    np.testing.assert_allclose(attention.mean(axis=(1, 2)), 1.0, rtol=1e-4)
    assert np.all(attention > 0)
    assert np.all(attention.std(axis=(1, 2)) > 0.1)  # really re-weighted, not uniform
    # and it is the softmax over positions of v_a * tanh(x0), times the number of positions
    e = np.exp(3.0 * np.tanh(x[..., 0]))
    expected = e / e.sum(axis=(1, 2), keepdims=True) * (5 * 7)
    np.testing.assert_allclose(attention, expected, rtol=1e-4)


# --- GaussianPrior -------------------------------------------------------------------------


def test_prior_shape_and_range():
    x = _features((2, 6, 8, 4))
    layer = GaussianPrior(num_priors=5)
    y = _run(layer, x)
    assert y.shape == (2, 6, 8, 5)
    assert layer.compute_output_shape(x.shape) == (2, 6, 8, 5)
    assert np.all(y > 0) and np.all(y <= 1.0)
    np.testing.assert_array_equal(y[0], y[1])  # the input's values are unused


@pytest.mark.parametrize("size", [(6, 8), (18, 24), (7, 13)])
def test_prior_peaks_at_its_mean(size):
    height, width = size
    x = np.zeros((1, height, width, 3), np.float32)
    layer = GaussianPrior(num_priors=3)
    layer(x)
    mu = np.array([[0.27, 0.61, 0.88], [0.73, 0.32, 0.12]], np.float32)  # rows: x, y; no ties
    sigma = np.array([[0.1, 0.3, 0.2], [0.2, 0.1, 0.5]], np.float32)
    layer.set_weights([mu, sigma])
    y = _run(layer, x)[0]
    centres_y = (np.arange(height) + 0.5) / height
    centres_x = (np.arange(width) + 0.5) / width
    for n in range(3):
        row, col = np.unravel_index(np.argmax(y[..., n]), (height, width))
        assert row == np.argmin(np.abs(centres_y - mu[1, n]))
        assert col == np.argmin(np.abs(centres_x - mu[0, n]))
        # the map is the separable Gaussian itself
        gy = np.exp(-0.5 * ((centres_y - mu[1, n]) / sigma[1, n]) ** 2)
        gx = np.exp(-0.5 * ((centres_x - mu[0, n]) / sigma[0, n]) ** 2)
        np.testing.assert_allclose(y[..., n], np.outer(gy, gx), rtol=1e-5, atol=1e-7)
    assert np.all(y >= 0) and np.all(y <= 1.0)


def test_prior_peak_is_one_at_a_pixel_centre():
    x = np.zeros((1, 6, 8, 1), np.float32)
    layer = GaussianPrior(num_priors=1)
    layer(x)
    layer.set_weights([np.array([[4.5 / 8], [1.5 / 6]], np.float32), np.full((2, 1), 0.2, np.float32)])
    y = _run(layer, x)[0, ..., 0]
    assert y[1, 4] == pytest.approx(1.0, abs=1e-6)
    assert y.max() == y[1, 4]


def test_prior_same_weights_any_size():
    layer = GaussianPrior(num_priors=4)
    small = _run(layer, np.zeros((1, 6, 8, 2), np.float32))
    large = _run(layer, np.zeros((3, 18, 24, 2), np.float32))
    assert small.shape == (1, 6, 8, 4) and large.shape == (3, 18, 24, 4)
    # pixel centres of the small grid are every third pixel centre of the large one
    np.testing.assert_allclose(large[0, 1::3, 1::3], small[0], rtol=1e-5, atol=1e-7)


def test_prior_config_round_trip():
    x = np.zeros((2, 6, 8, 3), np.float32)
    layer = GaussianPrior(num_priors=7, name="priors")
    expected = _run(layer, x)
    clone = _clone_with_weights(layer, x)
    assert clone.get_config() == layer.get_config()
    assert clone.get_config()["num_priors"] == 7
    np.testing.assert_array_equal(_run(clone, x), expected)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, GaussianPrior) and restored.num_priors == 7


# --- SpatialSoftmax ------------------------------------------------------------------------


def test_spatial_softmax_sums_to_one():
    x = 10.0 * _features((3, 5, 7, 1))
    x[2] += 1000.0  # large logits must not overflow
    y = _run(SpatialSoftmax(), x)
    assert y.shape == x.shape
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    assert np.argmax(y[0]) == np.argmax(x[0])
    e = np.exp(x[1] - x[1].max())
    np.testing.assert_allclose(y[1], e / e.sum(), rtol=1e-4, atol=1e-8)


def test_spatial_softmax_serialisation():
    layer = SpatialSoftmax(name="saliency")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, SpatialSoftmax) and restored.name == "saliency"


# --- Upsample ------------------------------------------------------------------------------


def test_upsample_matches_bilinear_upsampling_at_known_and_unknown_sizes():
    """Known sizes run UpSampling2D itself (so exports are unchanged); sizes known only at run
    time (one model trained on two canvases) give the same values."""
    import tensorflow as tf

    x = _features((2, 5, 7, 3))
    expected = _run(keras.layers.UpSampling2D(2, interpolation="bilinear"), x)
    layer = Upsample(2)
    np.testing.assert_allclose(_run(layer, x), expected, rtol=1e-6, atol=1e-6)
    dynamic = tf.function(layer.call, input_signature=[tf.TensorSpec((None, None, None, 3))])
    for shape in ((2, 5, 7, 3), (1, 7, 5, 3)):
        y = _features(shape, seed=1)
        np.testing.assert_allclose(dynamic(y).numpy(), _run(keras.layers.UpSampling2D(
            2, interpolation="bilinear"), y), rtol=1e-6, atol=1e-6)
    assert Upsample.from_config(layer.get_config()).get_config() == layer.get_config()
