"""How the box strategy's peak level was chosen: does the box hold the map's peak, and at what cost.

For every validation photo: the map and the product's faces (as the CLI finds them), then the
`box` crop at 1:1, 16:9, 9:16, 4:5 and 1.91:1 for each peak level (None: the region need not hold
the peak, as before). Prints, over (photo, ratio) pairs: the share of crops leaving the peak
cell out (photos with no face found, where the peak is the map's own), the share holding the
whole peak at level 0.5, the fixations inside and the crop's share of the photo; and, on the
photos with a reference face, face cuts and face area kept as smartcrop-eval counts them.
Needs ../shared/datasets.

    .venv/bin/python tests/bench/box_peak.py ../shared/datasets/{osie,eyecrowd,scene500}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from face_settings import prepare  # noqa: E402

from smartcrop import cropping, evaluate, evaluate_faces  # noqa: E402
from smartcrop.faces import FaceDetector  # noqa: E402
from smartcrop.fixations import load_datasets  # noqa: E402
from smartcrop.options import parse_ratio  # noqa: E402
from smartcrop.saliency import SaliencyModel, work_map  # noqa: E402

LEVELS = [None, 0.3, 0.5, 0.7]


def score(photos: list[dict], detector: FaceDetector, level: float | None) -> dict:
    rows, face_rows = [], []
    for p in photos:
        size = p["size"]
        work = work_map(p["map"], *size)
        faces = evaluate_faces.face_array(detector.decode(*p["raw"], p["letterbox"], size))
        small, factor = cropping._reduce(work, cropping.DEFAULTS["box_grid"])
        cx = factor * size[0] / work.shape[1]
        cy = factor * size[1] / work.shape[0]
        x0, y0, x1, y1 = cropping.peak_region(small, 0.5)
        y, x = np.unravel_index(np.argmax(small), small.shape)
        px, py = (x + 0.5) * cx, (y + 0.5) * cy  # the peak cell's centre in image pixels
        for ratio in evaluate.CROP_RATIOS:
            b = cropping.find_box(work, size, parse_ratio(ratio).aspect, "box", faces=faces,
                                  box_peak=level)
            peak_in = b.left <= px < b.left + b.width and b.top <= py < b.top + b.height
            rows.append({"no_face": not len(faces), "peak_out": not peak_in,
                         "peak_whole": cropping.contains(b, (x0 * cx + 1, y0 * cy + 1,
                                                             (x1 - x0) * cx - 2, (y1 - y0) * cy - 2)),
                         "fixations": evaluate.share_inside(p["fixations"], b),
                         "area": b.width * b.height / (size[0] * size[1])})
            if len(p["reference"]):
                shares = evaluate_faces.inside_shares(p["reference"], b)
                areas = p["reference"][:, 2] * p["reference"][:, 3]
                face_rows.append((evaluate_faces.cuts(shares), (shares * areas).sum() / areas.sum()))
    no_face = [r for r in rows if r["no_face"]]
    f = np.array(face_rows, dtype=float).reshape(-1, 2)
    return {"pairs": len(rows), "pairs_no_face": len(no_face),
            "peak_out_no_face": float(np.mean([r["peak_out"] for r in no_face])),
            "peak_whole": float(np.mean([r["peak_whole"] for r in rows])),
            "fixations": float(np.mean([r["fixations"] for r in rows])),
            "area": float(np.mean([r["area"] for r in rows])),
            "face_pairs": len(f), "face_cut": float(f[:, 0].mean()), "face_kept": float(f[:, 1].mean())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--levels", type=json.loads, default=LEVELS, metavar="JSON")
    p.add_argument("--val-dataset", default=None, help="score all of this dataset (a fold)")
    p.add_argument("--weights", type=Path, default=None, help="the saliency model (default: shipped)")
    args = p.parse_args()
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    detector = FaceDetector()
    photos = prepare(records, SaliencyModel(args.weights, threads=1), detector)
    for level in args.levels:
        r = score(photos, detector, level)
        print(f"peak level {level}: " + " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                                 for k, v in r.items()), flush=True)


if __name__ == "__main__":
    main()
