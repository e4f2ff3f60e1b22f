"""``--report report.html``: one offline page to review a batch, flagged crops first.

The per-image core calls `write_thumbnails` with the image it already decoded for the model
(no second decode): one small JPEG per input (a sprite: the input, the input under its heat
map, each output) goes to ``report_files/`` beside the page, written atomically. The CLI feeds
every result to a `ReportWriter`, which writes ``report_files/data.js`` and the page
(``report_page.html``: inline CSS and JS, no network) once the batch ends. The page shows 50
inputs at a time, loads images lazily and filters by flag, target and folder, so 10,000 photos
open as fast as 50.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from smartcrop import images, padding
from smartcrop.cropping import Box
from smartcrop.focus import csv_line
from smartcrop.options import parse_ratio

INPUT_SIDE = 240  # long side of an input's tile in its sprite
CROP_SIDE = 160  # long side of an output's tile
THUMB_QUALITY = 80
# Flags, most urgent first: the page lists inputs by their most urgent flag.
FLAGS = ("error", "face_cut", "upscaled", "undersize", "low_score", "padded")
# A crop keeping less saliency than --fit auto asks for is flagged low_score.
LOW_SCORE = padding.AUTO_MIN_SCORE


def files_dir(report: Path) -> Path:
    """Where a report's thumbnails and data live: ``report.html`` -> ``report_files/``."""
    return report.parent / f"{report.stem}_files"


def report_files(report: Path | None) -> Path | None:
    """The report's thumbnail folder, or None without a report (never walked as input)."""
    return files_dir(report) if report else None


def sprite_name(stem: Path) -> str:
    """An input's sprite, relative to the files folder: ``trips/beach.jpg``."""
    return f"{stem.as_posix()}.jpg"


def url(path: str) -> str:
    """A relative path as the page's URL for it: each segment percent-encoded, so that a name
    holding '#', '?', '%', a space or a newline reaches the file it names."""
    # A name that is not UTF-8 (its bytes kept as surrogates) gets its own bytes, as on disk.
    return "/".join(quote(part, safe="", errors="surrogateescape") for part in path.split("/"))


