"""Face detection time per photo: the whole-photo pass on the input shaped like the photo
(224x192 landscape, 192x224 portrait; shipped) against the 192x192 square (before 2026-12-07).

The bench corpus's photos (every 4th portrait) as the stage table's detector sees them: the
model's small image, about 336x252 for a 12 MP photo. Both settings run in one process, in
turns, so a busy machine slows them alike; one interpreter thread, as each CLI job's.

    .venv/bin/python tests/bench/face_inputs.py ../shared --photos 24 --passes 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402

from smartcrop.faces import FaceDetector  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("shared", type=Path)
    p.add_argument("--photos", type=int, default=24)
    p.add_argument("--passes", type=int, default=5)
    args = p.parse_args()
    smalls = []
    for i, source in enumerate(corpus.pick_sources(args.shared, args.photos)):
        portrait = i % corpus.PORTRAIT_EVERY == corpus.PORTRAIT_EVERY - 1
        with Image.open(source) as im:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        smalls.append(corpus.centre_fit(upright, (252, 336) if portrait else (336, 252)))
    detector = FaceDetector()
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.passes + 1):
        for small in smalls:
            size = (small.width * 12, small.height * 12)
            for shaped in (False, True):
                start = time.perf_counter()
                detector.detect(small, size, shaped=shaped)
                if run:  # the first pass warms the interpreters
                    times[shaped].append((time.perf_counter() - start) * 1000)
    square, shaped = statistics.median(times[False]), statistics.median(times[True])
    print(f"{len(smalls)} photos x {args.passes} passes, median ms per photo: square 192x192 "
          f"{square:.2f}, shaped {shaped:.2f} ({shaped / square:.2f}x)")


if __name__ == "__main__":
    main()
