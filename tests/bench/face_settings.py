"""How the face settings were chosen: face cuts and fixation retention for each setting tried.

For every validation photo it runs the saliency model and the face detector once (raw outputs
kept, so each score threshold is a re-decode), finds the reference faces as smartcrop-eval
does, then scores each setting: the face figure (smartcrop.evaluate_faces.face_numbers) and
the share of fixations inside the model's window at the largest and 0.6-zoomed sizes, with the
centre crop and the fixation oracle for gap closed. Needs ../shared/datasets.

    .venv/bin/python tests/bench/face_settings.py ../shared/datasets/{osie,eyecrowd,scene500}

`--val-dataset X --weights DIR` scores a leave-one-dataset-out fold's model on all of X;
`--portrait-cuts` scores 3:4 portrait cuts of those photos instead (tests/bench/portrait_canvas.py).
`--cache` files written before 2026-12-07 (session 27) lack the extra passes that the
"window_tiles" and "box_passes" settings score: write them again.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from smartcrop import cropping, evaluate, evaluate_faces  # noqa: E402
from smartcrop import faces as faces_module  # noqa: E402
from smartcrop.faces import FaceDetector, iou, merge_faces, quarters, with_tiles  # noqa: E402
from smartcrop.fixations import fixation_counts, gaussian_blur, load_datasets  # noqa: E402
from smartcrop.images import shrink_for_model, to_rgb  # noqa: E402
from smartcrop.options import parse_ratio  # noqa: E402
from smartcrop.saliency import SaliencyModel, work_map  # noqa: E402

# Each setting: detector thresholds and find_box keywords; {} is the shipped defaults.
SETTINGS = [
    {"faces": False}, {},
    {"min_score": 0.3}, {"min_score": 0.5}, {"min_score": 0.6}, {"min_score": 0.75},
    {"min_size": 0.0}, {"min_size": 0.04},
    {"face_margin": 0.0}, {"face_margin": 0.1}, {"face_margin": 0.3},
    {"face_weight": 0.0}, {"face_weight": 0.25}, {"face_weight": 0.5},
    {"box_face_weight": 0.0}, {"box_face_weight": 0.25}, {"box_face_weight": 1.0},
    {"edge_weight": 0.25}, {"edge_weight": 0.5}, {"edge_weight": 1.0},
    {"faces": False, "edge_weight": 0.5},
    # the soft rule: a cut costs face_penalty x the map's total per face (by share cut)
    {"face_penalty": 0.02}, {"face_penalty": 0.1}, {"face_penalty": 0.2}, {"face_penalty": 0.5},
    {"face_penalty": 1.0}, {"face_penalty": 0.5, "face_margin": 0.1},
    # how much of a widened face may lie across an edge (2% before 2026-12-06)
    {"margin_whole": 0.02}, {"margin_whole": 0.05}, {"margin_whole": 0.14}, {"margin_whole": 0.2},
    {"margin_whole": 0.02, "face_margin": 0.1},
    {"margin_whole": 0.02, "face_margin_top": 0.2},  # the rule before 2026-12-06
    {"margin_whole": 0.1, "face_margin_top": 0.2}, {"face_margin_top": 0.3}, {"face_margin_top": 0.45},
    {"clip_faces": True},  # the rule before 2026-12-06 (session 22): margins cut to the image
    {"box_tiles": False},  # the box with the whole-photo pass's faces only (before session 22)
    {"shaped": False},  # the whole-photo pass on the square input (before 2026-12-07)
    # the window spares the map's peak: holds it whole or leaves it out whole (session 22)
    {"window_peak": 0.7},
    # the map blurred before the searches (sigma, share of its long side): the model's errors
    # in where the mass sits, spread as a Gaussian (session 23)
    {"map_blur": 0.02}, {"map_blur": 0.04}, {"map_blur": 0.08},
    # the window's unsure faces (session 27): none (before), other scores and penalties
    {"candidates": None}, {"candidates": 0.1}, {"candidates": 0.3},
    {"candidate_penalty": 0.005}, {"candidate_penalty": 0.02},
    # extra passes for the window's faces (session 27; over the detector's 6 ms budget): the
    # quarters (0.75, as --thorough), or two halves on the shaped inputs; always, or only
    # when the whole-photo pass found a face / one under 8% of the long side
    {"window_tiles": {"tiles": "quarters"}}, {"window_tiles": {"tiles": "halves"}},
    {"window_tiles": {"tiles": "halves", "min_score": 0.6}},
    {"window_tiles": {"tiles": "halves", "when": "any"}},
    {"window_tiles": {"tiles": "halves", "when": "small", "small": 0.08}},
    # the box's extra passes as halves (two calls) instead of the quarters (four), after the
    # square or the shaped whole-photo pass (session 27)
    {"box_passes": {"tiles": "halves", "min_score": 0.6}},
    {"box_passes": {"tiles": "halves", "min_score": 0.6, "shaped": True}},
    {"box_passes": {"tiles": "halves", "min_score": 0.75}},
    # the window's fallback without the faces' own boxes (before session 28), and wider side
    # margins (session 28: fewer sure faces cut on crowds, more on portrait cuts)
    {"no_cores": True}, {"face_margin": 0.25},
    # widened faces too large for the window keep all their margins (before session 30)
    {"fit_margins": False},
    # where every position cuts a face itself, the least cut wins outright (before session 31;
    # on the command line: --settings '[{"crowded_penalty": Infinity}, {}]'), or weighs less
    {"crowded_penalty": float("inf")}, {"crowded_penalty": 0.5},
]


def prepare(records, model: SaliencyModel, detector: FaceDetector) -> list[dict]:
    """Per photo: the map, the detector's raw outputs on the CLI's small image, the references."""
    out = []
    for r in records:
        with Image.open(r.path) as im:
            rgb = to_rgb(im)
            rgb.load()
        small = shrink_for_model(rgb, model.input_size(*rgb.size))
        canvas, letterbox = detector.model_input(small)
        square, square_box = detector.model_input(small, shaped=False)  # the pass before 2026-12-07
        out.append({"size": (r.width, r.height), "map": model.predict(rgb), "raw": detector.raw(canvas),
                    "letterbox": letterbox, "raw_square": detector.raw(square),
                    "letterbox_square": square_box, "fixations": r.fixations,
                    "tiles": detector.tile_faces(small, (r.width, r.height)),  # the box's extra passes
                    # raw outputs of extra passes the window was scored with (session 27)
                    "raw_quarters": _tile_passes(detector, small, (r.width, r.height), quarters, False),
                    "raw_halves": _tile_passes(detector, small, (r.width, r.height), halves, True),
                    "reference": evaluate_faces.reference_faces(detector, rgb)})
    return out


def halves(width: int, height: int, share: float = 2 / 3) -> list[tuple[int, int, int, int]]:
    """Two overlapping tiles along the long side, `share` of it, the whole short side: on the
    input of their shape they see a 4:3 photo's faces as large as the quarters do, in 2 calls."""
    if width >= height:
        tw = round(width * share)
        return [(0, 0, tw, height), (width - tw, 0, width, height)]
    th = round(height * share)
    return [(0, 0, width, th), (0, height - th, width, height)]


