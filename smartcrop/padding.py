"""``--fit pad|auto``: letterbox the whole image into the target instead of cropping it.

`pad` places the image, scaled to fit, in the middle of a canvas of the target's aspect, on a
background: the photo itself blurred and darkened behind it (as social apps do), a solid
colour, or `auto` (the border's colour when the border is plain, as on product shots; blur
otherwise). `choose` is the rule of `--fit auto`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from smartcrop.images import has_alpha, to_8bit

# --fit auto crops when the crop keeps at least this share of the predicted saliency (and
# loses no face, see faces_lost), pads otherwise. Measured on dataset photos against where
# people looked (tests/bench/fit_threshold.py; README "Padding").
AUTO_MIN_SCORE = 0.65
# --fit auto pads for a face the crop leaves out only when the face's side is at least this
# share of the largest face's (a face cut by the crop's edge always counts). On 300 dataset
# photos, faces left out of crops are mostly 0.6-1.0 of the largest (crowds and group rows);
# 0.5 still pads for a second subject at 0.54-0.66 that 0.75 would drop, and crops past
# bystanders at 0.33-0.37 (tests/bench/fit_faces.py; README "Padding").
AUTO_PROMINENT_FACE = 0.5
# A border whose pixels spread less than this (std per channel, 0-255) counts as plain.
PLAIN_BORDER_STD = 10.0
# The blurred backdrop is made this small (long side), blurred, then enlarged: cheap and smooth.
_BLUR_SIDE = 96
_BLUR_DARKEN = 0.6


def canvas_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """The smallest canvas of `aspect` that holds a width x height image whole."""
    if width / height >= aspect:  # image is wider than the target: bars above and below
        return width, max(height, round(width / aspect))
    return max(width, round(height * aspect)), height


def choose(score: float | None, faces_lost: int | None = None,
           min_score: float = AUTO_MIN_SCORE) -> str:
    """``--fit auto``: "crop" when the crop loses no face (`faces_lost` = 0 or unknown) and
    keeps `min_score` of the saliency; "pad" otherwise."""
    if faces_lost:
        return "pad"
    return "crop" if score is None or score >= min_score else "pad"


def faces_lost(box, faces, whole: float = 0.02, prominent: float = AUTO_PROMINENT_FACE) -> int:
    """How many faces (rows of left, top, width, height) `box` (a cropping.Box) loses: every
    face its edge cuts (more than `whole` of the face on each side, as `cropping.faces_cut`
    counts), and every face it leaves out (all but `whole` outside) whose side (square root of
    its area) is at least `prominent` times the largest face's. A group photo's 9:16 crop loses
    people either way; a small bystander left out does not make it pad."""
    f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    if not len(f):
        return 0
    ix = np.clip(np.minimum(f[:, 0] + f[:, 2], box.left + box.width) - np.maximum(f[:, 0], box.left), 0, None)
    iy = np.clip(np.minimum(f[:, 1] + f[:, 3], box.top + box.height) - np.maximum(f[:, 1], box.top), 0, None)
    area = f[:, 2] * f[:, 3]
    inside = ix * iy
    cut = np.minimum(inside, area - inside) > whole * area
    left_out = ~cut & (area - inside > whole * area)
    side = np.sqrt(area)
    return int(np.sum(cut) + np.sum(left_out & (side >= prominent * side.max())))


def parse_colour(text: str) -> tuple[int, int, int]:
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def plain_border(im: Image.Image) -> tuple[int, ...] | None:
    """The border's mean colour when the border is plain (one colour), else None. An RGBA
    image gives an RGBA colour, measured with premultiplied alpha: the colour hidden under
    transparent pixels does not count, and a transparent border is (0, 0, 0, 0)."""
    alpha = im.mode == "RGBA"
    small = im.convert("RGBa" if alpha else "RGB")
    small.thumbnail((128, 128), Image.Resampling.BILINEAR)
    a = np.asarray(small, dtype=np.float64)
    bands = a.shape[2]
    k = max(1, min(a.shape[:2]) // 20)
    border = np.concatenate([a[:k].reshape(-1, bands), a[-k:].reshape(-1, bands),
                             a[:, :k].reshape(-1, bands), a[:, -k:].reshape(-1, bands)])
    if border.std(axis=0).max() > PLAIN_BORDER_STD:
        return None
    mean = border.mean(axis=0)
    if alpha:  # back to straight alpha
        mean[:3] = mean[:3] * 255 / mean[3] if mean[3] > 0 else 0
    return tuple(int(round(min(255.0, v))) for v in mean)


def blurred_backdrop(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The image scaled to cover `size` (centre kept), heavily blurred and darkened. An RGBa
    image (premultiplied alpha: transparent pixels add no colour) gives an RGBa backdrop, its
    alpha blurred too but not darkened."""
    w, h = size
    scale = _BLUR_SIDE / max(w, h)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    cover = max(sw / im.width, sh / im.height)
    cw, ch = im.width * cover, im.height * cover
    # Clamped: where the image's aspect decides `cover`, cw (or ch) equals sw (sh) only up to
    # float rounding, and Pillow refuses a box starting a hair below 0 (a 535x800 photo at 1:1).
    left, top = max(0.0, (cw - sw) / 2 / cover), max(0.0, (ch - sh) / 2 / cover)
    area = (left, top, min(im.width, left + sw / cover), min(im.height, top + sh / cover))
    small = im.resize((sw, sh), Image.Resampling.BILINEAR, box=area, reducing_gap=2.0)
    small = small.filter(ImageFilter.GaussianBlur(max(1.5, max(sw, sh) / 32)))
    darken = [round(v * _BLUR_DARKEN) for v in range(256)]
    small = small.point(darken * 3 + (list(range(256)) if small.mode == "RGBa" else []))
    return small.resize(size, Image.Resampling.BICUBIC)


def pad(im: Image.Image, size: tuple[int, int], background: str = "auto") -> Image.Image:
    """The whole image scaled into `size` (aspect kept, centred) on `background`: "blur",
    "auto" or "#rrggbb".

    An image without alpha gives opaque RGB. One with alpha gives RGBA, the image laid over
    the background: `auto` on a plain transparent border pads transparent, `#rrggbb` is
    opaque, and blur is blurred with premultiplied alpha, so that the colour hidden under
    transparent pixels never shows. For an output format without alpha, flatten the image
    first as its crops are (`images.flatten_for`), so that `auto` sees the visible border.
    """
    im = to_8bit(im)
    alpha = has_alpha(im)
    im = im.convert("RGBA" if alpha else "RGB")
    w, h = size
    scale = min(w / im.width, h / im.height)
    fw, fh = max(1, min(w, round(im.width * scale))), max(1, min(h, round(im.height * scale)))
    colour = parse_colour(background) if background.startswith("#") else None
    if background == "auto":
        colour = plain_border(im)
    fg = im if (fw, fh) == im.size else im.resize((fw, fh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    where = ((w - fw) // 2, (h - fh) // 2)
    if not alpha:
        canvas = blurred_backdrop(im, size) if colour is None else Image.new("RGB", size, colour)
        canvas.paste(fg, where)
        return canvas
    if colour is None:
        canvas = blurred_backdrop(im.convert("RGBa"), size).convert("RGBA")
    else:
        canvas = Image.new("RGBA", size, colour if len(colour) == 4 else (*colour, 255))
    canvas.alpha_composite(fg, where)
    return canvas
