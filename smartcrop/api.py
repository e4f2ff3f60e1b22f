"""A small Python API over the same saliency model and crop search the CLI uses."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from smartcrop import cropping
from smartcrop.faces import Face, FaceDetector, face_array
from smartcrop.images import shrink_for_model
from smartcrop.options import Target, parse_size, to_ratio
from smartcrop.saliency import SaliencyModel, upsample, work_map


@dataclass(frozen=True)
class CropResult:
    """One target's crop: the box in pixels of the upright image, its saliency share, the faces
    found (the same on every result of one image; empty with faces off) and how many it cuts."""

    target: str
    box: cropping.Box
    score: float
    faces: tuple[Face, ...] = ()
    face_cut: int = 0


class SmartCropper:
    """Predicts saliency and crop boxes for in-memory images.

    Args:
        weights: a .tflite model or folder (default: the shipped weights/).
        strategy: "window" or "box" (see `smartcrop.cropping`).
        faces: detect faces and keep them whole in crops (as the CLI's --faces, the default).
        thorough: the mean of the weights' ensemble models' flip-averaged maps, and a tiled face
            search, as the CLI's --thorough (slower). The box strategy always searches tiles.
    """

    def __init__(self, weights: Path | None = None, strategy: str = "window", threads: int = 2,
                 faces: bool = True, thorough: bool = False):
        if strategy not in ("window", "box"):
            raise ValueError(f"strategy must be 'window' or 'box', not {strategy!r}")
        if threads < 1:  # the runtime's own message is "num_threads should >= 1"
            raise ValueError("threads must be at least 1")
        self.model = SaliencyModel(weights, threads=threads, flip=thorough, ensemble=thorough)
        self.detector = FaceDetector(tiles=thorough or strategy == "box") if faces else None
        self.strategy = strategy

    @staticmethod
    def _upright(image: Image.Image) -> Image.Image:
        """The image turned upright by its EXIF orientation; anything but a PIL image is refused
        here, with a way out, rather than failing deep inside Pillow."""
        if not isinstance(image, Image.Image):
            hint = (": use PIL.Image.fromarray(array) for an RGB array (OpenCV's are BGR)"
                    if isinstance(image, np.ndarray) else "")
            raise TypeError(f"expected a PIL image, got {type(image).__module__}."
                            f"{type(image).__qualname__}{hint}")
        return ImageOps.exif_transpose(image)

    def _small(self, image: Image.Image) -> Image.Image:
        """The model input the CLI makes of a full decode (so a PNG gives the CLI's boxes)."""
        return shrink_for_model(image, self.model.input_size(*image.size))

    def _predict(self, image: Image.Image) -> np.ndarray:
        return self.model.predict(self._small(image))

    def faces(self, image: Image.Image) -> list[Face]:
        """Faces in the upright image, boxes in its pixels, best score first ([] with faces off)."""
        image = self._upright(image)
        return self.detector.detect(self._small(image), image.size) if self.detector else []

    def saliency(self, image: Image.Image) -> np.ndarray:
        """Saliency map (sums to 1) with the upright image's height and width."""
        image = self._upright(image)
        return upsample(self._predict(image), image.width, image.height)

    def crop_boxes(self, image: Image.Image, ratios: Sequence[str | float] = (),
                   sizes: Sequence[str] = ()) -> list[CropResult]:
        """One CropResult per ratio ("16:9", or a number: 1.5 is 1.5:1) and size ("1080x1350"),
        from one saliency pass. Ratios are checked as the CLI's --ratio ("1080x1080" is refused
        with a hint to give it as a size)."""
        one = (str, numbers.Real)  # one "16:9", not its characters
        ratios = [ratios] if isinstance(ratios, one) else ratios
        sizes = [sizes] if isinstance(sizes, str) else sizes
        targets: list[Target] = ([to_ratio(r, "sizes=['{}']") for r in ratios]
                                 + [parse_size(s) for s in sizes])
        if not targets:
            raise ValueError("give at least one ratio or size")
        image = self._upright(image)
        w, h = image.size
        small = self._small(image)
        work = work_map(self.model.predict(small), w, h)
        faces, candidates = (self.detector.find(small, (w, h), candidates=self.strategy == "window")
                             if self.detector else ((), ()))
        faces = tuple(faces)
        rows, unsure = face_array(faces), face_array(candidates)
        results = []
        for t in targets:
            box = cropping.find_box(work, (w, h), t.aspect, self.strategy, t.size or (1, 1), rows,
                                    candidates=unsure)
            results.append(CropResult(t.label, box, cropping.coverage(work, (w, h), box), faces,
                                      cropping.faces_cut(box, rows)))
        return results
