"""Where an image sits on the model's fixed input canvas (letterboxed, aspect kept)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

CANVAS_WIDTH = 320  # the training canvas
CANVAS_HEIGHT = 240
# The canvas the shipped model is exported for and runs landscape photos on: the same weights
# on a slightly larger canvas than they were trained on keep more fixations in their crops on
# the leave-one-dataset-out folds, at 1.11x the inference time. Portrait photos keep the
# training canvas turned upright (240x320), where portrait cuts did better (weights/README.md,
# "Session 24").
RUN_WIDTH = 336
RUN_HEIGHT = 256
MAP_STRIDE = 8  # the model's map has one cell per 8x8 canvas pixels
PAD_VALUE = 128  # mid-grey: zero after the model's [-1, 1] rescaling


@dataclass(frozen=True)
class Placement:
    """The image's box on the canvas, in canvas pixels; all multiples of MAP_STRIDE."""

    left: int
    top: int
    width: int
    height: int

    def map_slice(self) -> tuple[slice, slice]:
        """Rows and columns of the model's map that cover the image."""
        s = MAP_STRIDE
        return (slice(self.top // s, (self.top + self.height) // s),
                slice(self.left // s, (self.left + self.width) // s))


def place(width: int, height: int, canvas_width: int = CANVAS_WIDTH,
          canvas_height: int = CANVAS_HEIGHT) -> Placement:
    """Fit a width x height image inside the canvas, centred, sides rounded to the map stride.

    Rounding to whole map cells distorts the aspect by at most half a cell (4 px), and keeps
    the image's region of the map an exact block of cells.
    """
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    s = MAP_STRIDE
    scale = min(canvas_width / width, canvas_height / height)
    w = min(canvas_width, max(s, int(round(width * scale / s)) * s))
    h = min(canvas_height, max(s, int(round(height * scale / s)) * s))
    left = (canvas_width - w) // 2 // s * s
    top = (canvas_height - h) // 2 // s * s
    return Placement(left, top, w, h)


def to_canvas(image: Image.Image, placement: Placement | None = None,
              canvas_width: int = CANVAS_WIDTH, canvas_height: int = CANVAS_HEIGHT) -> np.ndarray:
    """Resize an RGB image onto a mid-grey canvas: (canvas_height, canvas_width, 3) uint8."""
    placement = placement or place(*image.size, canvas_width, canvas_height)
    canvas = np.full((canvas_height, canvas_width, 3), PAD_VALUE, dtype=np.uint8)
    resized = image.convert("RGB").resize((placement.width, placement.height),
                                          Image.Resampling.BILINEAR, reducing_gap=2.0)
    canvas[placement.top:placement.top + placement.height,
           placement.left:placement.left + placement.width] = np.asarray(resized)
    return canvas
