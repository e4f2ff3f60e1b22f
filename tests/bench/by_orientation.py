"""The figures of `smartcrop-eval --json` files split by the photos' shape: landscape, square,
portrait. The datasets hold few portrait photos (35, all Scene500), so this reads the scene500
fold's real portrait photos beside the portrait cuts of `portrait_canvas.py`.

    .venv/bin/python tests/bench/by_orientation.py ../shared/datasets/{osie,eyecrowd,scene500} \\
        --json runs/fold-scene500/eval.json --json runs/fold-scene500-port/eval.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import evaluate  # noqa: E402
from smartcrop.fixations import load_datasets  # noqa: E402


def shape(width: int, height: int) -> str:
    return "portrait" if width < height else "square" if width == height else "landscape"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="+", type=Path)
    p.add_argument("--json", type=Path, action="append", required=True,
                   help="smartcrop-eval --json output (repeat to compare)")
    args = p.parse_args(argv)
    shapes = {r.key: shape(r.width, r.height) for r in load_datasets(args.datasets)}
    print("| eval | photos | n | CC | NSS | AUC-Judd | gap closed, largest / zoomed "
          "| bad crops, largest / zoomed |\n|---|---|---|---|---|---|---|---|")
    for path in args.json:
        d = json.loads(path.read_text())
        for name in ("landscape", "square", "portrait"):
            rows = [r for key, r in zip(d["images"], d["per_image"], strict=True)
                    if shapes[key] == name]
            if rows:
                print(f"| {path} | {name} | {len(rows)} | "
                      f"{evaluate.headline(evaluate.summarise(rows))} |")


if __name__ == "__main__":
    main()
