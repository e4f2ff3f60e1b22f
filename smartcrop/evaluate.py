"""``smartcrop-eval``: saliency metrics and the crop figure for the shipped model and baselines.

For every image of the datasets given (shared layout), at the image's own resolution:
CC, NSS, AUC-Judd, SIM and KL (MIT/Tübingen definitions) for the model and for a centre
prior; and the share of all fixations inside the crop for the largest window of several
ratios and for windows zoomed to 0.6 per side, for the model, the centre crop and the oracle
(the best window given the true fixations). A crop is bad when it keeps less than 80% of
what the oracle's keeps. Runs on LiteRT; needs no TensorFlow.

Faces are on by default, as in the CLI: the model's crops keep faces whole, and photos with a
reference face get the face figure (`smartcrop.evaluate_faces`); `--no-faces` gives the
numbers without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop import cropping, evaluate_faces, metrics
from smartcrop.faces import FaceDetector
from smartcrop.fixations import (
    density_map,
    fixation_counts,
    holdout_split,
    is_validation,
    load_datasets,
    outside_fixations,
    unlisted_images,
)
from smartcrop.images import shrink_for_model, to_rgb
from smartcrop.options import parse_ratio
from smartcrop.saliency import SaliencyModel, centre_prior, check_centre_mix, upsample, work_map

CROP_RATIOS = ("1:1", "16:9", "9:16", "4:5", "1.91:1")
ZOOMS = (1.0, 0.6)
BAD_CROP = 0.8  # a crop is bad when it keeps less than this share of what the oracle keeps


def centred_box(image_size: tuple[int, int], aspect: float, zoom: float) -> cropping.Box:
    """The centre crop: the same window size as the model's, centred."""
    uniform = np.ones((1, 1))
    return cropping.best_window(uniform, image_size, aspect, zoom)


def share_inside(points: np.ndarray, box: cropping.Box) -> float:
    x, y = points[:, 0], points[:, 1]
    inside = (x >= box.left) & (x < box.left + box.width) & (y >= box.top) & (y < box.top + box.height)
    return float(inside.mean())


def evaluate_record(model: SaliencyModel, record,
                    detector: FaceDetector | None = None, edge_weight: float = 0.0,
                    use_faces: bool = True) -> dict:
    """All numbers for one image. With a `detector`, "faces" holds the face figure, and with
    `use_faces` the model's crops keep the faces it finds (on the reduced image the CLI gives
    it) whole."""
    photo = prepare_record(model, record, detector, use_faces)
    return score_record(photo, photo["map"], edge_weight)


def prepare_record(model: SaliencyModel, record, detector: FaceDetector | None = None,
                   use_faces: bool = True) -> dict:
    """What scoring one image needs: its map (`model.predict`), the product's faces (None when
    off), the reference faces (None without a detector), and the parts of the score that do not
    depend on the map (targets, the centre prior's metrics, the centre and oracle crops). Kept
    apart from `score_record` so that a sweep over map post-processing runs the networks and
    these once per image."""
    w, h = record.width, record.height
    with Image.open(record.path) as im:
        rgb = to_rgb(im)
        rgb.load()  # to_rgb may hand back the file's own lazy image
    faces = box_faces = candidates = reference = None
    if detector is not None:
        if use_faces:  # as the product: the box always searches the quarters too
            small = shrink_for_model(rgb, model.input_size(*rgb.size))
            found, unsure = detector.find(small, (w, h))
            faces, candidates = evaluate_faces.face_array(found), evaluate_faces.face_array(unsure)
            box_faces = faces if detector.tiles else evaluate_faces.face_array(
                detector.detect(small, (w, h), tiles=True))  # the box's passes: square and quarters
        reference = evaluate_faces.reference_faces(detector, rgb)
    density = density_map(record.fixations, w, h)
    counts = fixation_counts(record.fixations, w, h)
    fixed = {}
    for ratio in CROP_RATIOS:
        aspect = parse_ratio(ratio).aspect
        for zoom in ZOOMS:
            fixed[f"{ratio}@{zoom:g}"] = {
                "centre": share_inside(record.fixations, centred_box((w, h), aspect, zoom)),
                "oracle": share_inside(record.fixations, cropping.best_window(
                    counts, (w, h), aspect, zoom, centre_tolerance=0.0)),
            }
    return {"record": record, "map": model.predict(rgb), "faces": faces, "box_faces": box_faces,
            "candidates": candidates, "reference": reference,
            "density": density, "counts": counts, "fixed_crops": fixed,
            "centre": metrics.all_metrics(centre_prior(w, h), density, counts)}


