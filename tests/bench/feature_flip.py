"""Is mirroring only the head's input worth it? Held-out CC of a fold's Keras model, at the map's
resolution: the plain map, the map averaged with the mirrored photo's (test-time flip averaging,
two backbone passes), and the map averaged with the head run on mirrored backbone features (one
backbone pass, two head passes). Needs a fold run folder (`make fold VAL=X`: its config,
best weights and prepared data.npz) and the `train` extra.

    .venv/bin/python tests/bench/feature_flip.py runs/fold-eyecrowd
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop import metrics  # noqa: E402
from smartcrop.model.network import NetworkConfig, backbone_of, build_saliency_model  # noqa: E402


def correlations(pred: np.ndarray, target: np.ndarray) -> list[float]:
    """CC per map (`metrics.cc`); `pred` (N, H, W, 1), `target` (N, H, W)."""
    return [metrics.cc(p[..., 0], t) for p, t in zip(pred, target, strict=True)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="a fold's run folder")
    p.add_argument("--limit", type=int, default=0)
    args = p.parse_args()
    import tensorflow as tf

    config = NetworkConfig(**json.loads((args.run / "config.json").read_text()))
    if not config.skip_channels:
        raise SystemExit("written for the multi-level network (skip_channels > 0)")
    model = build_saliency_model(config)
    model.load_weights(args.run / "best.weights.h5")
    data = np.load(args.run / "data.npz")
    images, targets = data["xv"], data["yv"][..., 0]
    if args.limit:
        images, targets = images[:args.limit], targets[:args.limit]
    layer = {lay.name: lay for lay in model.layers}
    backbone = backbone_of(model)

    def head(fine, x):  # the layers after the backbone, as build_saliency_model joins them
        x = layer["reduce"](layer["with_skip"]([x, layer["skip"](fine)]))
        x = layer["attentive_convlstm"](x)
        priors = layer["gaussian_prior"](x)
        for i in (1, 2):
            x = layer[f"mix_{i}"](layer[f"with_priors_{i}"]([x, priors]))
        return layer["saliency"](layer["upsample"](layer["logits"](x)))

    scores = {"plain": [], "image flip": [], "feature flip": []}
    for i in range(0, len(images), 10):
        x = tf.constant(images[i:i + 10].astype(np.float32))
        fine, coarse = backbone(layer["to_unit_range"](x))
        plain = head(fine, coarse).numpy()
        mirrored = head(tf.reverse(fine, [2]), tf.reverse(coarse, [2])).numpy()[:, :, ::-1]
        image_flip = model(tf.reverse(x, [2])).numpy()[:, :, ::-1]
        t = targets[i:i + 10]
        scores["plain"] += correlations(plain, t)
        scores["image flip"] += correlations((plain + image_flip) / 2, t)
        scores["feature flip"] += correlations((plain + mirrored) / 2, t)
    print(f"{args.run}: {len(images)} held-out canvases, CC at the map resolution")
    for name, values in scores.items():
        print(f"  {name}: {np.mean(values):.4f}")


if __name__ == "__main__":
    main()