def layout(image_size: tuple[int, int], crops: list[tuple[Box, str, float]]) -> list[tuple[int, int, int]]:
    """Tiles of an input's sprite, (left, width, height) each, side by side from the top-left:
    the input, the input under its heat map, then one per output (`crops`: box, fit, aspect).
    Tiles start on multiples of 8 pixels so that no JPEG block mixes two of them."""
    sizes = [_fit_side(*image_size, INPUT_SIDE)] * 2
    for box, fit, aspect in crops:
        w, h = padding.canvas_size(*image_size, aspect) if fit == "pad" else (box.width, box.height)
        sizes.append(_fit_side(w, h, CROP_SIDE))
    tiles, x = [], 0
    for w, h in sizes:
        tiles.append((x, w, h))
        x += -(-w // 8) * 8
    return tiles


def write_thumbnails(report: Path, stem: Path, view: Image.Image, saliency: np.ndarray,
                     image_size: tuple[int, int], crops: list[tuple[Box, str, float]],
                     background: str = "auto") -> None:
    """One input's sprite (see `layout`), made from `view`, the RGB image already decoded for
    the model: no second decode, one small JPEG written atomically.

    `crops` holds each output's box (upright image pixels), fit ("crop"/"pad") and aspect.
    """
    from smartcrop.overlay import heat_colours

    tiles = layout(image_size, crops)
    x, w, h = tiles[-1]
    sprite = Image.new("RGB", (x + w, max(t[2] for t in tiles)), (221, 221, 221))
    size = tiles[0][1:]
    factor = min(view.width // size[0], view.height // size[1])
    base = (view.reduce(factor) if factor > 1 else view).resize(size, Image.Resampling.BILINEAR)
    sprite.paste(base, (0, 0))
    # Colours on the map's own grid, enlarged by Pillow: a tenth of the cost of a full-size ramp.
    heat = saliency / saliency.max() if saliency.max() > 0 else saliency
    colours = Image.fromarray(heat_colours(heat)).resize(size, Image.Resampling.BILINEAR)
    alpha = ((0.25 + 0.6 * heat) * 255).astype(np.uint8)
    mask = Image.fromarray(alpha).resize(size, Image.Resampling.BILINEAR)
    sprite.paste(Image.composite(colours, base, mask), (tiles[1][0], 0))
    fx, fy = base.width / image_size[0], base.height / image_size[1]
    for (left, w, h), (box, fit, _) in zip(tiles[2:], crops, strict=True):
        if fit == "pad":
            tile = padding.pad(base, (w, h), background)
        else:
            area = (box.left * fx, box.top * fy, (box.left + box.width) * fx, (box.top + box.height) * fy)
            tile = base.resize((w, h), Image.Resampling.BILINEAR, box=area)
        sprite.paste(tile, (left, 0))
    _save(sprite, files_dir(report) / sprite_name(stem))


def _fit_side(w: float, h: float, side: int) -> tuple[int, int]:
    s = side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def _save(im: Image.Image, path: Path) -> None:
    try:
        images.save_atomic(im, path, THUMB_QUALITY)
    except OSError as e:
        raise images.ImageError(f"cannot write {path}: {e.strerror or images.describe(e)}") from None


def crop_flags(rec: dict) -> list[str]:
    """The review flags of one record, most urgent first (from its fields alone). A failed
    output is flagged `error` alone: its other fields describe an output that was not written."""
    if rec.get("status") == "error":
        return ["error"]
    flags = []
    if rec.get("face_cut"):
        flags.append("face_cut")
    if (rec.get("upscale") or 0) > 1:
        flags.append("upscaled")
    size, written = rec.get("size"), rec.get("output_size")
    if size and written and (written[0] < size[0] or written[1] < size[1]):  # --no-upscale
        flags.append("undersize")
    score = rec.get("score")
    # A reviewer's crop (source "focus") is what they asked for, whatever the map says.
    if score is not None and score < LOW_SCORE and rec.get("fit") != "pad" and rec.get("source") != "focus":
        flags.append("low_score")
    if rec.get("fit") == "pad":
        flags.append("padded")
    return flags


def fix_line(rec: dict, target: str) -> str | None:
    """The --focus line that redoes this output, for the reviewer to copy or edit (None for an
    output that failed: nothing to redo).

    A crop that cuts a face: a box holding every face. A padded output: the whole image as a
    box, which --fit auto and --fit pad pad again. Any other crop: its own box, which redoes that
    exact crop under either strategy (the window is centred on it; the box strategy grows it to
    the aspect, so for that strategy, where its width is a rounding over the aspect's, it is
    narrowed by a pixel on each side, lest it grow a pixel taller). The page turns a click on
    the input into a point.
    """
    box, size = rec.get("box"), rec.get("image_size")
    if rec.get("status") == "error" or not box or not size:
        return None
    faces = rec.get("faces") or []
    if rec.get("face_cut") and faces:
        left = min(f[0] for f in faces)
        top = min(f[1] for f in faces)
        right = max(f[0] + f[2] for f in faces)
        bottom = max(f[1] + f[3] for f in faces)
        return csv_line(rec["input"], (left, top, right - left, bottom - top), target)
    if rec.get("fit") == "pad":
        return csv_line(rec["input"], (0, 0, *size), target)
    left, top, width, height = box
    if rec.get("strategy") == "box" and width > 2 and width / _aspect(rec) - 1e-6 > height:
        # cropping.grow_box's test: the box would grow a pixel taller (a window is centred)
        left, width = left + 1, width - 2
    return csv_line(rec["input"], (left, top, width, height), target)


def _target_label(rec: dict) -> str:
    return rec["ratio"] if "ratio" in rec else "x".join(str(v) for v in rec["size"])


def _aspect(rec: dict) -> float:
    if "ratio" in rec:
        return parse_ratio(rec["ratio"]).aspect
    return rec["size"][0] / rec["size"][1]


def _entry(stem: Path, records: list[dict], folder: Path) -> dict:
    """One input's compact entry in data.js."""
    first = records[0]
    has_sprite = all(r.get("box") for r in records)
    tiles = layout(tuple(first["image_size"]), [(Box(*r["box"]), r["fit"], _aspect(r)) for r in records]
                   ) if has_sprite else []
    crops = []
    for k, r in enumerate(records):
        label = _target_label(r)
        crops.append({
            "t": label, "flags": crop_flags(r), "st": r["status"], "sc": r.get("score"),
            "box": r.get("box"), "fit": r.get("fit"), "src": r.get("source", "model"),
            "err": r.get("error"), "note": r.get("warning"), "out": r.get("output"),
            "os": r.get("output_size"), "up": r.get("upscale"), "fc": r.get("face_cut"),
            # No tile for a failed output: the sprite holds its box, but no such file was written.
            "tile": tiles[2 + k] if tiles and r["status"] != "error" else None, "fix": fix_line(r, label),
        })
    flags = [f for f in FLAGS if any(f in c["flags"] for c in crops)]
    return {
        "in": first["input"], "dir": stem.parent.as_posix() if stem.parent != Path(".") else "",
        "size": first.get("image_size"), "faces": first.get("faces") or [],
        "img": url(f"{folder.name}/{sprite_name(stem)}") if has_sprite else None,
        "tiles": tiles[:2], "flags": flags, "crops": crops,
    }


class ReportWriter:
    """Collects each input's records during the batch; `write` makes data.js and the page."""

    def __init__(self, path: Path, targets: list[str]):
        self.path = Path(path)
        self.targets = targets
        self.entries: list[dict] = []

    def add(self, stem: Path, records: list[dict]) -> None:
        if records:
            self.entries.append(_entry(stem, records, files_dir(self.path)))

    def write(self) -> None:
        """Flagged inputs first (most urgent flag, then batch order), then the rest."""
        rank = {f: i for i, f in enumerate(FLAGS)}
        order = sorted(range(len(self.entries)), key=lambda i: (
            min((rank[f] for f in self.entries[i]["flags"]), default=len(FLAGS)), i))
        data = {"targets": self.targets, "flags": list(FLAGS), "low_score": LOW_SCORE,
                "items": [self.entries[i] for i in order]}
        folder = files_dir(self.path)
        from smartcrop.pipeline import to_json

        text = "window.REPORT = " + to_json(data, separators=(",", ":")) + ";\n"
        _write_text(folder / "data.js", text)
        page = resources.files("smartcrop").joinpath("report_page.html").read_text(encoding="utf-8")
        _write_text(self.path, page.replace("__DATA__", url(f"{folder.name}/data.js")))


def _write_text(path: Path, text: str) -> None:
    """Never a partial page: written through `images.write_atomic`."""
    images.write_atomic(path, lambda f: f.write(text.encode("utf-8")))