def score_record(photo: dict, small: np.ndarray, edge_weight: float = 0.0,
                 centre_tolerance: float = cropping.DEFAULTS["centre_tolerance"]) -> dict:
    """All numbers for one prepared image, scored with the map `small` (the model's map, or
    one post-processed from it)."""
    record, faces, reference = photo["record"], photo["faces"], photo["reference"]
    w, h = record.width, record.height
    face_figure = {}
    work = work_map(small, w, h)
    if reference is not None and len(reference):
        face_figure = evaluate_faces.face_numbers(work, (w, h), faces, reference, photo.get("box_faces"),
                                                  photo.get("candidates"), edge_weight=edge_weight)
    out = {"model": metrics.all_metrics(upsample(small, w, h), photo["density"], photo["counts"]),
           "centre": photo["centre"], "crops": {}}
    for ratio in CROP_RATIOS:
        aspect = parse_ratio(ratio).aspect
        for zoom in ZOOMS:
            key = f"{ratio}@{zoom:g}"
            # the product's window (find_box: the faces widened and added to the map), zoomed
            model_box = cropping.find_box(work, (w, h), aspect, faces=faces,
                                          candidates=photo.get("candidates"), zoom=zoom,
                                          edge_weight=edge_weight, centre_tolerance=centre_tolerance)
            out["crops"][key] = {"model": share_inside(record.fixations, model_box),
                                 **photo["fixed_crops"][key]}
    out["faces"] = face_figure
    return out


def summarise(results: list[dict]) -> dict:
    """Means over images; the crop figure as mean shares and the share of the gap closed."""
    summary = {}
    for who in ("model", "centre"):
        summary[who] = {m: float(np.mean([r[who][m] for r in results])) for m in results[0][who]}
    crops = {}
    for key in results[0]["crops"]:
        mean = {k: float(np.mean([r["crops"][key][k] for r in results]))
                for k in ("model", "centre", "oracle")}
        gap = mean["oracle"] - mean["centre"]
        mean["gap_closed"] = (mean["model"] - mean["centre"]) / gap if gap > 0 else float("nan")
        mean["bad"] = float(np.mean([is_bad(r["crops"][key]) for r in results]))
        crops[key] = mean
    for zoom in ZOOMS:
        rows = [v for k, v in crops.items() if k.endswith(f"@{zoom:g}")]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ("model", "centre", "oracle", "bad")}
        gap = mean["oracle"] - mean["centre"]
        mean["gap_closed"] = (mean["model"] - mean["centre"]) / gap if gap > 0 else float("nan")
        crops[f"all@{zoom:g}"] = mean
    summary["crops"] = crops
    return summary


def is_bad(shares: dict) -> bool:
    """The model's crop keeps less than BAD_CROP of the fixations the oracle's keeps."""
    return shares["model"] < BAD_CROP * shares["oracle"]


def format_table(summary: dict, n: int) -> str:
    lines = [f"images: {n}", "", "| metric | model | centre prior |", "|---|---|---|"]
    for m in ("cc", "nss", "auc_judd", "sim", "kl"):
        lines.append(f"| {m} | {summary['model'][m]:.3f} | {summary['centre'][m]:.3f} |")
    lines += ["", "| crop (share of fixations inside) | model | centre | oracle | gap closed "
              "| bad crops |", "|---|---|---|---|---|---|"]
    for key, v in summary["crops"].items():
        ratio, zoom = key.split("@")
        name = f"{ratio}, {'largest' if zoom == '1' else 'zoom ' + zoom}"
        lines.append(f"| {name} | {v['model']:.3f} | {v['centre']:.3f} | {v['oracle']:.3f} "
                     f"| {v['gap_closed']:.0%} | {v['bad']:.1%} |")
    return "\n".join(lines)


