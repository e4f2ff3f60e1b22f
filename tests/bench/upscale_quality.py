"""How much an enlargement loses: dataset photos shrunk by a factor, enlarged back (bicubic, as
`--size` does), compared with the original. Chooses smartcrop's --max-upscale default.

    .venv/bin/python tests/bench/upscale_quality.py [--shared ../shared] [--photos 40]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

FACTORS = (1.25, 1.5, 2, 3, 4, 6, 8)


def edge_energy(im: Image.Image) -> float:
    """Variance of Pillow's FIND_EDGES on the grey image: how much fine detail there is."""
    return float(np.asarray(im.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float64).var())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()
    sources = sorted((args.shared / "datasets" / "osie" / "images").glob("*.jpg"))[: args.photos]
    if not sources:
        raise SystemExit(f"no photos under {args.shared}/datasets/osie/images")
    for f in FACTORS:
        psnr, kept = [], []
        for path in sources:
            im = Image.open(path).convert("RGB")
            w, h = im.size
            small = im.resize((round(w / f), round(h / f)), Image.Resampling.BICUBIC, reducing_gap=3.0)
            up = small.resize((w, h), Image.Resampling.BICUBIC)
            mse = ((np.asarray(up, np.float64) - np.asarray(im, np.float64)) ** 2).mean()
            psnr.append(10 * np.log10(255**2 / mse))
            kept.append(edge_energy(up) / edge_energy(im))
        print(f"{f:>5}x: PSNR {np.mean(psnr):.1f} dB (lowest {np.min(psnr):.1f}), "
              f"edge energy kept {np.mean(kept):.2f}")


if __name__ == "__main__":
    main()