def _tile_passes(detector: FaceDetector, small: Image.Image, size, tiles, shaped: bool) -> list:
    """Per tile of `small`: raw outputs, letterbox, the tile's size and offset in photo pixels."""
    fx, fy = size[0] / small.width, size[1] / small.height
    out = []
    for x0, y0, x1, y1 in tiles(small.width, small.height):
        canvas, box = detector.model_input(small.crop((x0, y0, x1, y1)), shaped=shaped)
        out.append((detector.raw(canvas), box, ((x1 - x0) * fx, (y1 - y0) * fy), (x0 * fx, y0 * fy)))
    return out


def score(photos: list[dict], detector: FaceDetector, setting: dict) -> dict:
    setting = dict(setting)
    if setting.pop("clip_faces", False):
        # the rule before 2026-12-06 (session 22): widened faces cut to the image, so at its
        # border an edge could run through the face where the margin was cut away
        widen = cropping.widen_faces
        with mock.patch.object(cropping, "widen_faces", lambda *a, clip=True, **k: widen(*a, **k)):
            return score(photos, detector, setting)
    if setting.pop("no_cores", False):
        # the fallback before 2026-12-07 (session 28): when every position cuts a widened face,
        # the least widened area cut, without first sparing the faces' own boxes
        place = cropping.place_window
        with mock.patch.object(cropping, "place_window", lambda *a, cores=None, **k: place(*a, **k)):
            return score(photos, detector, setting)
    if not setting.pop("fit_margins", True):
        # before 2026-12-07 (session 30): a widened face too large for the window kept its
        # margins, so every position holding it cut it and the window could only leave it out
        with mock.patch.object(cropping, "fit_margins", lambda faces, *a: faces):
            return score(photos, detector, setting)
    use_faces = setting.pop("faces", True)
    extra = setting.pop("window_tiles", None)  # extra passes for the window's faces (below)
    # the window's unsure faces: boxes scoring from this to min_score (None: none, before 2026-12-07)
    cand_score = setting.pop("candidates", faces_module.DEFAULTS["candidate_score"])
    box_passes = setting.pop("box_passes", None)  # e.g. {"tiles": "halves", "min_score": 0.6}
    # True: the box's whole-photo faces from both inputs, the square and the photo's shape,
    # merged (session 32: the square pass alone missed faces the window's pass finds)
    box_both = setting.pop("box_both", False)
    box_tiles = setting.pop("box_tiles", True)  # False: the box's faces from the one pass (before session 22)
    shaped = "" if setting.pop("shaped", True) else "_square"  # False: the square pass (before 2026-12-07)
    detector.min_score = setting.pop("min_score", 0.4)
    detector.min_size = setting.pop("min_size", 0.02)
    box_weight = setting.pop("box_face_weight", None)
    blur = setting.pop("map_blur", 0.0)
    rows, kept, with_face, peak_cut, boxes = [], {1.0: [], 0.6: []}, [], {1.0: [], 0.6: []}, []
    triggered = 0
    for p in photos:
        size = p["size"]
        work = work_map(p["map"], *size)
        if blur:
            work = gaussian_blur(work, blur * max(work.shape))
        faces = box_faces = cands = None
        if use_faces:
            found = detector.decode(*p["raw" + shaped], p["letterbox" + shaped], size)
            if extra is not None and _wants_tiles(found, size, extra):
                triggered += 1
                if extra.get("both"):  # the other whole-photo input's faces too (session 32)
                    other = "_square" if not shaped else ""
                    found = merge_faces([(f, 0.0, 0.0) for f in found + detector.decode(
                        *p["raw" + other], p["letterbox" + other], size)])
                found = with_tiles(found, _tile_faces(p["raw_" + extra["tiles"]], detector, size,
                                                      extra.get("min_score", 0.75)))
            faces = evaluate_faces.face_array(found)
            detector.candidate_score = cand_score
            cands = evaluate_faces.face_array(detector.candidates(
                *p["raw" + shaped], p["letterbox" + shaped], size, found))
            # the product's box runs its whole-photo pass on the square input and also searches
            # the quarters (tile_faces: the shipped tile score)
            square = detector.decode(*p["raw_square"], p["letterbox_square"], size)
            if box_both:
                square = merge_faces([(f, 0.0, 0.0) for f in square + detector.decode(
                    *p["raw"], p["letterbox"], size)])
            box_faces = evaluate_faces.face_array(with_tiles(square, p["tiles"]) if box_tiles else square)
            if box_passes is not None:  # other extra passes for the box (session 27)
                whole = square if not box_passes.get("shaped") else detector.decode(
                    *p["raw"], p["letterbox"], size)
                box_faces = evaluate_faces.face_array(with_tiles(whole, _tile_faces(
                    p["raw_" + box_passes["tiles"]], detector, size, box_passes.get("min_score", 0.75))))
        if len(p["reference"]):
            rows += _face_rows(work, size, faces, box_faces, p["reference"], setting, box_weight, cands)
        weight = setting.get("face_weight", cropping.default_face_weight("window", size))
        window_work, widened = cropping.with_faces(
            work, size, faces, setting.get("face_margin", 0.2), weight,
            setting.get("face_margin_top", cropping.DEFAULTS["face_margin_top"]))
        counts = fixation_counts(p["fixations"], *size)
        whole = setting.get("margin_whole", cropping.DEFAULTS["margin_whole"])
        box_kw = {k: v for k, v in setting.items()
                  if k not in ("face_weight", "edge_weight", "window_peak", "candidate_penalty")}
        if box_weight is not None:
            box_kw["face_weight"] = box_weight
        for ratio in evaluate.CROP_RATIOS:
            aspect = parse_ratio(ratio).aspect
            box = cropping.find_box(work, size, aspect, "box", faces=box_faces, **box_kw)
            boxes.append((evaluate.share_inside(p["fixations"], box),
                          box.width * box.height / (size[0] * size[1])))
            for zoom in kept:
                # the product's window (find_box), zoomed; window_work and widened are the
                # same faces on the map, for the peak and the oracle held to the rule
                model = cropping.find_box(work, size, aspect, faces=faces, candidates=cands,
                                          zoom=zoom, **setting)
                peak_cut[zoom].append(_cuts_peak(window_work, size, model))
                kept[zoom].append([evaluate.share_inside(p["fixations"], b) for b in (
                    model, evaluate.centred_box(size, aspect, zoom),
                    cropping.best_window(counts, size, aspect, zoom),
                    # the oracle held to the same rule: keeps the same faces whole
                    cropping.best_window(counts, size, aspect, zoom, widened, margin_whole=whole,
                                         cores=faces))])
        with_face += [len(p["reference"]) > 0] * len(evaluate.CROP_RATIOS)
    result = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    # the box strategy's crops on every photo: the share of fixations inside, the share of the photo
    result["box_fixations"], result["box_area"] = (float(v) for v in np.mean(boxes, axis=0))
    result["window_tiles_share"] = triggered / len(photos)  # photos given the extra passes
    with_face = np.array(with_face)
    for zoom, values in kept.items():
        values = np.array(values)
        m, c, o, whole = values.mean(axis=0)
        result[f"retention@{zoom:g}"], result[f"gap@{zoom:g}"] = float(m), float((m - c) / (o - c))
        result[f"oracle@{zoom:g}"], result[f"oracle_faces_whole@{zoom:g}"] = float(o), float(whole)
        # the same on the photos with a reference face only (the issue's "photos with faces")
        m, c, o, whole = values[with_face].mean(axis=0)
        result[f"face_photos_retention@{zoom:g}"] = float(m)
        result[f"face_photos_gap@{zoom:g}"] = float((m - c) / (o - c))
        result[f"peak_cut@{zoom:g}"] = float(np.mean(peak_cut[zoom]))
    return result