def select(records, part: str, val_dataset: str | None = None) -> list:
    """The records of one part ("val", "train" or "all") of the hash or leave-one-out split."""
    if part == "all":
        return list(records)
    if val_dataset:
        train, val = holdout_split(records, val_dataset)
        return val if part == "val" else train
    return [r for r in records if is_validation(r) == (part == "val")]


def headline(summary: dict) -> str:
    """One table row: CC, NSS, AUC-Judd, gap closed and bad crops (largest, zoomed)."""
    m, full, zoom = summary["model"], summary["crops"]["all@1"], summary["crops"]["all@0.6"]
    return (f"{m['cc']:.3f} | {m['nss']:.3f} | {m['auc_judd']:.3f} | {full['gap_closed']:.1%} / "
            f"{zoom['gap_closed']:.1%} | {full['bad']:.1%} / {zoom['bad']:.1%}")


def by_dataset(results: list[dict], records) -> dict[str, dict]:
    """The summary of each dataset's images on their own."""
    names = sorted({r.dataset for r in records})
    return {name: summarise([res for res, rec in zip(results, records, strict=True)
                             if rec.dataset == name]) for name in names}


def format_headlines(parts: dict[str, dict], n: dict[str, int]) -> str:
    lines = ["| images | n | CC | NSS | AUC-Judd | gap closed, largest / zoomed "
             "| bad crops, largest / zoomed |", "|---|---|---|---|---|---|---|"]
    return "\n".join(lines + [f"| {name} | {n[name]} | {headline(s)} |" for name, s in parts.items()])


def duplicate_dataset(roots: list[Path]) -> str | None:
    """Why the dataset folders given cannot all be scored, or None: one folder given twice
    would count each image twice, and two folders of one name would share their keys."""
    seen: dict[str, Path] = {}
    for root in roots:
        for other in seen.values():
            if root.resolve() == other.resolve():
                return f"dataset {root} is given twice (its images would count twice)"
        if root.name in seen:
            return (f"datasets {seen[root.name]} and {root} share the name {root.name!r} "
                    f"(results are keyed by folder name)")
        seen[root.name] = root
    return None


