"""MobileNet v1 (width 1.0) as a float Keras feature extractor with dilated late stages."""

from __future__ import annotations

import keras
from keras import layers

# (pointwise filters, stride) of MobileNet v1's 13 depthwise-separable blocks.
MOBILENET_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


def conv_layer_names() -> list[str]:
    """Names of the 27 conv layers in network order (matches the TFLite op order)."""
    names = ["conv1"]
    for i in range(1, len(MOBILENET_V1_BLOCKS) + 1):
        names += [f"conv_dw_{i}", f"conv_pw_{i}"]
    return names


def build_mobilenet_v1(output_stride: int = 16, input_shape=(None, None, 3),
                       taps: tuple[int, ...] = ()) -> keras.Model:
    """MobileNet v1 1.0 with BN folded into biased convs (ReLU6), dilated to `output_stride`.

    Strides past the requested output stride are removed and later depthwise convs dilated
    instead (DeepLab's recipe), so ImageNet weights still apply unchanged.
    Input: float images in [-1, 1]. Output: features at 1/output_stride, 1024 channels; with
    `taps` (block numbers, 1-13), a list: each tapped block's output, then those features.
    """
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, not {output_stride}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", name="conv1")(inputs)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    current_stride, rate = 2, 1
    tapped = []
    for i, (filters, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
        block_rate = rate
        if stride > 1 and current_stride >= output_stride:
            rate *= stride  # drop the stride, dilate everything after it
            stride = 1
        elif stride > 1:
            current_stride *= stride
        x = layers.DepthwiseConv2D(
            3, strides=stride, dilation_rate=block_rate, padding="same", name=f"conv_dw_{i}"
        )(x)
        x = layers.ReLU(6.0, name=f"conv_dw_{i}_relu")(x)
        x = layers.Conv2D(filters, 1, name=f"conv_pw_{i}")(x)
        x = layers.ReLU(6.0, name=f"conv_pw_{i}_relu")(x)
        if i in taps:
            tapped.append(x)
    return keras.Model(inputs, tapped + [x] if taps else x, name=f"mobilenet_v1_os{output_stride}")
