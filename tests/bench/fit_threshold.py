"""Where --fit auto should switch from crop to pad: the crop's predicted saliency share against
the share of real fixations the crop keeps.

``.venv/bin/python tests/bench/fit_threshold.py [--shared ../shared]`` crops every validation
image (the hash split, all three datasets) to 9:16, 4:5 and 1:1 with the shipped model. A crop
"loses the subject" when it keeps less than half of all fixations (padding keeps all of them).
For each threshold T on the predicted score (`cropping.coverage`, the record's `score`) it
prints how many crops T sends to padding, and how many of the losing crops it catches and how
many good crops it pads needlessly; the chosen T maximises caught minus needless (Youden's J;
the lower T of a tie).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from smartcrop import cropping
from smartcrop.evaluate import share_inside
from smartcrop.fixations import is_validation, load_datasets
from smartcrop.images import to_rgb
from smartcrop.options import parse_ratio
from smartcrop.saliency import SaliencyModel, work_map

RATIOS = ("9:16", "4:5", "1:1")
LOSES = 0.5  # a crop keeping less than half the fixations loses the subject


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=Path("../shared"))
    p.add_argument("--all", action="store_true", help="every image, not only the validation split")
    args = p.parse_args()
    roots = [args.shared / "datasets" / d for d in ("osie", "eyecrowd", "scene500")]
    records = [r for r in load_datasets(roots) if args.all or is_validation(r)]
    model = SaliencyModel(threads=2)
    scores, kept = [], []
    for rec in records:
        with Image.open(rec.path) as im:
            work = work_map(model.predict(to_rgb(im)), rec.width, rec.height)
        for ratio in RATIOS:
            box = cropping.best_window(work, (rec.width, rec.height), parse_ratio(ratio).aspect)
            scores.append(cropping.coverage(work, (rec.width, rec.height), box))
            kept.append(share_inside(rec.fixations, box))
    scores, kept = np.array(scores), np.array(kept)
    losing = kept < LOSES
    which = "" if args.all else "validation "
    print(f"{len(records)} {which}images x {len(RATIOS)} ratios = {len(scores)} crops; "
          f"{losing.sum()} ({losing.mean():.0%}) keep under {LOSES:.0%} of the fixations")
    print("| T | padded | losing crops caught | good crops padded | J |")
    print("|---|---|---|---|---|")
    table = []
    for t in np.arange(0.30, 0.86, 0.05):
        pad = scores < t
        caught = (pad & losing).sum() / max(1, losing.sum())
        needless = (pad & ~losing).sum() / max(1, (~losing).sum())
        table.append((round(float(t), 2), round(float(caught - needless), 2)))
        print(f"| {t:.2f} | {pad.mean():.0%} | {caught:.0%} | {needless:.0%} | {caught - needless:.2f} |")
    top = max(j for _, j in table)
    best = (top, min(t for t, j in table if j == top))  # ties: the lower T pads fewer good crops
    print(f"best T = {best[1]:.2f} (J = {best[0]:.2f})")
    for ratio_i, ratio in enumerate(RATIOS):
        s = scores[ratio_i::len(RATIOS)]
        padded = (s < best[1]).mean()
        print(f"{ratio}: median score {np.median(s):.2f}, padded at T={best[1]:.2f}: {padded:.0%}")


if __name__ == "__main__":
    main()
