"""Training augmentations that keep the fixation targets right: zoomed crops and colour changes.

Each takes a (H, W, 3) float image on the model canvas, and the zoom also its (H/f, W/f, 2)
targets (density summing to 1, fixation counts), with a numpy Generator, and returns new arrays.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _resize(channel: np.ndarray, width: int, height: int) -> np.ndarray:
    im = Image.fromarray(np.ascontiguousarray(channel, dtype=np.float32), mode="F")
    return np.asarray(im.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def zoom_crop(image: np.ndarray, target: np.ndarray, rng: np.random.Generator,
              max_zoom: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """Cut a random window of whole map cells, 1/zoom of each side, and scale it back up.

    The density keeps only the fixations inside the window (renormalised to sum 1); counts are
    resampled nearest-neighbour. A window without fixations leaves the pair unchanged.
    """
    th, tw = target.shape[:2]
    f = image.shape[0] // th
    zoom = rng.uniform(1.0, max_zoom)
    ch, cw = max(1, round(th / zoom)), max(1, round(tw / zoom))
    top, left = int(rng.integers(0, th - ch + 1)), int(rng.integers(0, tw - cw + 1))
    density = target[top:top + ch, left:left + cw, 0]
    if density.sum() <= 0:
        return image, target
    window = image[top * f:(top + ch) * f, left * f:(left + cw) * f]
    out_image = np.stack([_resize(window[..., c], tw * f, th * f) for c in range(3)], axis=-1)
    out_density = np.maximum(_resize(density, tw, th), 0)
    out_density /= out_density.sum()
    rows = np.minimum((np.arange(th) + 0.5) * ch / th, ch - 1).astype(int)
    cols = np.minimum((np.arange(tw) + 0.5) * cw / tw, cw - 1).astype(int)
    counts = target[top:top + ch, left:left + cw, 1][rows][:, cols]
    return out_image, np.stack([out_density, counts], axis=-1).astype(np.float32)


def colour_jitter(image: np.ndarray, rng: np.random.Generator, strength: float = 0.2,
                  grey_chance: float = 0.1) -> np.ndarray:
    """Random saturation, contrast (about mid-grey, so the letterbox stays near 128),
    brightness, and now and then grayscale; values stay in 0..255."""
    grey = (image @ LUMA)[..., None]
    saturation = 0.0 if rng.random() < grey_chance else rng.uniform(1 - strength, 1 + strength)
    x = grey + saturation * (image - grey)
    x = 128 + rng.uniform(1 - strength, 1 + strength) * (x - 128)
    x = x + rng.uniform(-strength, strength) * 64
    return np.clip(x, 0, 255).astype(np.float32)
