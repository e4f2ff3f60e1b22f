"""A small Python API over the same saliency model and crop search the CLI uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from smartcrop import cropping
from smartcrop.images import shrink_for_model
from smartcrop.options import Target, parse_ratio, parse_size
from smartcrop.saliency import SaliencyModel, upsample, work_map


@dataclass(frozen=True)
class CropResult:
    """One target's crop: the box in pixels of the upright image and its saliency share."""

    target: str
    box: cropping.Box
    score: float


class SmartCropper:
    """Predicts saliency and crop boxes for in-memory images.

    Args:
        weights: a .tflite model or folder (default: the shipped weights/).
        strategy: "window" or "box" (see `smartcrop.cropping`).
    """

    def __init__(self, weights: Path | None = None, strategy: str = "window", threads: int = 2):
        if strategy not in ("window", "box"):
            raise ValueError(f"strategy must be 'window' or 'box', not {strategy!r}")
        self.model = SaliencyModel(weights, threads=threads)
        self.strategy = strategy

    def _predict(self, image: Image.Image) -> np.ndarray:
        """The map from the model input the CLI makes of a full decode (so a PNG gives the CLI's boxes)."""
        return self.model.predict(shrink_for_model(image, self.model.input_size()))

    def saliency(self, image: Image.Image) -> np.ndarray:
        """Saliency map (sums to 1) with the upright image's height and width."""
        image = ImageOps.exif_transpose(image)
        return upsample(self._predict(image), image.width, image.height)

    def crop_boxes(self, image: Image.Image, ratios: Sequence[str] = (),
                   sizes: Sequence[str] = ()) -> list[CropResult]:
        """One CropResult per ratio ("16:9") and size ("1080x1350"), from one saliency pass."""
        ratios = [ratios] if isinstance(ratios, str) else ratios  # one "16:9", not its characters
        sizes = [sizes] if isinstance(sizes, str) else sizes
        targets: list[Target] = [parse_ratio(r) for r in ratios] + [parse_size(s) for s in sizes]
        if not targets:
            raise ValueError("give at least one ratio or size")
        image = ImageOps.exif_transpose(image)
        w, h = image.size
        work = work_map(self._predict(image), w, h)
        results = []
        for t in targets:
            box = cropping.find_box(work, (w, h), t.aspect, self.strategy, t.size or (1, 1))
            results.append(CropResult(t.label, box, cropping.coverage(work, (w, h), box)))
        return results