def _wants_tiles(found, size, extra: dict) -> bool:
    """Whether the window's faces get the extra passes: "always", when the whole-photo pass
    found "any" face, at least `count` faces, or one under `small` of the long side."""
    when = extra.get("when", "always")
    if when == "always":
        return True
    if when == "any":
        return bool(found)
    if when == "count":
        return len(found) >= extra["count"]
    if when == "small":
        return any(min(f.width, f.height) < extra["small"] * max(size) for f in found)
    raise ValueError(f"unknown trigger {when!r}")


def _tile_faces(passes, detector: FaceDetector, size, min_score: float) -> list:
    """Faces of the cached extra passes (raw outputs, letterbox, tile size, offset), at `min_score`."""
    return [(f, ox, oy) for raw, letterbox, tile_size, (ox, oy) in passes
            for f in detector.decode(*raw, letterbox, tile_size, min_score, size)]


def _cuts_peak(saliency: np.ndarray, size, box: cropping.Box, level: float = 0.7) -> bool:
    """Whether the crop's edge runs through the map's peak (`cropping.peak_region` at `level`):
    more than 10% of the peak's box on each side of an edge."""
    return bool(cropping.faces_cut(box, cropping.peak_box(saliency, size, level), whole=0.1))


def recall_by_size(photos: list[dict], detector: FaceDetector, shaped: bool = True) -> dict[str, list]:
    """With the shipped thresholds: per size band of reference faces (shorter side over the
    photo's long side), how many there are and the share the product's pass finds (IoU > 0.3;
    `shaped=False`: the square pass before 2026-12-07); and the smallest face it finds."""
    detector.min_score, detector.min_size = 0.4, 0.02
    found, smallest = [], 1.0
    key = "" if shaped else "_square"
    for p in photos:
        faces = evaluate_faces.face_array(detector.decode(*p["raw" + key], p["letterbox" + key], p["size"]))
        long_side = max(p["size"])
        if len(faces):
            smallest = min(smallest, float(faces[:, 2:].min(axis=1).min() / long_side))
        corners = np.c_[faces[:, :2], faces[:, :2] + faces[:, 2:]]
        for r in p["reference"]:
            hit = len(faces) and iou(np.r_[r[:2], r[:2] + r[2:]], corners).max() > 0.3
            found.append((min(r[2], r[3]) / long_side, bool(hit)))
    a = np.array(found, dtype=float).reshape(-1, 2)
    bands = {}
    for lo, hi in ((0, 0.03), (0.03, 0.04), (0.04, 0.05), (0.05, 0.07), (0.07, 0.1), (0.1, 1.0), (0, 1.0)):
        m = (a[:, 0] >= lo) & (a[:, 0] < hi)
        bands[f"{lo:g}-{hi:g}"] = [int(m.sum()), float(a[m, 1].mean()) if m.any() else None]
    return {"smallest_found": smallest, "bands": bands}


