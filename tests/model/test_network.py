"""The assembled saliency network and its MobileNet backbones, built tiny on 64x64 inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytestmark = pytest.mark.train

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from smartcrop.model.backbone import (  # noqa: E402
    build_backbone,
    build_mobilenet_v1,
    build_mobilenet_v2,
    conv_layer_names,
)
from smartcrop.model.network import (  # noqa: E402
    MAP_STRIDE,
    NetworkConfig,
    backbone_of,
    build_saliency_model,
)

SIZE = 64


def _tiny(output_stride: int = 16) -> NetworkConfig:
    return NetworkConfig(output_stride=output_stride, feature_channels=8, lstm_units=8, lstm_steps=2,
                         num_priors=4, head_channels=8, skip_channels=4 if output_stride == 16 else 0)


def _pixels(batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (batch, SIZE, SIZE, 3)).astype(np.float32)


def _predict(model, x) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("output_stride", [8, 16])
def test_map_is_one_eighth_and_sums_to_one(output_stride):
    model = build_saliency_model(_tiny(output_stride), input_shape=(SIZE, SIZE, 3))
    y = _predict(model, _pixels())
    assert y.shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 1)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    assert backbone_of(model).name == f"mobilenet_v1_os{output_stride}"


def test_any_input_size_when_unspecified():
    model = build_saliency_model(_tiny(16))
    y = _predict(model, np.zeros((1, 48, 80, 3), np.float32))
    assert y.shape == (1, 6, 10, 1)


@pytest.mark.parametrize("output_stride, cells", [(8, 8), (16, 4), (32, 2)])
def test_backbone_output_stride(output_stride, cells):
    backbone = build_mobilenet_v1(output_stride, (SIZE, SIZE, 3))
    assert backbone.output_shape == (None, cells, cells, 1024)
    assert [layer.name for layer in backbone.layers if "conv" in layer.name and "relu" not in layer.name] \
        == conv_layer_names()
    assert len(conv_layer_names()) == 27


def test_backbone_weights_do_not_depend_on_output_stride():
    """Dilating instead of striding keeps every kernel's shape, so ImageNet weights fit all strides."""
    shapes = {s: [w.shape for w in build_mobilenet_v1(s, (SIZE, SIZE, 3)).get_weights()] for s in (8, 16, 32)}
    assert shapes[8] == shapes[16] == shapes[32]


def test_backbone_rejects_other_strides():
    with pytest.raises(ValueError, match="output_stride"):
        build_mobilenet_v1(4)


def test_save_load_weights_round_trip(tmp_path):
    config = _tiny(16)
    x = _pixels()
    model = build_saliency_model(config, input_shape=(SIZE, SIZE, 3))
    expected = _predict(model, x)
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    keras.utils.set_random_seed(123)  # the fresh model's own initial weights differ
    other = build_saliency_model(config, input_shape=(SIZE, SIZE, 3))
    assert not np.allclose(_predict(other, x), expected)
    other.load_weights(path)
    np.testing.assert_array_equal(_predict(other, x), expected)


def test_config_to_dict_round_trip():
    config = _tiny(8)
    assert NetworkConfig(**config.to_dict()) == config


