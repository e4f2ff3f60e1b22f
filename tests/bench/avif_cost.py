"""What writing AVIF costs against JPEG and WebP: encode time and bytes for social-size outputs.

    .venv/bin/python tests/bench/avif_cost.py [--shared ../shared] [--photos 6]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

from smartcrop.images import AVIF_SPEED

SIZE = (1080, 1350)  # an Instagram portrait
CASES = [("JPEG q90 4:4:4", "JPEG", {"quality": 90, "subsampling": 0}),
         ("WebP q90", "WEBP", {"quality": 90}),
         (f"AVIF q90 speed {AVIF_SPEED} (smartcrop)", "AVIF", {"quality": 90, "speed": AVIF_SPEED}),
         ("AVIF q90 Pillow's default speed", "AVIF", {"quality": 90})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--photos", type=int, default=6)
    args = parser.parse_args()
    sources = sorted((args.shared / "datasets" / "osie" / "images").glob("*.jpg"))[: args.photos]
    if not sources:
        raise SystemExit(f"no photos under {args.shared}/datasets/osie/images")
    outputs = [Image.open(p).convert("RGB").resize(SIZE, Image.Resampling.BICUBIC) for p in sources]
    for name, fmt, params in CASES:
        times, sizes = [], []
        for im in outputs:
            buf = io.BytesIO()
            start = time.perf_counter()
            im.save(buf, fmt, **params)
            times.append(time.perf_counter() - start)
            sizes.append(buf.tell())
        print(f"{name:<36} median {statistics.median(times) * 1000:6.0f} ms/output, "
              f"mean {statistics.mean(sizes) / 1024:5.0f} KiB")


if __name__ == "__main__":
    main()
