"""The ensemble lever (issue 14): each model alone against the mean of their maps, per fold.

Runs every model in `--weights` (and the face detectors) once per photo, then scores each
model's map and the mean of all the maps with smartcrop-eval's own scoring
(`evaluate.score_record`) with the shipped centre mix (`--bare`: also without), faces on as
the CLI crops. `--pairs` adds the mean of each pair of three or more models; `--flip` makes
each model's map its flip average (two inferences each). An ensemble of N models costs N
inferences per photo. Needs ../shared/datasets.

    .venv/bin/python tests/bench/ensemble.py ../shared/datasets/{osie,eyecrowd,scene500} \\
        --val-dataset scene500 --weights runs/fold-scene500-skip/export \\
        --weights runs/fold-scene500-v2/export [--pairs] [--flip] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import evaluate  # noqa: E402
from smartcrop.faces import FaceDetector  # noqa: E402
from smartcrop.fixations import load_datasets  # noqa: E402
from smartcrop.images import to_rgb  # noqa: E402
from smartcrop.saliency import SaliencyModel, mix_centre  # noqa: E402

SHIPPED_MIX = (0.4, (0.3, 0.6))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--val-dataset", default=None)
    p.add_argument("--weights", type=Path, action="append", required=True,
                   help="a model folder; give two or more")
    p.add_argument("--flip", action="store_true",
                   help="each model's map is its flip average (--thorough's map)")
    p.add_argument("--pairs", action="store_true",
                   help="also score the mean of every pair of models")
    p.add_argument("--bare", action="store_true",
                   help="also score the maps without the centre mix (default: the shipped mix only)")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    if args.limit:
        records = records[:args.limit]
    models = [SaliencyModel(w, threads=2, centre_mix=0.0, flip=args.flip) for w in args.weights]
    detector = FaceDetector()
    start = time.perf_counter()
    photos = []
    combos = list(itertools.combinations(range(len(models)), 2)) if len(models) > 2 else []
    for r in records:
        photo = evaluate.prepare_record(models[0], r, detector)
        with Image.open(r.path) as im:
            rgb = to_rgb(im)
            rgb.load()
        maps = [photo["map"]] + [m.predict(rgb) for m in models[1:]]
        pairs = [np.mean([maps[i], maps[j]], axis=0) for i, j in combos] if args.pairs else []
        photo["maps"] = maps + pairs + [np.mean(maps, axis=0)]  # each mean map still sums to 1
        photos.append(photo)
    print(f"{len(photos)} images prepared in {time.perf_counter() - start:.0f} s")
    names = ([str(w) for w in args.weights]
             + [f"mean of {args.weights[i]} and {args.weights[j]}" for i, j in combos if args.pairs]
             + [f"mean of {len(models)}"])
    if args.flip:
        names = [f"{n}, flip averaged" for n in names]
    print("\n| model | setting | CC | NSS | AUC-Judd | gap closed, largest / zoomed "
          "| bad crops, largest / zoomed |\n|---|---|---|---|---|---|---|")
    out = []
    for i, label in enumerate(names):
        for mix, fade in ([(0.0, None)] if args.bare else []) + [SHIPPED_MIX]:
            results = [evaluate.score_record(ph, mix_centre(ph["maps"][i], mix, fade)) for ph in photos]
            summary = evaluate.summarise(results)
            setting = f"mix {mix:g}" + (f", fade {fade[0]:g}-{fade[1]:g}" if fade else "")
            print(f"| {label} | {setting} | {evaluate.headline(summary)} |", flush=True)
            out.append({"model": label, "centre_mix": mix, "centre_fade": fade, "summary": summary})
    if args.json:
        args.json.write_text(json.dumps({"val_dataset": args.val_dataset, "images": len(photos),
                                         "results": out}, indent=1))


if __name__ == "__main__":
    main()
