"""Training batches: images on the model canvas with density and fixation targets, flipped at random."""

from __future__ import annotations

import math

import keras
import numpy as np
from PIL import Image

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH, MAP_STRIDE, place, to_canvas
from smartcrop.fixations import FixationRecord, block_sum, density_map, fixation_counts
from smartcrop.model.augment import colour_jitter, zoom_crop

AUGMENTATIONS = ("flip", "strong")


def prepare(record: FixationRecord) -> tuple[np.ndarray, np.ndarray]:
    """Canvas image (H, W, 3) uint8 and targets (H/8, W/8, 2): density (sum 1), fixation counts."""
    p = place(record.width, record.height)
    with Image.open(record.path) as im:
        canvas = to_canvas(im, p)
    # Fixations in canvas pixels; blur sigma is 3% of the image's long side, in canvas pixels.
    pts = record.fixations * [p.width / record.width, p.height / record.height] + [p.left, p.top]
    sigma = 0.03 * max(p.width, p.height)
    density = block_sum(density_map(pts, CANVAS_WIDTH, CANVAS_HEIGHT, sigma), MAP_STRIDE)
    counts = block_sum(fixation_counts(pts, CANVAS_WIDTH, CANVAS_HEIGHT), MAP_STRIDE)
    return canvas, np.stack([density, counts], axis=-1).astype(np.float32)


def prepare_all(records) -> tuple[np.ndarray, np.ndarray]:
    pairs = [prepare(r) for r in records]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class FixationBatches(keras.utils.PyDataset):
    """Batches of (pixels float32 0..255, targets); shuffled and flipped per epoch when training.

    Horizontal flips mirror the image and both targets together; `augment="strong"` adds, to
    half the images each, a zoomed crop (up to 1.3x) and colour jitter (`smartcrop.model.augment`).
    Randomness comes from `seed` and the epoch number only, so a resumed run sees the same batches.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int = 8,
                 training: bool = True, seed: int = 0, augment: str = "flip", **kwargs):
        super().__init__(**kwargs)
        if augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, not {augment!r}")
        self.augment = augment
        self.images = images
        self.targets = targets
        self.batch_size = batch_size
        self.training = training
        self.seed = seed
        self.epoch = 0
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        n = len(self.images)
        if not self.training:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.training else math.ceil(n / self.batch_size)

    def __getitem__(self, index: int):
        idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        x = self.images[idx].astype(np.float32)
        y = self.targets[idx].copy()
        if self.training:
            flip = np.random.default_rng([self.seed, self.epoch, index]).random(len(idx)) < 0.5
            x[flip] = x[flip][:, :, ::-1]
            y[flip] = y[flip][:, :, ::-1]
            if self.augment == "strong":
                rng = np.random.default_rng([self.seed, self.epoch, index, 1])
                for i in range(len(idx)):
                    if rng.random() < 0.5:
                        x[i], y[i] = zoom_crop(x[i], y[i], rng)
                    if rng.random() < 0.5:
                        x[i] = colour_jitter(x[i], rng)
        return x, y

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._make_order()