def limit_oracle(photos: list[dict], allowed_cuts: float = 0.02, step: int = 4) -> dict:
    """On the photos with a reference face (largest windows): the share of fixations the
    oracle keeps free, and held to never cutting a reference face as the face figure counts
    cuts (10-90% inside; positions on a `step`-pixel grid); and held to it except in the
    `allowed_cuts` share of pairs where the rule costs it most. The ceiling any face rule has."""
    rows = []
    for p in photos:
        if not len(p["reference"]):
            continue
        size, counts = p["size"], fixation_counts(p["fixations"], *p["size"])
        for ratio in evaluate.CROP_RATIOS:
            free = cropping.best_window(counts, size, parse_ratio(ratio).aspect)
            w, h = free.width, free.height
            lefts, tops = np.arange(0, size[0] - w + 1, step), np.arange(0, size[1] - h + 1, step)
            whole = cropping.cut_area(p["reference"], lefts, tops, w, h,
                                      whole=evaluate_faces.CUT_RANGE[0]) <= 0
            ys, xs = np.nonzero(whole)
            kept = max((evaluate.share_inside(p["fixations"], cropping.Box(int(lefts[j]), int(tops[i]), w, h))
                        for i, j in zip(ys, xs, strict=True)), default=0.0)
            rows.append((evaluate.share_inside(p["fixations"], free), kept))
    r = np.array(rows)
    loss = np.sort(r[:, 0] - r[:, 1])[::-1]
    k = int(allowed_cuts * len(r))
    return {"pairs": len(r), "oracle": float(r[:, 0].mean()), "oracle_no_cut": float(r[:, 1].mean()),
            f"oracle_cutting_{allowed_cuts:g}": float(r[:, 0].mean() - loss[k:].sum() / len(r))}