def json_problem(path: Path) -> str | None:
    """Why --json's file could not be written at the end of the run, or None; makes its folder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot make its folder ({e.strerror or e})"
    if path.is_dir():
        return "is a folder"
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        return "not writable"
    return None


def dataset_notes(roots: list[Path], loaded, records) -> list[str]:
    """Lines for stderr before scoring: images without fixations left out (per dataset), and
    fixations outside their image among those scored (another resolution's coordinates score
    near-random with no other sign)."""
    notes = []
    for root in roots:
        left = unlisted_images(root, [r for r in loaded if r.dataset == root.name])
        if left:
            notes.append(f"note: {len(left):,} image{'s' * (len(left) > 1)} in {root / 'images'} "
                         f"{'have' if len(left) > 1 else 'has'} no fixations in fixations.csv, "
                         f"left out (e.g. {left[0]})")
    outside, total, example = outside_fixations(records)
    if outside:
        r, x, y = example
        notes.append(f"warning: {outside:,} of {total:,} fixations lie outside their image (e.g. "
                     f"{r.key} is {r.width}x{r.height}, a fixation at {x:g},{y:g})"
                     + (": recorded at another resolution?" if outside >= 0.01 * total else ""))
    return notes


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="smartcrop-eval", description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--split", choices=("val", "train", "all"), default="all",
                   help="which part of the reproducible split to score (all for unseen datasets)")
    p.add_argument("--val-dataset", default=None, metavar="NAME",
                   help="split leave-one-dataset-out: validation is all of this dataset, train the "
                        "rest (default: the hash split, 10%% of each dataset)")
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--flip", action="store_true",
                   help="average each map with its mirror image's (test-time augmentation)")
    p.add_argument("--thorough", action="store_true",
                   help="as smartcrop --thorough: --flip, the mean of the weights' ensemble models' "
                        "maps, and the product's faces from a tiled search")
    p.add_argument("--centre-mix", type=float, default=None, metavar="W",
                   help="score (1 - W) x the map + W x the centre prior (0 to 1; default: the "
                        "model's own, as the CLI crops)")
    p.add_argument("--centre-fade", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="fade the mix to 0 as the map's concentration (mass in its top tenth) goes "
                        "from LO to HI (default: the model's own)")
    p.add_argument("--no-faces", dest="faces", action="store_false",
                   help="crop without faces (as smartcrop --no-faces); the face figure still counts "
                        "the cuts")
    p.add_argument("--edge-weight", type=float, default=cropping.DEFAULTS["edge_weight"], metavar="W",
                   help="subtract W x the saliency along crop edges from each window's score")
    p.add_argument("--json", type=Path, help="write the summary (and per-image numbers) here")
    p.add_argument("--limit", type=int, default=0)
    args = p.parse_args(argv)
    try:
        check_centre_mix(0 if args.centre_mix is None else args.centre_mix, args.centre_fade)
    except ValueError as e:
        p.error(str(e).replace("centre_", "--centre-"))
    if args.val_dataset and args.split == "all":
        p.error("--val-dataset needs --split val or --split train")
    same = duplicate_dataset(args.datasets)
    if same:
        p.error(same)
    try:
        loaded = load_datasets(args.datasets)
        records = select(loaded, args.split, args.val_dataset)
        model = SaliencyModel(args.weights, threads=2, flip=args.flip or args.thorough,
                               centre_mix=args.centre_mix, centre_fade=args.centre_fade,
                               ensemble=args.thorough)
        # The product's faces with --faces, and the reference ones (always untiled passes).
        detector = FaceDetector(tiles=args.thorough)
    except ValueError as e:
        sys.exit(f"smartcrop-eval: error: {e}")
    if args.limit:
        records = records[:args.limit]
    if not records:
        sys.exit(f"smartcrop-eval: error: no images to score (--split {args.split} leaves none "
                 f"of {len(loaded)})")
    if args.json:  # as smartcrop's --manifest: its folder is made, and before the work
        problem = json_problem(args.json)
        if problem:
            sys.exit(f"smartcrop-eval: error: --json {args.json}: {problem}")
    for note in dataset_notes(args.datasets, loaded, records):
        print(f"smartcrop-eval: {note}", file=sys.stderr)
    start = time.perf_counter()
    results = [evaluate_record(model, r, detector, args.edge_weight, args.faces)
               for r in records]
    summary = summarise(results)
    parts = by_dataset(results, records)
    counts = {name: sum(r.dataset == name for r in records) for name in parts}
    print(format_table(summary, len(results)))
    print("\n" + format_headlines({"all": summary, **parts}, {"all": len(results), **counts}))
    faces = evaluate_faces.summarise_faces([r["faces"] for r in results])
    print("\n" + evaluate_faces.format_faces(faces))
    print(f"\n{len(results)} images in {time.perf_counter() - start:.0f} s; model {model.path}"
          + "".join(f" + {m.path.name}" for m in model.members))
    if args.json:
        settings = {"split": args.split, "val_dataset": args.val_dataset, "flip": model.flip,
                    "thorough": args.thorough, "centre_mix": model.centre_mix,
                    "centre_fade": model.centre_fade, "model": str(model.path),
                    "ensemble": [str(m.path) for m in model.members], "faces": args.faces,
                    "edge_weight": args.edge_weight,
                    "datasets": [str(d) for d in args.datasets]}
        try:
            args.json.write_text(json.dumps({"settings": settings, "summary": summary, "by_dataset": parts,
                                             "faces": faces,
                                             "images": [r.key for r in records],
                                             "per_image": results}, indent=1))
        except OSError as e:
            sys.exit(f"smartcrop-eval: error: --json {args.json}: {e.strerror or e}")


if __name__ == "__main__":
    main()
