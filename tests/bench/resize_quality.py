"""Bicubic against Lanczos for --size: how far apart the outputs are, and what each costs.

``.venv/bin/python tests/bench/resize_quality.py [--shared ../shared]`` shrinks 40 dataset
photos (every 40th, sorted) by 1.4, the step a 12 MP photo's 1080x1080 thumbnail takes after
JPEG shrink-on-load, with both filters, and prints the PSNR between them next to the PSNR a
JPEG q90 (4:4:4) round trip costs the Lanczos result. Then it times both filters on a
1512x1512 -> 1080x1080 resize.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

STEP = 1.4
PHOTOS = 40


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def jpeg_round_trip(im: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, subsampling=0)
    return Image.open(buf).convert("RGB")


def resize_ms(im: Image.Image, resample: Image.Resampling, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        im.resize((1080, 1080), resample)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    args = p.parse_args()
    photos = sorted(args.shared.glob("datasets/*/images/*.jpg"))[::40][:PHOTOS]
    if not photos:
        raise SystemExit(f"no photos under {args.shared}/datasets/*/images/")
    filters, jpeg = [], []
    for path in photos:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        size = (round(rgb.width / STEP), round(rgb.height / STEP))
        lanczos = rgb.resize(size, Image.Resampling.LANCZOS)
        filters.append(psnr(rgb.resize(size, Image.Resampling.BICUBIC), lanczos))
        jpeg.append(psnr(jpeg_round_trip(lanczos), lanczos))
    print(f"{len(photos)} photos shrunk by {STEP}:")
    print(f"  bicubic against Lanczos: PSNR mean {np.mean(filters):.1f} dB, lowest {min(filters):.1f}")
    print(f"  JPEG q90 round trip of the Lanczos result: mean {np.mean(jpeg):.1f} dB, lowest {min(jpeg):.1f}")
    with Image.open(photos[0]) as im:
        big = im.convert("RGB").resize((1512, 1512))
    for name, f in (("Lanczos", Image.Resampling.LANCZOS), ("bicubic", Image.Resampling.BICUBIC)):
        print(f"  {name:8s} 1512x1512 -> 1080x1080: {resize_ms(big, f):.1f} ms (median of 15)")


if __name__ == "__main__":
    main()
