"""Dequantizing Google's MobileNet v1 and v2 TFLite releases into the float Keras backbones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = [pytest.mark.train, pytest.mark.data]

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from smartcrop.model.backbone import build_backbone, build_mobilenet_v1  # noqa: E402
from smartcrop.model.convert import load_tflite_into, main, read_quantized_convs  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PRETRAINED = SHARED / "pretrained" / "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"
PHOTO = SHARED / "datasets" / "osie" / "images" / "1001.jpg"

needs_pretrained = pytest.mark.skipif(not PRETRAINED.is_file(), reason=f"{PRETRAINED} is absent")


def _photo() -> np.ndarray:
    with Image.open(PHOTO) as im:
        return np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR))


def _synthetic() -> np.ndarray:
    """Random coloured discs on a sky-blue ground: photo-like statistics, no files needed.

    (A plain linear gradient is a poor probe: its activations sit where the 8-bit model is
    coarsest, and float and quantized embeddings only correlate ~0.97 on it.)
    """
    rng = np.random.default_rng(0)
    im = Image.new("RGB", (224, 224), (120, 150, 200))
    draw = ImageDraw.Draw(im)
    for _ in range(30):
        x, y = rng.integers(0, 224, 2)
        r = rng.integers(5, 40)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return np.asarray(im)


def _quantized_embedding(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """The TFLite model's own 1024-d embedding (dequantized) and its output scale."""
    interp = litert.Interpreter(model_path=str(PRETRAINED))
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.uint8
    interp.set_tensor(inp["index"], pixels[None])
    interp.invoke()
    scale, zero = out["quantization"]
    return (interp.get_tensor(out["index"]).astype(np.float32).reshape(-1) - zero) * scale, scale


@pytest.fixture(scope="module")
def converted():
    model = build_mobilenet_v1(32, (224, 224, 3))
    load_tflite_into(model, PRETRAINED)
    return model


@needs_pretrained
def test_reads_27_convs_with_keras_layouts():
    convs = read_quantized_convs(PRETRAINED)
    assert len(convs) == 27
    assert [op for op, _, _ in convs[:3]] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]
    assert convs[0][1].shape == (32, 3, 3, 3)  # [out, h, w, in]
    assert convs[1][1].shape == (1, 3, 3, 32)  # [1, h, w, channels]
    assert all(k.dtype == np.float32 and b.dtype == np.float32 for _, k, b in convs)


@needs_pretrained
@pytest.mark.parametrize("source", ["photo", "synthetic"])
def test_float_embedding_matches_quantized_model(converted, source):
    if source == "photo" and not PHOTO.is_file():
        pytest.skip(f"{PHOTO} is absent")
    pixels = _photo() if source == "photo" else _synthetic()
    expected, scale = _quantized_embedding(pixels)
    # the quantized input is uint8 with scale 1/128 and zero point 128: float input in [-1, 1)
    x = (pixels.astype(np.float32)[None] - 128.0) / 128.0
    features = keras.ops.convert_to_numpy(converted(x))
    assert features.shape == (1, 7, 7, 1024)
    embedding = features.mean(axis=(1, 2)).reshape(-1)
    assert expected.std() > 0 and embedding.std() > 0
    corr = np.corrcoef(embedding, expected)[0, 1]
    assert corr > 0.99, f"correlation {corr:.4f}"
    # and the same scale, not just the same pattern: within a few quantization steps on average
    assert np.mean(np.abs(embedding - expected)) < 4 * scale


@needs_pretrained
def test_main_writes_loadable_weights(tmp_path, converted):
    out = tmp_path / "sub" / "mobilenet.weights.h5"
    main([str(PRETRAINED), str(out)])
    model = build_mobilenet_v1(32, (224, 224, 3))
    model.load_weights(out)
    for a, b in zip(model.get_weights(), converted.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@needs_pretrained
def test_truncated_file_raises(tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(PRETRAINED.read_bytes()[:100_000])
    with pytest.raises(ValueError):
        load_tflite_into(build_mobilenet_v1(32, (224, 224, 3)), broken)


@needs_pretrained
def test_other_network_raises(tmp_path):
    """A valid TFLite file with a different conv count (MobileNetV2) is refused by name count."""
    other = SHARED / "pretrained" / "mobilenet_v2_1.0_224_quant.tflite"
    if not other.is_file():
        pytest.skip(f"{other} is absent")
    copy = tmp_path / "v2.tflite"
    shutil.copy(other, copy)
    with pytest.raises(ValueError, match="expected 27 conv ops"):
        load_tflite_into(build_mobilenet_v1(32, (224, 224, 3)), copy)


PRETRAINED_V2 = SHARED / "pretrained" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"


@pytest.mark.skipif(not PRETRAINED_V2.is_file(), reason=f"{PRETRAINED_V2} is absent")
def test_v2_features_match_the_quantized_release():
    """The float MobileNetV2 (to block 17, and its stride-8 tap) against the release's own
    intermediate tensors, read with every tensor preserved, on a committed photo. (On the
    synthetic discs the int8 release's 17 blocks drift further from float: 0.965 at block 17.)"""
    model = build_backbone("mobilenet_v2", 32, (224, 224, 3), taps=(6,))
    load_tflite_into(model, PRETRAINED_V2)
    with Image.open(Path(__file__).resolve().parents[1] / "data" / "astronaut.png") as im:
        pixels = np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR))
    interp = litert.Interpreter(
        model_path=str(PRETRAINED_V2), experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    scale, zero = inp["quantization"]  # uint8, 1/127.5 and 127: float input in [-1, 1]
    interp.set_tensor(inp["index"], pixels[None])
    interp.invoke()

    def release(name_part: str, shape: tuple) -> np.ndarray:
        """The activation tensor of that name and shape (not the layer's weights)."""
        t = next(t for t in interp.get_tensor_details()
                 if name_part in t["name"] and tuple(t["shape"]) == shape)
        q = t["quantization_parameters"]
        return (interp.get_tensor(t["index"]).astype(np.float32) - q["zero_points"][0]) * q["scales"][0]

    x = (pixels.astype(np.float32)[None] - zero) * scale
    fine, features = (keras.ops.convert_to_numpy(t) for t in model(x))
    assert fine.shape == (1, 28, 28, 32) and features.shape == (1, 7, 7, 320)
    for ours, name in ((fine, "expanded_conv_6/add"), (features, "expanded_conv_17/project")):
        theirs = release(name, ours.shape)
        corr = np.corrcoef(ours.ravel(), theirs.ravel())[0, 1]
        assert corr > 0.98, f"{name}: correlation {corr:.4f}"


@needs_pretrained
@pytest.mark.skipif(not PRETRAINED_V2.is_file(), reason=f"{PRETRAINED_V2} is absent")
def test_v1_release_into_v2_backbone_raises():
    with pytest.raises(ValueError, match="expected 53 conv ops for mobilenet_v2"):
        load_tflite_into(build_backbone("mobilenet_v2", 32, (224, 224, 3)), PRETRAINED)
