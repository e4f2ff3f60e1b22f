"""Builder of the saliency network: dilated MobileNet -> attentive ConvLSTM -> priors -> map."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
from keras import layers

from smartcrop.model.backbone import STRIDE_8_BLOCK, build_backbone
from smartcrop.model.layers import AttentiveConvLSTM, GaussianPrior, SpatialSoftmax, Upsample

MAP_STRIDE = 8  # the output map has 1/8 of the input's height and width


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture hyper-parameters; stored beside the weights so they rebuild exactly."""

    backbone: str = "mobilenet_v1"  # or "mobilenet_v2" (model card: cross-dataset folds)
    output_stride: int = 16
    feature_channels: int = 64  # 128 scored the same on validation (CC 0.774 vs 0.773), slower
    lstm_units: int = 64
    lstm_steps: int = 4
    num_priors: int = 16
    head_channels: int = 64
    # Multi-level features: channels taken from the backbone's last stride-8 block by a learned 2x2
    # stride-2 conv and joined to the stride-16 features before the reduction; 0: off (as
    # output stride 8 needs). Three-fold held-out CC 0.712 against 0.688 without (model card).
    skip_channels: int = 64
    # Heads on the one backbone, each from its own initialisation and trained on its own loss;
    # the map is their mean: an ensemble that pays the backbone (most of the time) once. Two:
    # 1.2x the inference, 0.6-0.7 points less crop gap closed zoomed on two folds (model card).
    heads: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def build_saliency_model(
    config: NetworkConfig = NetworkConfig(),
    input_shape: tuple = (None, None, 3),
    batch_size: int | None = None,
    per_head: bool = False,
) -> keras.Model:
    """Assemble the network. Input: RGB pixels as float 0..255 (any size divisible by 16).

    Output: a (B, H/8, W/8, 1) map, non-negative, summing to 1 over positions: with several
    heads, their mean; with `per_head` (training), every head's map stacked on the last axis.
    """
    inputs = keras.Input(shape=input_shape, batch_size=batch_size, name="pixels")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    if config.skip_channels and config.output_stride != 16:
        raise ValueError("skip_channels needs output_stride 16 (the tapped block is at stride 8)")
    taps = (STRIDE_8_BLOCK[config.backbone],) if config.skip_channels else ()
    backbone = build_backbone(config.backbone, config.output_stride, input_shape, taps=taps)
    x = backbone(x)
    if config.skip_channels:
        fine, x = x
        fine = layers.Conv2D(config.skip_channels, 2, strides=2, activation="relu",
                             name="skip")(fine)
        x = layers.Concatenate(name="with_skip")([x, fine])
    x = layers.Conv2D(config.feature_channels, 1, activation="relu", name="reduce")(x)
    maps = [_head(x, config, k) for k in range(config.heads)]
    if config.heads == 1:
        outputs = maps[0]
    elif per_head:
        outputs = layers.Concatenate(name="saliency_heads")(maps)
    else:
        outputs = layers.Average(name="saliency")(maps)
    return keras.Model(inputs, outputs, name="smartcrop_saliency")


def _head(x, config: NetworkConfig, k: int):
    """Head k: attentive ConvLSTM, priors, two dilated convolutions, softmax. Head 0 keeps the
    one-head model's layer names, so its weights load into either."""
    tag = f"_h{k}" if k else ""
    x = AttentiveConvLSTM(config.lstm_units, config.lstm_steps, name=f"attentive_convlstm{tag}")(x)
    priors = GaussianPrior(config.num_priors, seed=1 + 2 * k, name=f"gaussian_prior{tag}")(x)
    rate = 2 if config.output_stride == 16 else 4  # SAM mixes priors with wide dilated convs
    for i in (1, 2):
        x = layers.Concatenate(name=f"with_priors_{i}{tag}")([x, priors])
        x = layers.Conv2D(config.head_channels, 3, padding="same", dilation_rate=rate,
                          activation="relu", name=f"mix_{i}{tag}")(x)
    x = layers.Conv2D(1, 1, name=f"logits{tag}")(x)
    if config.output_stride > MAP_STRIDE:
        factor = config.output_stride // MAP_STRIDE
        x = Upsample(factor, name=f"upsample{tag}")(x)
    name = "saliency" if config.heads == 1 else f"saliency_h{k}"
    return SpatialSoftmax(name=name)(x)


def backbone_of(model: keras.Model) -> keras.Model:
    """The MobileNet sub-model inside an assembled network."""
    return next(layer for layer in model.layers if layer.name.startswith("mobilenet_v"))
