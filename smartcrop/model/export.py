"""Export trained Keras weights to the LiteRT (TFLite) model the cropper runs, with a manifest.

``python -m smartcrop.model.export runs/main/best.weights.h5 --config runs/main/config.json``
writes ``weights/saliency.tflite`` (dynamic-range int8 unless ``--float``), copies the Keras
weights to ``weights/saliency.weights.h5`` and records sizes, hashes and shapes in
``weights/saliency.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import tensorflow as tf

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH
from smartcrop.model.network import NetworkConfig, build_saliency_model


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(weights: Path, config: NetworkConfig,
               canvas: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT)):
    """The network at one canvas size (w, h) the TFLite file is made from; the batch stays
    dynamic (--batch-size). The network is fully convolutional: any multiple of 16 works."""
    model = build_saliency_model(config, (canvas[1], canvas[0], 3), batch_size=None)
    model.load_weights(weights)
    return model


def to_tflite(model, quantize: bool = True) -> bytes:
    """Convert with from_keras_model, which keeps the weights as constants (see the model card)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic-range int8 weights
    return converter.convert()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("weights"))
    p.add_argument("--float", action="store_true", help="skip int8 weight quantization")
    p.add_argument("--name", default="saliency")
    p.add_argument("--canvas", default=f"{CANVAS_WIDTH}x{CANVAS_HEIGHT}",
                   help="input WxH, multiples of 16 (default: the training canvas)")
    args = p.parse_args(argv)
    canvas = tuple(int(v) for v in args.canvas.lower().split("x"))
    if len(canvas) != 2 or any(v < 16 or v % 16 for v in canvas):
        p.error(f"--canvas must be WxH, multiples of 16, not {args.canvas}")
    config = NetworkConfig(**json.loads(args.config.read_text()))
    args.out.mkdir(parents=True, exist_ok=True)
    tflite = args.out / f"{args.name}.tflite"
    model = load_model(args.weights, config, canvas)
    tflite.write_bytes(to_tflite(model, quantize=not args.float))
    keras_weights = args.out / f"{args.name}.weights.h5"
    model.save_weights(keras_weights)  # weights only: checkpoints also hold optimizer state
    manifest = {
        "model": tflite.name,
        "keras_weights": keras_weights.name,
        "config": config.to_dict(),
        "input": {"shape": [-1, canvas[1], canvas[0], 3], "dtype": "float32",
                  "range": "RGB 0..255, image letterboxed on mid-grey (128)"},
        "quantization": "float32" if args.float else "dynamic-range int8 weights",
        "files": {f.name: {"bytes": f.stat().st_size, "sha256": sha256(f)}
                  for f in (tflite, keras_weights)},
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest["files"], indent=2))


if __name__ == "__main__":
    main()