def _face_rows(work, size, faces, box_faces, reference, setting, box_weight, cands=None) -> list[dict]:
    """Per ratio (largest windows): cuts and face area kept for window and box, and the limit.
    `face_weight` in `setting` is the window's; `box_weight` the box's (None: its default)."""
    per_strategy = {"window": dict(setting, candidates=cands),
                    "box": {k: v for k, v in setting.items()
                            if k not in ("face_weight", "candidate_penalty")}}
    if box_weight is not None:
        per_strategy["box"]["face_weight"] = box_weight
    areas = reference[:, 2] * reference[:, 3]
    rows = []
    for ratio in evaluate.CROP_RATIOS:
        aspect = parse_ratio(ratio).aspect
        window = cropping.largest_window(*size, aspect)
        row = {"limit": float(not evaluate_faces.can_avoid_cut(reference, size, *window))}
        for strategy, kw in per_strategy.items():
            if strategy == "box":
                kw = {k: v for k, v in kw.items() if k not in ("edge_weight", "window_peak")}
            box = cropping.find_box(work, size, aspect, strategy,
                                    faces=box_faces if strategy == "box" else faces, **kw)
            shares = evaluate_faces.inside_shares(reference, box)
            row[f"{strategy}_cut"] = float(evaluate_faces.cuts(shares))
            row[f"{strategy}_kept"] = float((shares * areas).sum() / areas.sum())
        rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--settings", type=json.loads, default=SETTINGS, metavar="JSON",
                   help='the settings to score, e.g. \'[{}, {"min_score": 0.5}]\' (default: all tried)')
    p.add_argument("--val-dataset", default=None, help="score all of this dataset (a fold)")
    p.add_argument("--weights", type=Path, default=None, help="the saliency model (default: shipped)")
    p.add_argument("--cache", type=Path, default=None,
                   help="keep the prepared photos (maps, detections) in this file and reuse them: "
                        "only for the same datasets, weights and options")
    p.add_argument("--portrait-cuts", action="store_true",
                   help="score 3:4 portrait cuts of the photos (at least 10 fixations each)")
    args = p.parse_args()
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    detector = FaceDetector()
    with tempfile.TemporaryDirectory() as tmp:
        if args.portrait_cuts:
            from portrait_canvas import portrait_cuts

            records = portrait_cuts(records, Path(tmp), 10)
        if args.cache and args.cache.exists():  # the maps and detections of an earlier run
            photos = pickle.loads(args.cache.read_bytes())
        else:
            photos = prepare(records, SaliencyModel(args.weights, threads=1), detector)
            if args.cache:
                args.cache.write_bytes(pickle.dumps(photos))
    print(f"{len(photos)} photos, {sum(len(p['reference']) > 0 for p in photos)} with a reference face")
    sizes = recall_by_size(photos, detector)
    print("reference faces by size (count, share found):", json.dumps(sizes))
    print("the same, square pass (before 2026-12-07):", json.dumps(recall_by_size(photos, detector, False)))
    limit = limit_oracle(photos)
    print("oracle on photos with a face, free / never cutting / cutting in 2% of pairs:", json.dumps(limit))
    results = []
    for setting in args.settings:
        r = score(photos, detector, setting)
        results.append({"setting": setting, **r})
        print(json.dumps(setting), " ".join(f"{k}={v:.4f}" for k, v in r.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"recall_by_size": sizes, "limit": limit, "settings": results},
                                        indent=1))


if __name__ == "__main__":
    main()
