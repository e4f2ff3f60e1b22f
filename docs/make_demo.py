"""Compose the README's top picture (docs/demo.jpg) from what `make demo` wrote.

Each row is one bundled sample: the debug overlay, the saliency map, then the 16:9, 1:1 and
9:16 crops, all at one height, so the picture always shows the shipped model's own output.
Run ``make docs`` (it runs ``make demo`` first), or
``python docs/make_demo.py demo-out docs/demo.jpg``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SAMPLES = ("osie_1010", "eyecrowd_012", "scene500_258")
CROPS = ("16x9", "1x1", "9x16")
ROW_HEIGHT = 220
GAP = 6


def _panel(path: Path, label: str, height: int) -> Image.Image:
    """The image at `path` scaled to `height`, with `label` on a dark tab at its top left."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        im = im.resize((round(im.width * height / im.height), height), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=15)
    left, top, right, bottom = draw.textbbox((6, 4), label, font=font)
    draw.rectangle((0, 0, right + 6, bottom + 5), fill=(0, 0, 0))
    draw.text((6, 4), label, fill=(255, 255, 255), font=font)
    return im


def compose(demo_out: Path, samples=SAMPLES, height: int = ROW_HEIGHT) -> Image.Image:
    """One row per sample: overlay, saliency map, crops; rows left-aligned on white."""
    rows = []
    for name in samples:
        panels = [_panel(demo_out / "debug" / f"{name}.jpg", "debug overlay", height),
                  _panel(demo_out / "saliency" / f"{name}.png", "saliency", height)]
        panels += [_panel(demo_out / f"{name}_{crop}.jpg", crop.replace("x", ":"), height)
                   for crop in CROPS]
        width = sum(p.width for p in panels) + GAP * (len(panels) - 1)
        row = Image.new("RGB", (width, height), (255, 255, 255))
        x = 0
        for p in panels:
            row.paste(p, (x, 0))
            x += p.width + GAP
        rows.append(row)
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)
                              + GAP * (len(rows) - 1)), (255, 255, 255))
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height + GAP
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo_out", type=Path, help="the folder `make demo` wrote")
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    compose(args.demo_out).save(args.output, quality=85, optimize=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
