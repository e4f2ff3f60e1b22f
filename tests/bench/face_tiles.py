"""How --thorough's tiled face search was chosen: face cuts, face area kept and the crop figure
for the product's single pass, the tiled search at each quarter threshold, and the reference
faces themselves (the bound: the crop avoids exactly the faces it is scored on).

The saliency map is made once per photo (with --flip, flip-averaged as --thorough does); only the
product's faces change between rows. Needs ../shared/datasets.

    .venv/bin/python tests/bench/face_tiles.py ../shared/datasets/{osie,eyecrowd,scene500} \\
        --val-dataset eyecrowd --weights runs/fold-eyecrowd/export [--flip] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import evaluate, evaluate_faces  # noqa: E402
from smartcrop.faces import FaceDetector  # noqa: E402
from smartcrop.fixations import load_datasets  # noqa: E402
from smartcrop.images import shrink_for_model, to_rgb  # noqa: E402
from smartcrop.saliency import SaliencyModel  # noqa: E402

THRESHOLDS = (0.6, 0.75)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--val-dataset", default=None)
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--flip", action="store_true", help="flip-averaged maps, as --thorough")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    records = evaluate.select(load_datasets(args.datasets), "val", args.val_dataset)
    if args.limit:
        records = records[:args.limit]
    model = SaliencyModel(args.weights, threads=1, flip=args.flip)
    single = FaceDetector()
    detectors = {"single pass (default)": single,
                 **{f"tiles, quarters at {t:g}": FaceDetector(tiles=True, tile_min_score=t)
                    for t in THRESHOLDS}}
    rows = {name: [] for name in [*detectors, "reference faces (bound)"]}
    seconds = dict.fromkeys(detectors, 0.0)
    for record in records:
        photo = evaluate.prepare_record(model, record, single)
        with Image.open(record.path) as im:
            rgb = to_rgb(im)
            rgb.load()
        small = shrink_for_model(rgb, model.input_size(*rgb.size))
        for name, detector in detectors.items():
            start = time.perf_counter()
            faces = detector.detect(small, (record.width, record.height))
            seconds[name] += time.perf_counter() - start
            rows[name].append(evaluate.score_record(
                {**photo, "faces": evaluate_faces.face_array(faces)}, photo["map"]))
        rows["reference faces (bound)"].append(
            evaluate.score_record({**photo, "faces": photo["reference"]}, photo["map"]))
    print(f"{len(records)} photos, model {model.path}, flip {args.flip}\n")
    print("| product faces | ms per photo | CC / NSS / AUC / gap closed / bad crops | window cuts "
          "| box cuts | face area kept (window) | pairs |\n|---|---|---|---|---|---|---|")
    out = {}
    for name, results in rows.items():
        summary = evaluate.summarise(results)
        faces = evaluate_faces.summarise_faces([r["faces"] for r in results])
        ms = f"{seconds[name] / len(records) * 1000:.1f}" if name in seconds else "-"
        print(f"| {name} | {ms} | {evaluate.headline(summary)} | {faces['window_cut']:.1%} "
              f"| {faces['box_cut']:.1%} | {faces['window_kept']:.3f} | {faces['pairs']} |", flush=True)
        out[name] = {"summary": summary, "faces": faces, "ms": seconds.get(name)}
    if args.json:
        args.json.write_text(json.dumps({"weights": str(model.path), "flip": args.flip,
                                         "val_dataset": args.val_dataset, "rows": out}, indent=1))


if __name__ == "__main__":
    main()
