"""The face figure of ``smartcrop-eval``: how often crops cut faces, against the limit.

Reference faces are the detector's confident finds (score >= REFERENCE_SCORE) on the full-size
photo and on its four overlapping quarters: a sharper look than the product's one small pass
(the same network, so its misses are not counted). A face counts as cut when 10-90% of its box
lies inside the crop. The limit: pairs (photo, ratio) where no position of the largest window
leaves every face whole.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from smartcrop import cropping
from smartcrop.faces import FaceDetector, face_array, merge_faces, quarters
from smartcrop.options import parse_ratio

REFERENCE_SCORE = 0.75  # reference faces: "confident" detections
CUT_RANGE = (0.1, 0.9)  # a face is cut when this share of its box lies inside the crop


def reference_faces(detector: FaceDetector, image: Image.Image) -> np.ndarray:
    """Confident faces from the whole photo and its four overlapping quarters (2/3 per side),
    merged by plain non-maximum suppression; rows of left, top, width, height in photo pixels."""
    w, h = image.size
    found = [(f, x0, y0) for x0, y0, x1, y1 in [(0, 0, w, h), *quarters(w, h)]
             for f in detector.detect(image.crop((x0, y0, x1, y1)), tiles=False, shaped=False)
             if f.score >= REFERENCE_SCORE]
    return face_array(merge_faces(found))


def inside_shares(faces: np.ndarray, box: cropping.Box) -> np.ndarray:
    """Share of each face box inside the crop box."""
    f = np.asarray(faces, dtype=np.float64).reshape(-1, 4)
    ox = cropping._overlaps(np.array([box.left]), box.width, f[:, 0], f[:, 0] + f[:, 2])
    oy = cropping._overlaps(np.array([box.top]), box.height, f[:, 1], f[:, 1] + f[:, 3])
    return ox * oy / (f[:, 2] * f[:, 3])


def cuts(shares: np.ndarray) -> bool:
    return bool(np.any((shares >= CUT_RANGE[0]) & (shares <= CUT_RANGE[1])))


def can_avoid_cut(faces: np.ndarray, image_size: tuple[int, int], width: int, height: int) -> bool:
    """Whether some position (every whole pixel) of a width x height window cuts no face."""
    lefts, tops = np.arange(image_size[0] - width + 1), np.arange(image_size[1] - height + 1)
    ok = np.ones((len(tops), len(lefts)), dtype=bool)
    for left, top, fw, fh in np.asarray(faces, dtype=np.float64).reshape(-1, 4):
        inside = np.outer(cropping._overlaps(tops, height, top, top + fh),
                          cropping._overlaps(lefts, width, left, left + fw)) / (fw * fh)
        ok &= (inside < CUT_RANGE[0]) | (inside > CUT_RANGE[1])
    return bool(ok.any())


def face_numbers(work: np.ndarray, size: tuple[int, int], faces: np.ndarray | None,
                 reference: np.ndarray, box_faces: np.ndarray | None = None,
                 candidates: np.ndarray | None = None, **settings) -> dict:
    """Per ratio (largest windows), for `window` and `box` with the product's `faces` (None:
    faces off; `box_faces`: the box's own, as the product's box searches tiles, default
    `faces`; `candidates`: the window's unsure faces): whether the crop cuts a reference face,
    the share of reference face area kept (all faces, and faces the crop touches), and whether
    the limit forces a cut."""
    out = {}
    areas = reference[:, 2] * reference[:, 3]
    for ratio in ("1:1", "16:9", "9:16", "4:5", "1.91:1"):
        aspect = parse_ratio(ratio).aspect
        row = {"limit": float(not can_avoid_cut(reference, size, *cropping.largest_window(*size, aspect)))}
        for strategy in ("window", "box"):
            found = box_faces if strategy == "box" and box_faces is not None else faces
            box = cropping.find_box(work, size, aspect, strategy, faces=found,
                                    candidates=candidates if strategy == "window" else None, **settings)
            shares = inside_shares(reference, box)
            touched = shares > 0
            row[f"{strategy}_cut"] = float(cuts(shares))
            row[f"{strategy}_kept"] = float((shares * areas).sum() / areas.sum())
            row[f"{strategy}_kept_touched"] = float((shares * areas)[touched].sum() / areas[touched].sum()
                                                    if touched.any() else 1.0)
        out[ratio] = row
    return out


def summarise_faces(per_image: list[dict]) -> dict:
    """Means over all (photo, ratio) pairs with a reference face."""
    rows = [row for faces in per_image for row in faces.values()]
    if not rows:
        return {"pairs": 0}
    return {"pairs": len(rows), **{k: float(np.mean([r[k] for r in rows])) for k in rows[0]}}


def format_faces(s: dict) -> str:
    if not s["pairs"]:
        return "no photo with a reference face"
    lines = [f"faces: {s['pairs']} (photo, ratio) pairs with a reference face, largest windows",
             "", "| strategy | cuts a face | limit | face area kept | kept, faces the crop touches |",
             "|---|---|---|---|---|"]
    for strategy in ("window", "box"):
        lines.append(f"| {strategy} | {s[f'{strategy}_cut']:.1%} | {s['limit']:.1%} "
                     f"| {s[f'{strategy}_kept']:.3f} | {s[f'{strategy}_kept_touched']:.3f} |")
    return "\n".join(lines)
