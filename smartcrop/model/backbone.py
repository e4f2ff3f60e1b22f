"""ImageNet MobileNets (v1, v2; width 1.0) as float Keras feature extractors with dilated late stages."""

from __future__ import annotations

import keras
from keras import layers

BACKBONES = ("mobilenet_v1", "mobilenet_v2")

# (pointwise filters, stride) of MobileNet v1's 13 depthwise-separable blocks.
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)

# (expansion, output channels, stride) of MobileNetV2's 17 inverted-residual blocks.
MOBILENET_V2_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (1, 16, 1),
    (6, 24, 2), (6, 24, 1),
    (6, 32, 2), (6, 32, 1), (6, 32, 1),
    (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1),
    (6, 96, 1), (6, 96, 1), (6, 96, 1),
    (6, 160, 2), (6, 160, 1), (6, 160, 1),
    (6, 320, 1),
)

# The last block at stride 8 of each backbone: the tap for multi-level features.
STRIDE_8_BLOCK = {"mobilenet_v1": 5, "mobilenet_v2": 6}


def conv_layer_names(backbone: str = "mobilenet_v1") -> list[str]:
    """Names of the release's conv ops in network order (matches the TFLite op order).

    MobileNetV2's release ends with a 1280-channel conv and the classifier; the feature
    extractor stops before them, so those two names have no layer and are not loaded.
    """
    names = ["conv1"]
    if backbone == "mobilenet_v1":
        for i in range(1, len(MOBILENET_V1_BLOCKS) + 1):
            names += [f"conv_dw_{i}", f"conv_pw_{i}"]
        return names
    if backbone == "mobilenet_v2":
        for i, (expansion, _, _) in enumerate(MOBILENET_V2_BLOCKS, start=1):
            names += ([f"expand_{i}"] if expansion != 1 else []) + [f"dw_{i}", f"project_{i}"]
        return names + ["conv_last", "classifier"]
    raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, not {backbone!r}")


def build_backbone(backbone: str = "mobilenet_v1", output_stride: int = 16,
                   input_shape=(None, None, 3), taps: tuple[int, ...] = ()) -> keras.Model:
    """The named MobileNet, dilated to `output_stride` (see the builders below)."""
    if backbone == "mobilenet_v1":
        return build_mobilenet_v1(output_stride, input_shape, taps)
    if backbone == "mobilenet_v2":
        return build_mobilenet_v2(output_stride, input_shape, taps)
    raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, not {backbone!r}")


def backbone_name(model: keras.Model) -> str:
    """The backbone a built MobileNet is (its name is ``<backbone>_os<stride>``)."""
    return model.name.rsplit("_os", 1)[0]


def _check_stride(output_stride: int) -> None:
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, not {output_stride}")


def _dilate(stride: int, current_stride: int, rate: int, output_stride: int):
    """DeepLab's recipe: past the output stride, drop a block's stride and dilate what follows.

    Returns (stride to use, new current stride, new rate); the block itself keeps the old rate.
    """
    if stride > 1 and current_stride >= output_stride:
        return 1, current_stride, rate * stride
    return stride, current_stride * stride, rate


def build_mobilenet_v1(output_stride: int = 16, input_shape=(None, None, 3),
                       taps: tuple[int, ...] = ()) -> keras.Model:
    """MobileNet v1 1.0 with BN folded into biased convs (ReLU6), dilated to `output_stride`.

    Strides past the requested output stride are removed and later depthwise convs dilated
    instead (DeepLab's recipe), so ImageNet weights still apply unchanged.
    Input: float images in [-1, 1]. Output: features at 1/output_stride, 1024 channels; with
    `taps` (block numbers, 1-13), a list: each tapped block's output, then those features.
    """
    _check_stride(output_stride)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", name="conv1")(inputs)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    current_stride, rate = 2, 1
    tapped = []
    for i, (filters, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        block_rate = rate
        stride, current_stride, rate = _dilate(stride, current_stride, rate, output_stride)
        x = layers.DepthwiseConv2D(
            3, strides=stride, dilation_rate=block_rate, padding="same", name=f"conv_dw_{i}"
        )(x)
        x = layers.ReLU(6.0, name=f"conv_dw_{i}_relu")(x)
        x = layers.Conv2D(filters, 1, name=f"conv_pw_{i}")(x)
        x = layers.ReLU(6.0, name=f"conv_pw_{i}_relu")(x)
        if i in taps:
            tapped.append(x)
    return keras.Model(inputs, tapped + [x] if taps else x, name=f"mobilenet_v1_os{output_stride}")


def build_mobilenet_v2(output_stride: int = 16, input_shape=(None, None, 3),
                       taps: tuple[int, ...] = ()) -> keras.Model:
    """MobileNetV2 1.0 up to block 17 (320 channels), BN folded, dilated to `output_stride`.

    Inverted residuals: 1x1 expansion (ReLU6), 3x3 depthwise (ReLU6), linear 1x1 projection,
    plus the input where shape allows. The 1280-channel conv and the classifier are left out,
    as DeepLab v3 does. Input: float images in [-1, 1]. Output as `build_mobilenet_v1`'s.
    """
    _check_stride(output_stride)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", name="conv1")(inputs)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    current_stride, rate, channels = 2, 1, 32
    tapped = []
    for i, (expansion, filters, stride) in enumerate(MOBILENET_V2_BLOCKS, start=1):
        block_rate = rate
        stride, current_stride, rate = _dilate(stride, current_stride, rate, output_stride)
        y = x
        if expansion != 1:
            y = layers.Conv2D(channels * expansion, 1, name=f"expand_{i}")(y)
            y = layers.ReLU(6.0, name=f"expand_{i}_relu")(y)
        y = layers.DepthwiseConv2D(
            3, strides=stride, dilation_rate=block_rate, padding="same", name=f"dw_{i}"
        )(y)
        y = layers.ReLU(6.0, name=f"dw_{i}_relu")(y)
        y = layers.Conv2D(filters, 1, name=f"project_{i}")(y)  # linear bottleneck: no ReLU
        if stride == 1 and channels == filters:
            y = layers.Add(name=f"add_{i}")([x, y])
        x, channels = y, filters
        if i in taps:
            tapped.append(x)
    return keras.Model(inputs, tapped + [x] if taps else x, name=f"mobilenet_v2_os{output_stride}")
