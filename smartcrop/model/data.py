"""Training batches: images on the model canvas with density and fixation targets, flipped at
random, and optionally portrait cuts of the photos on the turned (240x320) canvas."""

from __future__ import annotations

import math

import keras
import numpy as np
from PIL import Image

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH, MAP_STRIDE, PAD_VALUE, Placement, place, to_canvas
from smartcrop.fixations import FixationRecord, block_sum, density_map, fixation_counts
from smartcrop.model.augment import colour_jitter, zoom_crop

AUGMENTATIONS = ("flip", "strong")
# Portrait batches: 3:4 cuts on the turned canvas. Sources are the photos at the canvas's height
# (320), at most PORTRAIT_SOURCE_WIDTH wide (the widest dataset photo, 1.96:1, is 632).
PORTRAIT_WIDTH, PORTRAIT_HEIGHT = CANVAS_HEIGHT, CANVAS_WIDTH
PORTRAIT_SOURCE_WIDTH = 640
MIN_CUT_FIXATIONS = 5  # a cut holding fewer fixations than this is not drawn (if another can be)


def prepare(record: FixationRecord, canvas: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT)
            ) -> tuple[np.ndarray, np.ndarray]:
    """Image on a (w, h) canvas, (h, w, 3) uint8, and targets (h/8, w/8, 2): density (sum 1)
    and fixation counts."""
    p = place(record.width, record.height, *canvas)
    with Image.open(record.path) as im:
        pixels = to_canvas(im, p, *canvas)
    # Blur sigma is 3% of the image's long side, in canvas pixels.
    return pixels, _targets(record, p, *canvas, 0.03 * max(p.width, p.height))


def _targets(record: FixationRecord, p: Placement, width: int, height: int,
             sigma: float) -> np.ndarray:
    """(height/8, width/8, 2) float32: the record's fixations, moved to where `p` puts the
    image on a width x height array, as a density blurred by `sigma` pixels (sum 1) and as
    counts, each summed over map cells."""
    pts = record.fixations * [p.width / record.width, p.height / record.height] + [p.left, p.top]
    density = block_sum(density_map(pts, width, height, sigma), MAP_STRIDE)
    counts = block_sum(fixation_counts(pts, width, height), MAP_STRIDE)
    return np.stack([density, counts], axis=-1).astype(np.float32)


def _flip(x: np.ndarray, y: np.ndarray, flip: np.ndarray) -> None:
    """Mirror the chosen items of a batch, images and targets together, in place."""
    x[flip] = x[flip][:, :, ::-1]
    y[flip] = y[flip][:, :, ::-1]


def prepare_all(records, canvas: tuple[int, int] = (CANVAS_WIDTH, CANVAS_HEIGHT)
                ) -> tuple[np.ndarray, np.ndarray]:
    pairs = [prepare(r, canvas) for r in records]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def prepare_portrait(record: FixationRecord) -> tuple[np.ndarray, np.ndarray, int]:
    """A source for portrait cuts: the photo PORTRAIT_HEIGHT pixels high (width rounded to the
    map stride), left-aligned in a (320, PORTRAIT_SOURCE_WIDTH, 3) array, its targets, and its
    width in map cells. A photo narrower than 3:4 is letterboxed on the portrait canvas instead
    (width 240: its one cut is the whole photo).

    The density is blurred at 3% of the cut's long side, as `prepare` blurs a photo's, and
    summed over cells; a cut renormalises its part (`portrait_cut`).
    """
    s = MAP_STRIDE
    width = round(PORTRAIT_HEIGHT * record.width / record.height / s) * s
    if width <= PORTRAIT_WIDTH:
        p = place(record.width, record.height, PORTRAIT_WIDTH, PORTRAIT_HEIGHT)
    else:
        width = min(width, PORTRAIT_SOURCE_WIDTH)
        p = Placement(0, 0, width, PORTRAIT_HEIGHT)
    source = np.full((PORTRAIT_HEIGHT, PORTRAIT_SOURCE_WIDTH, 3), PAD_VALUE, np.uint8)
    span = max(p.left + p.width, PORTRAIT_WIDTH)
    with Image.open(record.path) as im:
        source[:, :span] = to_canvas(im, p, span, PORTRAIT_HEIGHT)
    targets = _targets(record, p, PORTRAIT_SOURCE_WIDTH, PORTRAIT_HEIGHT, 0.03 * PORTRAIT_HEIGHT)
    return source, targets, span // s


