"""From a saliency map to crop boxes: exact searches over a summed-area table. Pure numpy.

Two strategies:
- ``window``: the largest window of the aspect ratio (optionally zoomed), slid to the position
  that covers the most saliency.
- ``box``: the box that best matches the salient region by intersection-over-union, then grown
  to the aspect ratio (and at least the output size), zooming in where the region is small.

Maps may be smaller than the image: window sizes are computed in image pixels (so aspect
ratios are exact), positions are searched on the map and scaled back once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULTS = {
    # box: the salient region is the smallest set of map cells holding this share of saliency.
    "box_mass": 0.5,
    # box: a grown box is at least this fraction of the largest window's side, so a tiny
    # salient spot does not turn into an extreme close-up.
    "box_min_scale": 0.35,
    # box: the region search runs on a map at most this many cells on its long side.
    "box_grid": 48,
}


@dataclass(frozen=True)
class Box:
    """An integer box in image pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    def as_list(self) -> list[int]:
        return [self.left, self.top, self.width, self.height]


def summed_area_table(saliency: np.ndarray) -> np.ndarray:
    """(h+1, w+1) table whose [y, x] entry is the sum of saliency[:y, :x]."""
    sat = np.zeros((saliency.shape[0] + 1, saliency.shape[1] + 1), dtype=np.float64)
    np.cumsum(np.cumsum(saliency, axis=0), axis=1, out=sat[1:, 1:])
    return sat


def window_sums(sat: np.ndarray, width: int, height: int) -> np.ndarray:
    """Sum of every width x height window: entry [y, x] is the window with top-left (x, y)."""
    return (sat[height:, width:] - sat[:-height, width:]
            - sat[height:, :-width] + sat[:-height, :-width])


def box_sum(sat: np.ndarray, left: int, top: int, width: int, height: int) -> float:
    return float(sat[top + height, left + width] - sat[top, left + width]
                 - sat[top + height, left] + sat[top, left])


def largest_window(image_width: int, image_height: int, aspect: float) -> tuple[int, int]:
    """Largest (width, height) inside the image with width / height closest to `aspect`."""
    if aspect <= 0:
        raise ValueError(f"aspect ratio must be positive, got {aspect}")
    if image_width / image_height >= aspect:  # image is wider: full height
        height = image_height
        width = min(image_width, max(1, round(height * aspect)))
    else:
        width = image_width
        height = min(image_height, max(1, round(width / aspect)))
    return width, height


def _argmax_near_centre(sums: np.ndarray) -> tuple[int, int]:
    """Position of the maximum; among ties (to float noise) the one nearest the centre."""
    best = sums.max()
    ys, xs = np.nonzero(sums >= best - 1e-9 * max(abs(best), 1e-12))
    cy, cx = (sums.shape[0] - 1) / 2, (sums.shape[1] - 1) / 2
    k = np.argmin((ys - cy) ** 2 + (xs - cx) ** 2)
    return int(ys[k]), int(xs[k])


def best_window(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
                zoom: float = 1.0) -> Box:
    """The window of `aspect` (sides `zoom` times the largest) covering the most saliency.

    `saliency` covers the whole image at any resolution; the box is in image pixels.
    """
    if not 0 < zoom <= 1:
        raise ValueError(f"zoom must be in (0, 1], got {zoom}")
    image_w, image_h = image_size
    w, h = largest_window(image_w, image_h, aspect)
    if zoom < 1:
        w, h = _shrink(w, h, aspect, zoom)
    return place_window(saliency, image_size, w, h)


def _shrink(width: int, height: int, aspect: float, zoom: float) -> tuple[int, int]:
    if aspect >= 1:
        h = max(1, round(height * zoom))
        return max(1, min(width, round(h * aspect))), h
    w = max(1, round(width * zoom))
    return w, max(1, min(height, round(w / aspect)))


def place_window(saliency: np.ndarray, image_size: tuple[int, int], width: int,
                 height: int) -> Box:
    """Slide a width x height window (image pixels) to the position of maximum covered saliency."""
    image_w, image_h = image_size
    map_h, map_w = saliency.shape
    sx, sy = map_w / image_w, map_h / image_h
    ww = min(map_w, max(1, round(width * sx)))
    wh = min(map_h, max(1, round(height * sy)))
    y, x = _argmax_near_centre(window_sums(summed_area_table(saliency), ww, wh))
    left = min(max(0, round(x / sx)), image_w - width)
    top = min(max(0, round(y / sy)), image_h - height)
    return Box(left, top, width, height)


def coverage(saliency: np.ndarray, image_size: tuple[int, int], box: Box) -> float:
    """Share of the map's saliency inside `box` (image pixels), on the map's own grid."""
    map_h, map_w = saliency.shape
    sx, sy = map_w / image_size[0], map_h / image_size[1]
    x0, x1 = round(box.left * sx), round((box.left + box.width) * sx)
    y0, y1 = round(box.top * sy), round((box.top + box.height) * sy)
    total = float(saliency.sum())
    if total <= 0 or x1 <= x0 or y1 <= y0:
        return 0.0
    return box_sum(summed_area_table(saliency), x0, y0, x1 - x0, y1 - y0) / total