def test_backbone_taps_return_block_outputs_before_the_features():
    backbone = build_mobilenet_v1(16, (SIZE, SIZE, 3), taps=(5,))
    fine, coarse = backbone.output_shape
    assert fine == (None, SIZE // 8, SIZE // 8, 256)
    assert coarse == (None, SIZE // 16, SIZE // 16, 1024)
    # the same weights as the untapped backbone, so ImageNet weights load the same way
    assert [w.shape for w in backbone.get_weights()] \
        == [w.shape for w in build_mobilenet_v1(16, (SIZE, SIZE, 3)).get_weights()]


def test_multi_level_features_reach_the_map():
    """With skip_channels the stride-8 block feeds the head: the map still has 1/8 of the input
    and sums to 1, and the skip conv's weights change it."""
    config = _tiny(16)
    assert config.skip_channels == 4
    model = build_saliency_model(config, input_shape=(SIZE, SIZE, 3))
    x = _pixels()
    y = _predict(model, x)
    assert y.shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 1)
    np.testing.assert_allclose(y.sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    skip = model.get_layer("skip")
    assert skip.kernel.shape == (2, 2, 256, 4)
    skip.set_weights([w * 0 + 0.05 for w in skip.get_weights()])
    assert not np.allclose(_predict(model, x), y)


def test_without_multi_level_features_there_is_no_skip_conv():
    model = build_saliency_model(replace(_tiny(16), skip_channels=0),
                                 input_shape=(SIZE, SIZE, 3))
    assert "skip" not in [layer.name for layer in model.layers]
    assert _predict(model, _pixels()).shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 1)


def test_multi_level_features_need_stride_16():
    with pytest.raises(ValueError, match="skip_channels"):
        build_saliency_model(replace(_tiny(8), skip_channels=4))


def _conv_names(backbone) -> list[str]:
    return [layer.name for layer in backbone.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]


@pytest.mark.parametrize("output_stride, cells", [(8, 8), (16, 4), (32, 2)])
def test_v2_backbone_output_stride_and_layers(output_stride, cells):
    backbone = build_mobilenet_v2(output_stride, (SIZE, SIZE, 3))
    assert backbone.output_shape == (None, cells, cells, 320)
    # every release conv in order, less the 1280-channel conv and the classifier it stops before
    names = conv_layer_names("mobilenet_v2")
    assert len(names) == 53 and names[-2:] == ["conv_last", "classifier"]
    assert _conv_names(backbone) == names[:-2]
    assert [w.shape for w in backbone.get_weights()] \
        == [w.shape for w in build_mobilenet_v2(32, (SIZE, SIZE, 3)).get_weights()]


def test_v2_blocks_add_their_input_where_shapes_match():
    """Inverted residuals: the 10 stride-1 blocks that keep their channel count add their input."""
    backbone = build_mobilenet_v2(16, (SIZE, SIZE, 3))
    adds = [layer.name for layer in backbone.layers if isinstance(layer, keras.layers.Add)]
    assert adds == [f"add_{i}" for i in (3, 5, 6, 8, 9, 10, 12, 13, 15, 16)]
    # the projection is linear: zeroing a block's projection passes its input through unchanged
    x = np.random.default_rng(0).uniform(-1, 1, (1, SIZE, SIZE, 3)).astype(np.float32)
    probe = keras.Model(backbone.input, [backbone.get_layer("add_6").input[0],
                                         backbone.get_layer("add_6").output])
    project = backbone.get_layer("project_6")
    project.set_weights([w * 0 for w in project.get_weights()])
    before, after = (keras.ops.convert_to_numpy(t) for t in probe(x))
    np.testing.assert_array_equal(before, after)


def test_saliency_model_on_v2_taps_its_stride_8_block():
    config = replace(_tiny(16), backbone="mobilenet_v2")
    model = build_saliency_model(config, input_shape=(SIZE, SIZE, 3))
    assert backbone_of(model).name == "mobilenet_v2_os16"
    assert model.get_layer("skip").kernel.shape == (2, 2, 32, 4)  # block 6: 32 channels, stride 8
    y = _predict(model, _pixels())
    assert y.shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 1)
    np.testing.assert_allclose(y.sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    assert NetworkConfig(**config.to_dict()) == config


def test_unknown_backbone_raises():
    with pytest.raises(ValueError, match="backbone"):
        build_backbone("resnet50")
    with pytest.raises(ValueError, match="backbone"):
        conv_layer_names("resnet50")


def test_heads_share_the_backbone_and_average_their_maps(tmp_path):
    """Two heads: the map is the mean of the heads' maps (so it still sums to 1), the heads
    start apart, and the per-head training model holds the same weights as the exported one."""
    config = replace(_tiny(16), heads=2)
    x = _pixels()
    trained = build_saliency_model(config, input_shape=(SIZE, SIZE, 3), per_head=True)
    stacked = _predict(trained, x)
    assert stacked.shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 2)
    np.testing.assert_allclose(stacked.sum(axis=(1, 2)), 1.0, rtol=1e-5)
    assert not np.allclose(stacked[..., 0], stacked[..., 1])
    assert trained.get_layer("gaussian_prior").get_weights()[0].tolist() \
        != trained.get_layer("gaussian_prior_h1").get_weights()[0].tolist()
    path = tmp_path / "heads.weights.h5"
    trained.save_weights(path)
    served = build_saliency_model(config, input_shape=(SIZE, SIZE, 3))
    served.load_weights(path)
    y = _predict(served, x)
    assert y.shape == (2, SIZE // MAP_STRIDE, SIZE // MAP_STRIDE, 1)
    np.testing.assert_allclose(y[..., 0], stacked.mean(axis=-1), rtol=1e-5, atol=1e-7)
    # one backbone: a second head adds head weights only
    one = build_saliency_model(_tiny(16), input_shape=(SIZE, SIZE, 3))
    head = sum(w.size for layer in one.layers if layer.name in (
        "attentive_convlstm", "gaussian_prior", "mix_1", "mix_2", "logits") for w in layer.get_weights())
    assert served.count_params() == one.count_params() + head


def test_one_head_keeps_the_layer_names_older_weights_load_by():
    names = {layer.name for layer in build_saliency_model(_tiny(16)).layers}
    assert {"attentive_convlstm", "gaussian_prior", "mix_1", "mix_2", "logits", "saliency"} <= names
