"""Portrait photos on a landscape canvas or a portrait one: the crop figure and map metrics of each.

The three datasets hold almost no portrait photos (36 of 1,700), so this makes them: from each
landscape validation photo, three 3:4 portrait cuts (left, centre, right) that keep at least
`--min-fixations` of its fixations, saved losslessly, their fixations shifted with them. Each
cut is then scored as `smartcrop-eval` scores a photo, once with the model on its usual 320x240
canvas (the cut letterboxed, 176x240) and once with the same weights exported on a 240x320
canvas (the cut fills it). Faces on, as the CLI crops (found once, in the first model's pass).
The fixations were recorded on the whole photo, so a cut's are a stand-in for what viewers of
the cut alone would look at; both canvases are scored against the same stand-in.

    .venv/bin/python tests/bench/portrait_canvas.py ../shared/datasets/{osie,eyecrowd,scene500} \\
        --val-dataset scene500 --weights runs/fold-scene500-skip/export \\
        --weights runs/fold-scene500-skip/export-portrait [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import evaluate, evaluate_faces  # noqa: E402
from smartcrop.faces import FaceDetector  # noqa: E402
from smartcrop.fixations import FixationRecord, load_datasets  # noqa: E402
from smartcrop.saliency import SaliencyModel  # noqa: E402

POSITIONS = {"left": 0.0, "centre": 0.5, "right": 1.0}


def portrait_cuts(records, folder: Path, min_fixations: int) -> list[FixationRecord]:
    """3:4 cuts of each landscape record, written to `folder` as PNG, with their fixations."""
    cuts = []
    for r in records:
        width = round(r.height * 3 / 4)
        if width >= r.width:
            continue
        with Image.open(r.path) as im:
            rgb = im.convert("RGB")
        for where, pos in POSITIONS.items():
            left = round(pos * (r.width - width))
            inside = ((r.fixations[:, 0] >= left) & (r.fixations[:, 0] < left + width))
            if inside.sum() < min_fixations:
                continue
            path = folder / f"{r.dataset}-{r.name}-{where}.png"
            rgb.crop((left, 0, left + width, r.height)).save(path)
            cuts.append(FixationRecord(r.dataset, f"{r.name}-{where}", path, width, r.height,
                                       r.fixations[inside] - [left, 0]))
    return cuts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--val-dataset", default=None)
    p.add_argument("--weights", type=Path, action="append", required=True,
                   help="exported models to compare (repeat): e.g. the 320x240 and 240x320 exports")
    p.add_argument("--min-fixations", type=int, default=10)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    if args.limit:
        records = records[:args.limit]
    detector = FaceDetector()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        cuts = portrait_cuts(records, Path(tmp), args.min_fixations)
        print(f"{len(cuts)} portrait cuts of {len(records)} photos")
        print("\n| model (canvas) | CC | NSS | AUC-Judd | gap closed, largest / zoomed "
              "| bad crops, largest / zoomed | window / box cuts a face |\n|---|---|---|---|---|---|---|")
        photos = None
        for weights in args.weights:
            model = SaliencyModel(weights, threads=2)
            start = time.perf_counter()
            if photos is None:  # faces, targets and fixed crops once; each model adds its map
                photos = [evaluate.prepare_record(model, r, detector) for r in cuts]
            else:
                for ph in photos:
                    with Image.open(ph["record"].path) as im:
                        ph["map"] = model.predict(im.convert("RGB"))
            results = [evaluate.score_record(ph, ph["map"]) for ph in photos]
            summary = evaluate.summarise(results)
            faces = evaluate_faces.summarise_faces([r["faces"] for r in results])
            cut = f"{faces['window_cut']:.1%} / {faces['box_cut']:.1%}" if faces["pairs"] else "-"
            w, h = model.input_size()
            print(f"| {weights} ({w}x{h}) | {evaluate.headline(summary)} | {cut} |"
                  f" <!-- {time.perf_counter() - start:.0f} s -->", flush=True)
            out.append({"weights": str(weights), "canvas": [w, h], "summary": summary, "faces": faces})
    if args.json:
        args.json.write_text(json.dumps({"val_dataset": args.val_dataset, "cuts": len(cuts),
                                         "models": out}, indent=1))


if __name__ == "__main__":
    main()
