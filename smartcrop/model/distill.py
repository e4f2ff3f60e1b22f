"""Distillation targets: teacher models' mean map blended into each training density.

Two differently built models, averaged, crop better on unseen datasets than either alone, at
twice the inference (weights/README.md, "A two-model ensemble"). Training one network on the
ensemble's maps as well as the fixations aims at that gain for one model's cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smartcrop.canvas import place
from smartcrop.saliency import _quiet_stderr, resolve_weights


def image_regions(records) -> list[tuple[slice, slice]]:
    """Rows and columns of the map that each record's image covers on the canvas."""
    return [place(r.width, r.height).map_slice() for r in records]


def teacher_maps(canvases: np.ndarray, regions, teachers) -> np.ndarray:
    """Mean of the teachers' raw maps (n, rows, cols), each summing to 1 over its image's region.

    `teachers` are exported models (.tflite files or folders holding saliency.tflite), run as
    they are: no centre mix, which the student's own export adds. They must be exported on the
    training canvas (`--canvas 320x240`; the shipped files run on a larger one). Letterbox cells
    get 0, as in the fixation densities.
    """
    from ai_edge_litert.interpreter import Interpreter

    out = None
    for teacher in teachers:
        path, _ = resolve_weights(Path(teacher))
        with _quiet_stderr():
            interp = Interpreter(model_path=str(path), num_threads=2)
            interp.allocate_tensors()
        detail = interp.get_input_details()[0]
        if tuple(detail["shape"][1:3]) != canvases.shape[1:3]:
            h, w = canvases.shape[1:3]
            raise ValueError(f"{path}: input {tuple(int(v) for v in detail['shape'][1:3])} is not "
                             f"the training canvas {(h, w)}: export the teacher with --canvas {w}x{h}")
        output = interp.get_output_details()[0]["index"]
        maps = None
        for i, canvas in enumerate(canvases):
            interp.set_tensor(detail["index"], canvas[None].astype(detail["dtype"]))
            interp.invoke()
            raw = np.maximum(interp.get_tensor(output)[0, ..., 0].astype(np.float64), 0)
            if maps is None:
                maps = np.zeros((len(canvases), *raw.shape))
            rows, cols = regions[i]
            region = raw[rows, cols]
            total = region.sum()
            maps[i][rows, cols] = region / total if total > 0 else 1 / region.size
        out = maps if out is None else out + maps
    return (out / len(teachers)).astype(np.float32)


def blend(targets: np.ndarray, maps: np.ndarray, weight: float) -> np.ndarray:
    """Targets whose density is (1 - weight) x fixation density + weight x teacher map.

    Both sum to 1 per image, so the blend does too; the fixation counts are left as they are.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"teacher weight must be within 0..1, not {weight}")
    if maps.shape != targets.shape[:3]:
        raise ValueError(f"teacher maps {maps.shape} do not match targets {targets.shape[:3]}")
    out = targets.copy()
    out[..., 0] = (1 - weight) * targets[..., 0] + weight * maps
    return out
