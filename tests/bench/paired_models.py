"""Two saliency models on the same held-out photos, pair by pair: gap closed over all (photo,
ratio) pairs and over the centre-strong ones, with a bootstrap over photos of the difference.

Issue 14's held-out set has a strong centre crop (0.945 of the oracle's fixations at the largest
windows), so what a model does where the centred window is already good decides its figure
there. A pair is centre-strong at threshold t when its largest centred window keeps at least t
of the fixation oracle's fixations (`centre_mix.py` reports t = 0.9). Window crops with the face
rule, as `smartcrop-eval` scores them; the bootstrap resamples photos, so it measures the
photos' noise on the difference, not the training noise between two runs. Needs
../shared/datasets.

    .venv/bin/python tests/bench/paired_models.py ../shared/datasets/{osie,eyecrowd,scene500} \
        --val-dataset osie --weights runs/fold-osie/export --weights runs/fold-osie-aug/export

`--flip 2` averages the second model's maps with their mirror images' (the same folder twice
reads what flip averaging does on those pairs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import cropping, evaluate, evaluate_faces  # noqa: E402
from smartcrop.faces import FaceDetector  # noqa: E402
from smartcrop.fixations import fixation_counts, load_datasets  # noqa: E402
from smartcrop.images import shrink_for_model, to_rgb  # noqa: E402
from smartcrop.options import parse_ratio  # noqa: E402
from smartcrop.saliency import SaliencyModel, work_map  # noqa: E402

THRESHOLDS = (0.0, 0.85, 0.9, 0.95)


def shares(records, models: list[SaliencyModel], detector: FaceDetector) -> np.ndarray:
    """Rows of (photo, ratio index, zoom, centre-strength, centre, oracle, model 1, model 2...):
    shares of each photo's fixations inside each crop."""
    rows = []
    for i, r in enumerate(records):
        size = (r.width, r.height)
        with Image.open(r.path) as im:
            rgb = to_rgb(im)
            rgb.load()
        # the product's faces and unsure faces, as smartcrop-eval finds them
        found, unsure = detector.find(shrink_for_model(rgb, models[0].input_size(*size)), size)
        faces, unsure = evaluate_faces.face_array(found), evaluate_faces.face_array(unsure)
        works = [work_map(m.predict(rgb), *size) for m in models]
        counts = fixation_counts(r.fixations, *size)
        strength = {}
        for k, ratio in enumerate(evaluate.CROP_RATIOS):
            aspect = parse_ratio(ratio).aspect
            for zoom in evaluate.ZOOMS:
                centre = evaluate.share_inside(r.fixations, evaluate.centred_box(size, aspect, zoom))
                oracle = evaluate.share_inside(r.fixations, cropping.best_window(
                    counts, size, aspect, zoom, centre_tolerance=0.0))
                if zoom == 1:
                    strength[k] = centre / oracle if oracle > 0 else 0.0
                model = [evaluate.share_inside(r.fixations, cropping.find_box(
                    work, size, aspect, faces=faces, candidates=unsure, zoom=zoom)) for work in works]
                rows.append([i, k, zoom, strength[k], centre, oracle, *model])
    return np.array(rows)


def gap_closed(model: np.ndarray, centre: np.ndarray, oracle: np.ndarray) -> float:
    return float((model.mean() - centre.mean()) / (oracle.mean() - centre.mean()))


def compare(rows: np.ndarray, draws: int = 300, seed: int = 0) -> list[str]:
    """Per zoom and threshold: pairs, each model's gap closed, the last minus the first, and
    the 5-95% range of that difference over photo bootstraps."""
    rng = np.random.default_rng(seed)
    photo = rows[:, 0].astype(int)
    n = photo.max() + 1
    lines = []
    for zoom in evaluate.ZOOMS:
        for threshold in THRESHOLDS:
            sel = (rows[:, 2] == zoom) & (rows[:, 3] >= threshold)
            part, owner = rows[sel], photo[sel]
            by_photo = [np.flatnonzero(owner == k) for k in range(n)]
            figures = [gap_closed(part[:, c], part[:, 4], part[:, 5]) for c in range(6, rows.shape[1])]
            diffs = []
            for _ in range(draws):
                take = np.concatenate([by_photo[k] for k in rng.integers(0, n, n)])
                s = part[take]
                diffs.append(gap_closed(s[:, -1], s[:, 4], s[:, 5]) - gap_closed(s[:, 6], s[:, 4], s[:, 5]))
            lo, hi = np.quantile(diffs, [0.05, 0.95])
            lines.append(f"| {zoom:g} | {threshold:g} | {sel.sum()} | "
                         + " | ".join(f"{f:.1%}" for f in figures)
                         + f" | {figures[-1] - figures[0]:+.1%} ({lo:+.1%} to {hi:+.1%}) |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--val-dataset", default=None,
                   help="score all of this dataset (a fold); default: the hash split's validation part")
    p.add_argument("--weights", type=Path, action="append", required=True,
                   help="an exported model folder; give two or more (the first is the baseline)")
    p.add_argument("--flip", type=int, action="append", default=[], metavar="N",
                   help="average the N-th model's maps with its mirror image's (counting from 1)")
    args = p.parse_args()
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    models = [SaliencyModel(w, threads=1, flip=i + 1 in args.flip) for i, w in enumerate(args.weights)]
    rows = shares(records, models, FaceDetector())
    print(f"{args.val_dataset or 'validation split'}: {len(records)} photos; models "
          + ", ".join(f"{w}{' (flip-averaged)' if i + 1 in args.flip else ''}"
                      for i, w in enumerate(args.weights)))
    print("\n| zoom | centre-strong at | pairs | " + " | ".join(f"model {i + 1}" for i in range(len(models)))
          + " | last − first (photo bootstrap, 5–95%) |\n|---|---|---|" + "---|" * (len(models) + 1))
    print("\n".join(compare(rows)))


if __name__ == "__main__":
    main()
