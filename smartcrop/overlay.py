"""Debug view: the photo under its saliency heat map, each crop box drawn and labelled."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from smartcrop.cropping import Box
from smartcrop.saliency import upsample

VIEW_SIDE = 1024
COLOURS = [(0, 200, 255), (255, 80, 200), (120, 255, 60), (255, 170, 0), (255, 255, 255),
           (160, 120, 255)]


def heat_colours(values: np.ndarray) -> np.ndarray:
    """Map [0, 1] values to an 'inferno'-like ramp: black -> purple -> orange -> yellow."""
    stops = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                     dtype=np.float64)
    pos = np.clip(values, 0, 1) * (len(stops) - 1)
    i = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - i)[..., None]
    return (stops[i] * (1 - frac) + stops[i + 1] * frac).astype(np.uint8)


def draw_overlay(photo: Image.Image, saliency: np.ndarray, image_size: tuple[int, int],
                 boxes: dict[str, Box]) -> Image.Image:
    """An RGB view (long side <= 1024) with heat map blended in and labelled crop boxes."""
    photo = photo.convert("RGB")
    scale = min(1.0, VIEW_SIDE / max(photo.size))
    view_size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    view = photo.resize(view_size, Image.Resampling.BILINEAR)
    heat = upsample(saliency, *view_size)
    heat = heat / heat.max() if heat.max() > 0 else heat
    colours = heat_colours(heat)
    alpha = (0.25 + 0.5 * heat)[..., None]  # hot regions show more colour
    blended = np.asarray(view, dtype=np.float64) * (1 - alpha) + colours * alpha
    out = Image.fromarray(blended.astype(np.uint8))
    draw = ImageDraw.Draw(out)
    font = ImageFont.load_default(size=max(12, view_size[0] // 45))
    fx, fy = view_size[0] / image_size[0], view_size[1] / image_size[1]
    width = max(2, view_size[0] // 300)
    merged: dict[Box, list[str]] = {}
    for label, b in boxes.items():  # identical boxes share one rectangle and one label
        merged.setdefault(b, []).append(label)
    for k, (b, labels) in enumerate(merged.items()):
        label = ", ".join(labels)
        colour = COLOURS[k % len(COLOURS)]
        x0, y0 = b.left * fx, b.top * fy  # a box under a view pixel still gets a 1-pixel rectangle
        rect = (x0, y0, max(x0, (b.left + b.width) * fx - 1), max(y0, (b.top + b.height) * fy - 1))
        draw.rectangle(rect, outline=colour, width=width)
        tx, ty = rect[0] + width + 2, rect[1] + width + 2  # label inside the top-left corner
        bbox = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle((bbox[0] - 3, bbox[1] - 2, bbox[2] + 3, bbox[3] + 2), fill=(0, 0, 0))
        draw.text((tx, ty), label, fill=colour, font=font)
    return out
