"""Turn Google's quantized MobileNet (v1 or v2) TFLite releases into float Keras weights.

Command: ``python -m smartcrop.model.convert PRETRAINED.tflite weights/mobilenet_v1_imagenet.weights.h5``
(``make backbone``; ``--backbone mobilenet_v2`` for the v2 release). The dequantized kernels
already include the folded batch norm.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from smartcrop.model import require_train_extra

if __name__ == "__main__":  # run as a tool: one line naming the extra, not a traceback
    require_train_extra("smartcrop.model.convert")

import numpy as np  # noqa: E402

from smartcrop.model.backbone import BACKBONES, backbone_name, build_backbone, conv_layer_names  # noqa: E402


def read_quantized_convs(tflite_path: str | Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (op name, float kernel, float bias) for every conv op, in network order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(
        model_path=str(tflite_path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    details = {t["index"]: t for t in interp.get_tensor_details()}

    def dequantize(index: int) -> np.ndarray:
        q = details[index]["quantization_parameters"]
        raw = interp.get_tensor(index).astype(np.float64)
        scales, zeros = q["scales"], q["zero_points"]
        if len(scales) > 1:  # per-channel along quantized_dimension
            shape = [1] * raw.ndim
            shape[q["quantized_dimension"]] = -1
            scales, zeros = scales.reshape(shape), zeros.reshape(shape)
        return ((raw - zeros) * scales).astype(np.float32)

    convs = []
    for op in interp._get_ops_details():
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            _, w, b = op["inputs"]
            convs.append((op["op_name"], dequantize(w), dequantize(b)))
    return convs


def load_tflite_into(model, tflite_path: str | Path) -> None:
    """Copy the dequantized TFLite conv weights into `model`'s conv layers (by name).

    The backbone is known by the model's name (``mobilenet_v1_os16`` ...); release convs the
    model lacks (MobileNetV2's last conv and classifier) are skipped.
    """
    backbone = backbone_name(model)
    convs = read_quantized_convs(tflite_path)
    names = conv_layer_names(backbone)
    if len(convs) != len(names):
        raise ValueError(f"{tflite_path}: expected {len(names)} conv ops for {backbone}, "
                         f"found {len(convs)}")
    present = {layer.name for layer in model.layers}
    for name, (_, kernel, bias) in zip(names, convs, strict=True):
        if name not in present:
            continue
        layer = model.get_layer(name)
        # CONV_2D [out, h, w, in] -> [h, w, in, out]; DEPTHWISE [1, h, w, c] -> [h, w, c, 1]
        kernel = kernel.transpose(1, 2, 3, 0)
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ValueError(f"{name}: kernel {kernel.shape} does not fit {expected}")
        layer.set_weights([kernel, bias])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite", type=Path)
    parser.add_argument("output", type=Path, help="*.weights.h5 file to write")
    parser.add_argument("--backbone", choices=BACKBONES, default="mobilenet_v1")
    args = parser.parse_args(argv)
    model = build_backbone(args.backbone, output_stride=32)
    load_tflite_into(model, args.tflite)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
