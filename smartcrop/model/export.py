"""Export trained Keras weights to the LiteRT (TFLite) model the cropper runs, with a manifest.

``python -m smartcrop.model.export runs/main/best.weights.h5 --config runs/main/config.json``
writes ``weights/saliency.tflite`` (on the 336x256 run canvas, a little larger than the
320x240 training one: ``canvas.RUN_WIDTH``), copies the Keras weights to ``weights/saliency.weights.h5``
and records sizes, hashes, shapes and the quantization in ``weights/saliency.json``. The same
weights are also exported on a portrait canvas (``saliency_portrait.tflite``, by default the
240x320 training one turned upright, calibrated on the same images placed on it) for portrait
photos, which would otherwise fill only a letterboxed part of the landscape canvas
(``--no-portrait``: the main model only).
``--name NAME`` writes ``NAME.*`` instead; ``--ensemble NAME`` records in the manifest such a
model, already beside it, whose maps ``smartcrop --thorough`` averages with this one's
(``make export-member``, then ``make export``).

Quantization (``--quantize``): ``int8`` (default) runs every convolution on int8 weights and
activations, scaled on training images (never validation ones), and keeps the element-wise
ops of the ConvLSTM, priors and softmax in float; ``weights`` stores int8 weights only
(dynamic range); ``float`` none.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from smartcrop.model import require_train_extra

if __name__ == "__main__":  # run as a tool: one line naming the extra, not a traceback
    require_train_extra("smartcrop.model.export")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from smartcrop.canvas import (  # noqa: E402
    CANVAS_HEIGHT,
    CANVAS_WIDTH,
    RUN_HEIGHT,
    RUN_WIDTH,
    place,
    to_canvas,
)
from smartcrop.fixations import load_datasets, split  # noqa: E402
from smartcrop.model.network import NetworkConfig, build_saliency_model  # noqa: E402
from smartcrop.model.train import DEFAULT_DATA, canvas_arg  # noqa: E402
from smartcrop.saliency import check_centre_mix  # noqa: E402

QUANTIZATIONS = {
    "int8": "int8 convolutions (weights and activations), other ops float32",
    "weights": "dynamic-range int8 weights",
    "float": "float32",
}
# With --quantize int8 these run on int8, and so do the ops that only move their data; the
# rest (sigmoid, tanh, exp, sums, products of the ConvLSTM and softmax) stay float: in int8
# they wreck the map (measured: CC 0.63 against the int8-weights export's map on validation
# canvases, where keeping them float gives 0.997).
INT8_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "RESHAPE",
            "EXPAND_DIMS", "STRIDED_SLICE", "TILE", "SHAPE"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(weights: Path, config: NetworkConfig,
               canvas: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT)):
    """The network at one canvas size (w, h) the TFLite file is made from; the batch stays
    dynamic (--batch-size). The network is fully convolutional: any multiple of 16 works."""
    model = build_saliency_model(config, (canvas[1], canvas[0], 3), batch_size=None)
    model.load_weights(weights)
    return model


def calibration_canvases(datasets: list[Path], count: int, canvas: tuple[int, int],
                          seed: int = 0) -> np.ndarray:
    """`count` training-split images (seeded pick) on the model canvas, float32 0..255."""
    train, _ = split(load_datasets(datasets))
    picked = np.random.default_rng(seed).choice(len(train), min(count, len(train)), replace=False)
    out = []
    for i in sorted(picked):
        with Image.open(train[i].path) as im:
            out.append(to_canvas(im.convert("RGB"), place(*im.size, *canvas), *canvas))
    return np.stack(out).astype(np.float32)


def _op_names(tflite: bytes) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    return {op["op_name"] for op in Interpreter(model_content=tflite)._get_ops_details()}


def to_tflite(model, quantize: str = "int8", calibration: np.ndarray | None = None) -> bytes:
    """Convert with from_keras_model, which keeps the weights as constants (see the model card).

    `calibration` (canvases) sets the int8 activation ranges; needed for ``int8`` only.
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "float":
        return converter.convert()
    if quantize != "weights" and calibration is None:
        raise ValueError("int8 quantization needs calibration images")
    float_ops = sorted(_op_names(converter.convert()) - INT8_OPS) if quantize == "int8" else []
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "weights":
        return converter.convert()

    def samples():
        for canvas in calibration:
            yield [canvas[None]]

    converter.representative_dataset = samples
    # The debugger's denylist is TFLite's documented way to keep chosen ops in float.
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=float_ops)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=samples, debug_options=options)
    return debugger.get_nondebug_quantized_model()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("weights"))
    p.add_argument("--quantize", choices=tuple(QUANTIZATIONS), default="int8",
                   help="int8 convolutions (default), int8 weights only, or float")
    p.add_argument("--calibrate", nargs="+", type=Path, default=[Path(d) for d in DEFAULT_DATA],
                   metavar="DATASET", help="datasets whose training images scale int8 activations")
    p.add_argument("--calibration-images", type=int, default=128)
    p.add_argument("--name", default="saliency")
    p.add_argument("--canvas", type=canvas_arg, default=f"{RUN_WIDTH}x{RUN_HEIGHT}",
                   help=f"input WxH, multiples of 16 (default: the run canvas, {RUN_WIDTH}x{RUN_HEIGHT}, "
                        f"a little larger than the {CANVAS_WIDTH}x{CANVAS_HEIGHT} training one)")
    p.add_argument("--centre-mix", type=float, default=0.0, metavar="W",
                   help="maps are (1 - W) x the model's + W x a centre prior when used (the "
                        "manifest carries W; choose it by the cross-dataset crop figure)")
    p.add_argument("--centre-fade", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="fade the mix to 0 as a map's concentration (mass in its top tenth) goes "
                        "from LO to HI: confident maps are trusted")
    p.add_argument("--portrait-canvas", type=canvas_arg, default=f"{CANVAS_HEIGHT}x{CANVAS_WIDTH}",
                   help="the portrait model's input WxH, taller than wide (default: the training "
                        f"portrait canvas, {CANVAS_HEIGHT}x{CANVAS_WIDTH}: portrait cuts lost on "
                        "a larger one, weights/README.md, \"Session 24\")")
    p.add_argument("--portrait", action=argparse.BooleanOptionalAction, default=True,
                   help="also export the same weights on --portrait-canvas as "
                        "<name>_portrait.tflite, for portrait photos (default on for a landscape canvas)")
    p.add_argument("--ensemble", nargs="+", default=[], metavar="NAME",
                   help="further models already in --out (exported there with --name NAME) whose "
                        "maps smartcrop --thorough averages with this model's")
    args = p.parse_args(argv)
    for name in args.ensemble:
        if name == args.name or Path(name).name != name \
                or not (args.out / f"{name}.tflite").is_file():
            p.error(f"--ensemble {name}: no other model {name}.tflite in {args.out}; export it "
                    f"there first with --name {name}")
    try:
        check_centre_mix(args.centre_mix, args.centre_fade)
    except ValueError as e:
        p.error(str(e).replace("centre_", "--centre-"))
    canvas, upright = args.canvas, args.portrait_canvas
    if upright[1] <= upright[0]:
        p.error("--portrait-canvas must be taller than wide, not {}x{}".format(*upright))
    config = NetworkConfig(**json.loads(args.config.read_text()))
    args.out.mkdir(parents=True, exist_ok=True)
    tflite = args.out / f"{args.name}.tflite"
    portrait = args.out / f"{args.name}_portrait.tflite" if args.portrait and canvas[0] > canvas[1] else None
    outputs = [(tflite, canvas)] + ([(portrait, upright)] if portrait else [])
    calibration = None
    for path, size in reversed(outputs):  # the main canvas last: its model and calibration stay
        model = load_model(args.weights, config, size)
        if args.quantize == "int8":
            calibration = calibration_canvases(args.calibrate, args.calibration_images, size)
        path.write_bytes(to_tflite(model, args.quantize, calibration))
    if portrait is None:
        portrait_stale = args.out / f"{args.name}_portrait.tflite"
        portrait_stale.unlink(missing_ok=True)  # never leave one from an older export beside it
    keras_weights = args.out / f"{args.name}.weights.h5"
    model.save_weights(keras_weights)  # weights only: checkpoints also hold optimizer state
    manifest = {
        "model": tflite.name,
        "keras_weights": keras_weights.name,
        "config": config.to_dict(),
        "input": {"shape": [-1, canvas[1], canvas[0], 3], "dtype": "float32",
                  "range": "RGB 0..255, image letterboxed on mid-grey (128)"},
        **({"portrait": {"model": portrait.name, "input": {"shape": [-1, upright[1], upright[0], 3]},
                         "use": "photos taller than wide"}} if portrait else {}),
        "quantization": QUANTIZATIONS[args.quantize],
        **({"ensemble": args.ensemble} if args.ensemble else {}),
        **({"centre_mix": args.centre_mix} if args.centre_mix else {}),
        **({"centre_fade": args.centre_fade} if args.centre_mix and args.centre_fade else {}),
        **({"calibration": {"datasets": [d.name for d in args.calibrate], "split": "train",
                            "images": len(calibration), "seed": 0}} if calibration is not None else {}),
        "files": {f.name: {"bytes": f.stat().st_size, "sha256": sha256(f)}
                  for f in (tflite, *([portrait] if portrait else []), keras_weights)},
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest["files"], indent=2))


if __name__ == "__main__":
    main()