def salient_mask(saliency: np.ndarray, mass: float = DEFAULTS["box_mass"]) -> np.ndarray:
    """The smallest set of cells holding `mass` of the total saliency (a boolean map)."""
    flat = np.sort(saliency.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return np.ones_like(saliency, dtype=bool)
    k = int(np.searchsorted(np.cumsum(flat), mass * total))
    return saliency >= flat[min(k, flat.size - 1)]


def best_iou_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, width, height) in mask cells of the box with the highest IoU with `mask`.

    Exact: every box is scored from a summed-area table, one (top, bottom) pair at a time.
    """
    h, w = mask.shape
    sat = summed_area_table(mask.astype(np.float64))
    total = sat[-1, -1]
    lefts, rights = np.triu_indices(w + 1, k=1)  # every column span [l, r)
    best, best_box = -1.0, (0, 0, w, h)
    for top in range(h):
        bottoms = np.arange(top + 1, h + 1)
        rows = sat[bottoms] - sat[top]  # (n_bottoms, w+1) column prefix sums of the row band
        inside = rows[:, rights] - rows[:, lefts]
        area = (bottoms - top)[:, None] * (rights - lefts)[None, :]
        iou = inside / (area + total - inside)
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] > best:
            best = iou[i, j]
            best_box = (int(lefts[j]), top, int(rights[j] - lefts[j]), int(bottoms[i] - top))
    return best_box


def grow_box(box: tuple[float, float, float, float], image_size: tuple[int, int],
             aspect: float, min_size: tuple[int, int] = (1, 1),
             min_scale: float = DEFAULTS["box_min_scale"]) -> Box:
    """Grow a box (image pixels, floats) about its centre to `aspect`, inside the image.

    The result is at least `min_size` and `min_scale` of the largest window per side, and at
    most the largest window of the aspect.
    """
    image_w, image_h = image_size
    max_w, max_h = largest_window(image_w, image_h, aspect)
    left, top, bw, bh = box
    cx, cy = left + bw / 2, top + bh / 2
    # Height that satisfies every lower bound; the aspect then fixes the width.
    h = max(bh, bw / aspect, min_size[1], min_size[0] / aspect, min_scale * max_h)
    if h >= max_h or h * aspect >= max_w:
        w, h = max_w, max_h
    else:
        # Round up (past float noise) so that the rounded width still meets min_size[0].
        h = max(1, math.ceil(h - 1e-6))
        w = min(max_w, max(1, round(h * aspect)))
    x = int(round(min(max(cx - w / 2, 0), image_w - w)))
    y = int(round(min(max(cy - h / 2, 0), image_h - h)))
    return Box(x, y, w, h)


def best_box(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
             min_size: tuple[int, int] = (1, 1), mass: float = DEFAULTS["box_mass"],
             grid: int = DEFAULTS["box_grid"]) -> Box:
    """The `box` strategy: best-IoU box around the salient region, grown to `aspect`."""
    small, factor = _reduce(saliency, grid)
    left, top, w, h = best_iou_box(salient_mask(small, mass))
    sx = factor * image_size[0] / saliency.shape[1]
    sy = factor * image_size[1] / saliency.shape[0]
    return grow_box((left * sx, top * sy, w * sx, h * sy), image_size, aspect, min_size)


def _reduce(saliency: np.ndarray, grid: int) -> tuple[np.ndarray, int]:
    """Block-average by an integer factor until the long side is at most `grid` cells.

    The remainder rows/columns (fewer than `factor`) are dropped; returns (map, factor).
    """
    factor = max(1, int(np.ceil(max(saliency.shape) / grid)))
    h, w = saliency.shape[0] // factor, saliency.shape[1] // factor
    if factor == 1 or h == 0 or w == 0:
        return saliency, 1
    return saliency[:h * factor, :w * factor].reshape(h, factor, w, factor).mean(axis=(1, 3)), factor


def find_box(saliency: np.ndarray, image_size: tuple[int, int], aspect: float,
             strategy: str = "window", min_size: tuple[int, int] = (1, 1)) -> Box:
    """The crop box for one target by the named strategy ("window" or "box")."""
    if strategy == "box":
        return best_box(saliency, image_size, aspect, min_size=min_size)
    if strategy == "window":
        return best_window(saliency, image_size, aspect)
    raise ValueError(f"unknown strategy {strategy!r}")


def focus_box(image_size: tuple[int, int], aspect: float,
              point: tuple[float, float] | None = None,
              box: tuple[float, float, float, float] | None = None,
              strategy: str = "window", min_size: tuple[int, int] = (1, 1)) -> Box:
    """The crop a reviewer asked for: it contains `box`, centred on it as far as the image
    allows, or is centred on `point` (image pixels; give exactly one).

    window: the largest window of the aspect, placed on the focus. box: the focus box grown to
    the aspect (and `min_size`) about its centre, as the model's box would be; a point gets the
    largest window. A box wider or taller than the largest window cannot be held whole: the
    window is centred on it (`fit="pad"` is the way to keep it whole).
    """
    if (point is None) == (box is None):
        raise ValueError("give a focus point or a focus box, not both or neither")
    image_w, image_h = image_size
    if box is not None and strategy == "box":
        return grow_box(box, image_size, aspect, min_size)
    if box is not None:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    else:
        cx, cy = point
    w, h = largest_window(image_w, image_h, aspect)
    return Box(_clamp(round(cx - w / 2), image_w - w), _clamp(round(cy - h / 2), image_h - h), w, h)


def _clamp(value: int, upper: int) -> int:
    return min(max(value, 0), upper)


def contains(outer: Box, inner: tuple[float, float, float, float]) -> bool:
    """Whether `outer` holds the box (left, top, width, height) whole."""
    left, top, width, height = inner
    return (outer.left <= left and outer.top <= top and left + width <= outer.left + outer.width
            and top + height <= outer.top + outer.height)