def prepare_portrait_all(records) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    triples = [prepare_portrait(r) for r in records]
    return (np.stack([t[0] for t in triples]), np.stack([t[1] for t in triples]),
            np.array([t[2] for t in triples]))


def portrait_cut(source: np.ndarray, target: np.ndarray, cells: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random 240x320 cut of a portrait source (whole map cells), among the cuts holding at
    least MIN_CUT_FIXATIONS fixations (the fullest cut if none does); density renormalised.

    The fixations were recorded on the whole photo, so a cut's stand in for what viewers of
    the cut would look at (as in tests/bench/portrait_canvas.py, which scores such cuts).
    """
    w = PORTRAIT_WIDTH // MAP_STRIDE
    columns = target[:, :cells, 1].sum(axis=0)
    held = np.convolve(columns, np.ones(w), mode="valid")  # fixations in the cut at each start
    starts = np.flatnonzero(held >= MIN_CUT_FIXATIONS)
    start = int(rng.choice(starts)) if len(starts) else int(np.argmax(held))
    y = target[:, start:start + w].copy()
    total = y[..., 0].sum()
    if total > 0:
        y[..., 0] /= total
    x = source[:, start * MAP_STRIDE:(start + w) * MAP_STRIDE].astype(np.float32)
    return x, y


class FixationBatches(keras.utils.PyDataset):
    """Batches of (pixels float32 0..255, targets); shuffled and flipped per epoch when training.

    Horizontal flips mirror the image and both targets together; `augment="strong"` adds, to
    half the images each, a zoomed crop (up to 1.3x) and colour jitter (`smartcrop.model.augment`).
    With `portrait` (the arrays of `prepare_portrait_all`, in the images' order), a share
    `portrait_share` of the training batches are instead random portrait cuts of the same photos
    on the 240x320 canvas, flipped at random, so the turned canvas the runtime uses for
    portrait photos is trained on too.
    Randomness comes from `seed` and the epoch number only, so a resumed run sees the same batches.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int = 8,
                 training: bool = True, seed: int = 0, augment: str = "flip",
                 portrait: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 portrait_share: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, not {augment!r}")
        if portrait_share and (portrait is None or len(portrait[0]) != len(images)):
            raise ValueError("portrait_share needs a portrait source for every image")
        if not 0 <= portrait_share <= 1:
            raise ValueError(f"portrait_share must be in [0, 1], got {portrait_share}")
        self.portrait = portrait
        self.portrait_share = portrait_share
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
        if self.training and self.portrait_share:
            rng = np.random.default_rng([self.seed, self.epoch, index, 2])
            tall = rng.random() < self.portrait_share
            if index < 2 and self.portrait_share < 1:
                # Keras takes the input signature from batches 0 and 1: one of each canvas
                # makes it accept both (else a phase starting on two alike stops at the other).
                tall = index == 1
            if tall:
                return self._portrait_batch(idx, rng)
        if self.training:
            _flip(x, y, np.random.default_rng([self.seed, self.epoch, index]).random(len(idx)) < 0.5)
            if self.augment == "strong":
                rng = np.random.default_rng([self.seed, self.epoch, index, 1])
                for i in range(len(idx)):
                    if rng.random() < 0.5:
                        x[i], y[i] = zoom_crop(x[i], y[i], rng)
                    if rng.random() < 0.5:
                        x[i] = colour_jitter(x[i], rng)
        return x, y

    def _portrait_batch(self, idx: np.ndarray, rng: np.random.Generator):
        sources, targets, cells = self.portrait
        pairs = [portrait_cut(sources[i], targets[i], int(cells[i]), rng) for i in idx]
        x = np.stack([p[0] for p in pairs])
        y = np.stack([p[1] for p in pairs])
        _flip(x, y, rng.random(len(idx)) < 0.5)
        return x, y

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._make_order()
