"""Write the face detector for photo-shaped inputs: BlazeFace (full range) with its input set to
W x H instead of the 192 x 192 square, and the same network turned H x W for portrait photos.

A 4:3 photo letterboxed into the square fills 192 x 144 of it; on a 224 x 192 input it is seen
at 224 x 168, so its faces are 1.17x larger for 1.17x the work (docs/faces.md). The network is
fully convolutional, but its three upsampling layers carry their output sizes as constants
(12, 24 and 48 for the square), so those are rewritten for the new input; nothing else changes.

    python -m smartcrop.model.face_inputs weights --size 224x192

writes ``faces_224x192.tflite`` and ``faces_192x224.tflite`` beside ``faces.tflite`` and lists
them, with their bytes and sha256, in ``faces.json`` (``"shaped"``), where the cropper finds them.
Needs tensorflow (the ``train`` extra) for its flatbuffer tools; the output is byte-for-byte
the same on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from smartcrop.model import require_train_extra

if __name__ == "__main__":  # run as a tool: one line naming the extra, not a traceback
    require_train_extra("smartcrop.model.face_inputs")

import numpy as np  # noqa: E402
from tensorflow.lite.tools import flatbuffer_utils  # noqa: E402

RESIZE_BILINEAR = 23  # the builtin operator code
SQUARE = 192  # the shipped model's input side
STRIDE = 32  # the coarsest feature map's stride: input sides must be multiples of it


def reshape_input(src: Path, width: int, height: int, dst: Path) -> None:
    """Copy the square detector `src` to `dst` with a (1, height, width, 3) input."""
    if width % STRIDE or height % STRIDE:
        raise ValueError(f"{width}x{height}: both sides must be multiples of {STRIDE}")
    model = flatbuffer_utils.read_model(str(src))
    graph = model.subgraphs[0]
    resized = 0
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) != RESIZE_BILINEAR:
            continue
        buffer = model.buffers[graph.tensors[op.inputs[1]].buffer]
        rows, cols = np.frombuffer(bytes(buffer.data), np.int32)
        if rows != cols or SQUARE % rows:
            raise ValueError(f"{src}: unexpected upsampling size {rows}x{cols}")
        stride = SQUARE // rows  # this layer's output stride (16, 8, 4)
        buffer.data = np.array([height // stride, width // stride], np.int32).tobytes()
        resized += 1
    if resized != 3:
        raise ValueError(f"{src}: expected 3 upsampling layers, found {resized}")
    graph.tensors[graph.inputs[0]].shape = np.array([1, height, width, 3], np.int32)
    flatbuffer_utils.write_model(model, str(dst))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path, help="the folder holding faces.tflite and faces.json")
    p.add_argument("--size", default="224x192", help="the landscape input, WxH (default 224x192)")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    manifest_path = args.weights / "faces.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    shaped = []
    for w, h in ((width, height), (height, width)):
        name = f"faces_{w}x{h}.tflite"
        reshape_input(args.weights / "faces.tflite", w, h, args.weights / name)
        data = (args.weights / name).read_bytes()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        shaped.append(name)
        print(f"wrote {args.weights / name} ({len(data)} bytes)")
    manifest["shaped"] = shaped
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
