"""Debug view: the photo under its saliency heat map, each crop box drawn and labelled, faces
outlined."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from smartcrop.cropping import Box
from smartcrop.saliency import upsample

VIEW_SIDE = 1024
VIEW_MIN = 512  # smaller photos are enlarged by a whole factor, pixels kept sharp, to at least this
FACE_COLOUR = (255, 40, 40)  # face boxes: red, dashed, so they read apart from crop boxes
UNSURE_COLOUR = (255, 200, 60)  # unsure faces (the window's candidates): yellow, dashed, thin
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
                 boxes: dict[str, Box], faces=(), candidates=(), failed=()) -> Image.Image:
    """An RGB view (long side <= 1024; a small photo enlarged to at least 512) with heat map
    blended in, labelled crop boxes, the face boxes (anything with left, top, width, height
    in image pixels) dashed in red and the unsure faces (`candidates`) thinner in yellow.
    The boxes of `failed` labels (outputs not written) are dashed, their labels marked
    "failed"; a box shared with a written output stays solid."""
    photo = photo.convert("RGB")
    long_side = max(photo.size)
    if long_side < VIEW_MIN:  # a thumbnail's view would be too small to read its boxes
        factor = -(-VIEW_MIN // long_side)
        view_size = (photo.width * factor, photo.height * factor)
        view = photo.resize(view_size, Image.Resampling.NEAREST)
    else:
        scale = min(1.0, VIEW_SIDE / long_side)
        view_size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        view = photo.resize(view_size, Image.Resampling.BILINEAR)
    heat = upsample(saliency, *view_size)
    heat = heat / heat.max() if heat.max() > 0 else heat
    colours = heat_colours(heat)
    alpha = (0.25 + 0.5 * heat)[..., None]  # hot regions show more colour
    blended = np.asarray(view, dtype=np.float64) * (1 - alpha) + colours * alpha
    out = Image.fromarray(blended.astype(np.uint8))
    draw = ImageDraw.Draw(out)
    fx, fy = view_size[0] / image_size[0], view_size[1] / image_size[1]
    width = max(2, view_size[0] // 300)
    for group, colour, line in ((candidates, UNSURE_COLOUR, 1), (faces, FACE_COLOUR, max(1, width - 1))):
        for f in group:
            _dashed_rect(draw, (f.left * fx, f.top * fy, (f.left + f.width) * fx, (f.top + f.height) * fy),
                         colour, line)
    merged: dict[Box, list[str]] = {}
    for label, b in boxes.items():  # identical boxes share one rectangle and one label
        merged.setdefault(b, []).append(label)
    rects = []
    for k, (b, labels) in enumerate(merged.items()):
        colour = COLOURS[k % len(COLOURS)]
        x0, y0 = b.left * fx, b.top * fy  # a box under a view pixel still gets a 1-pixel rectangle
        rect = (x0, y0, max(x0, (b.left + b.width) * fx - 1), max(y0, (b.top + b.height) * fy - 1))
        if all(label in failed for label in labels):
            _dashed_rect(draw, rect, colour, width, dash=max(6, 4 * width))
        else:
            draw.rectangle(rect, outline=colour, width=width)
        rects.append((rect, ", ".join(f"{label} failed" if label in failed else label for label in labels),
                      colour))
    # Labels after every rectangle, so no line crosses a label; each placed where it overlaps
    # no other label and lies wholly inside the view (smaller text when the view is tiny).
    size = max(12, view_size[0] // 45)
    longest = max((label for _, label, _ in rects), key=len, default="")
    while size > 6 and draw.textbbox((0, 0), longest, font=ImageFont.load_default(size=size))[2] + 8 \
            > view_size[0]:
        size -= 1
    font = ImageFont.load_default(size=size)
    placed: list[tuple[float, float, float, float]] = []
    for rect, label, colour in rects:
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        w, h = right - left + 6, bottom - top + 4  # text plus its black backing
        x, y = _label_spot(rect, (w, h), width, view_size, placed)
        placed.append((x, y, x + w, y + h))
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=(0, 0, 0), outline=colour)
        draw.text((x + 3 - left, y + 2 - top), label, fill=colour, font=font)
    return out


def _label_spot(rect, size, inset, view_size, placed) -> tuple[float, float]:
    """Top-left corner for a label of `size` near `rect`: its inside corners first (top-left,
    top-right, bottom-left, bottom-right), stepping inwards past labels already `placed`;
    always inside the view. Falls back to the first spot when every one overlaps."""
    w, h = size
    vw, vh = view_size
    x0, y0, x1, y1 = rect
    pad = inset + 2
    first = None
    for cx, cy, step in ((x0 + pad, y0 + pad, 1), (x1 - pad - w, y0 + pad, 1),
                         (x0 + pad, y1 - pad - h, -1), (x1 - pad - w, y1 - pad - h, -1)):
        for n in range(12):
            x = min(max(0, cx), max(0, vw - w))
            y = min(max(0, cy + step * n * (h + 2)), max(0, vh - h))
            first = first or (x, y)
            if not any(x < px1 and px0 < x + w and y < py1 and py0 < y + h for px0, py0, px1, py1 in placed):
                return x, y
    return first


def _dashed_rect(draw: ImageDraw.ImageDraw, rect: tuple[float, float, float, float],
                 colour: tuple[int, int, int], width: int, dash: int = 6) -> None:
    """A rectangle outline drawn in dashes of `dash` pixels."""
    x0, y0, x1, y1 = rect
    for a, b, fixed, horizontal in ((x0, x1, y0, True), (x0, x1, y1, True), (y0, y1, x0, False),
                                    (y0, y1, x1, False)):
        pos = a
        while pos < b:
            end = min(b, pos + dash)
            line = (pos, fixed, end, fixed) if horizontal else (fixed, pos, fixed, end)
            draw.line(line, fill=colour, width=width)
            pos += 2 * dash
