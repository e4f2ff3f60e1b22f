"""How often --fit auto pads, per dataset and ratio, for each size factor of the face rule
(`padding.faces_lost`'s `prominent`: a face left out of the crop counts when its side is at
least that share of the largest face's; a face the crop's edge cuts always counts).

Reads the manifest of a cropping dry run, which holds each crop's box, score and faces:

    smartcrop DIR out --ratio 9:16 --ratio 4:5 --ratio 1:1 --fit crop --dry-run --manifest crop.jsonl
    .venv/bin/python tests/bench/fit_faces.py crop.jsonl [--list 0.5 0.75]

and prints, per (dataset folder, ratio), the share padded with each factor (0 = every face left
out counts, the rule before; "score" = by the saliency share alone). `--list A B` names the
crops the two factors decide differently, to look at.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from smartcrop import padding
from smartcrop.cropping import Box
from smartcrop.options import parse_ratio

FACTORS = (0.0, 0.33, 0.5, 0.67, 0.75, 1.0)


def fit(record: dict, factor: float | None) -> str:
    """What --fit auto picks for this crop with the given factor (None: no face rule)."""
    lost = None if factor is None else padding.faces_lost(Box(*record["box"]), record["faces"] or [],
                                                          prominent=factor)
    return padding.choose(record["score"], lost)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("manifest", type=Path)
    p.add_argument("--list", nargs=2, type=float, metavar=("A", "B"))
    args = p.parse_args()
    records = [json.loads(line) for line in args.manifest.read_text().splitlines()]
    records = [r for r in records if r["status"] != "error" and r["box"] and r["ratio"]]
    padded, count = defaultdict(lambda: defaultdict(int)), defaultdict(int)
    for r in records:
        key = (Path(r["input"]).parent.name, r["ratio"])
        count[key] += 1
        for factor in (*FACTORS, None):
            padded[key][factor] += fit(r, factor) == "pad"
    print("dataset   ratio  " + "  ".join(f"{f:>5g}" for f in FACTORS) + "  score")
    for key in sorted(count, key=lambda k: (k[0], parse_ratio(k[1]).aspect)):
        shares = [100 * padded[key][f] / count[key] for f in (*FACTORS, None)]
        print(f"{key[0]:9} {key[1]:6} " + "  ".join(f"{s:4.0f}%" for s in shares))
    if args.list:
        a, b = args.list
        for r in records:
            if fit(r, a) != fit(r, b):
                print(f"{r['input']} {r['ratio']}: {a:g} {fit(r, a)}, {b:g} {fit(r, b)}")


if __name__ == "__main__":
    main()
