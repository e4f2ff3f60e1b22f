"""Drive smartcrop.py (PyPI ``smartcrop``) over a folder: run inside its own virtualenv.

Usage: ``peer-venv/bin/python peer_smartcrop_py.py SPEC_JSON``, where the spec holds
``photos`` (paths), ``out`` (folder) and ``targets`` (``[label, aspect, [w, h] or null]``).
Each photo is decoded once; each target is searched as smartcrop.py's own CLI does
(``crop(image, 100, 100 / aspect)``, which prescales the image), then the box is cropped
(and resized for sizes) with Pillow and saved as JPEG q90, 4:4:4. Prints the seconds spent.

PyPI's package shares the import name ``smartcrop`` with this project, hence the separate
interpreter; run it from a folder that does not hold this project's package.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

import smartcrop  # smartcrop.py, from the peer virtualenv

SEARCH_WIDTH = 100  # what smartcrop.py's CLI passes; the search runs on a prescaled image
JPEG_QUALITY = 90


def crop_photo(cropper: smartcrop.SmartCrop, path: Path, out: Path, targets: list) -> None:
    """Decode `path` once and write one output per target."""
    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im).convert("RGB")
    for label, aspect, size in targets:
        top = cropper.crop(image, SEARCH_WIDTH, max(1, int(SEARCH_WIDTH / aspect)))["top_crop"]
        box = (top["x"], top["y"], top["x"] + top["width"], top["y"] + top["height"])
        crop = image.crop(box)
        if size:
            crop = crop.resize(tuple(size), Image.Resampling.LANCZOS)
        name = f"{path.stem}_{label.replace(':', 'x')}.jpg"
        crop.save(out / name, "JPEG", quality=JPEG_QUALITY, subsampling=0)


def main(spec_path: str) -> None:
    """Run the spec and print {"seconds": ...} as JSON on stdout."""
    spec = json.loads(Path(spec_path).read_text())
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cropper = smartcrop.SmartCrop()
    for photo in spec["photos"]:
        crop_photo(cropper, Path(photo), out, spec["targets"])
    print(json.dumps({"seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(sys.argv[1])
