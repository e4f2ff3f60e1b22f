"""``smartcrop-train``: train the saliency network on eye-fixation datasets, resumably.

Two phases: the head with the ImageNet backbone frozen, then everything fine-tuned at a lower
learning rate. Each phase checkpoints every epoch (Keras BackupAndRestore) and appends its
per-epoch validation metrics to ``<out>/log.csv``; rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from smartcrop.model import require_train_extra

if __name__ == "__main__":  # run as a tool: one line naming the extra, not a traceback
    require_train_extra("smartcrop-train")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH  # noqa: E402
from smartcrop.fixations import load_datasets, split  # noqa: E402
from smartcrop.model.backbone import BACKBONES, backbone_name, build_backbone  # noqa: E402
from smartcrop.model.convert import load_tflite_into  # noqa: E402
from smartcrop.model.data import AUGMENTATIONS, FixationBatches, prepare_all, prepare_portrait_all  # noqa: E402
from smartcrop.model.losses import cc_metric, kl_metric, make_loss, nss_metric  # noqa: E402
from smartcrop.model.network import NetworkConfig, backbone_of, build_saliency_model  # noqa: E402

DEFAULT_DATA = ["../shared/datasets/osie", "../shared/datasets/eyecrowd", "../shared/datasets/scene500"]
DEFAULT_PRETRAINED = {
    "mobilenet_v1": "../shared/pretrained/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
    "mobilenet_v2": "../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite",
}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="smartcrop-train", description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="*", default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=Path("runs/main"))
    p.add_argument("--backbone", choices=BACKBONES, default=NetworkConfig.backbone)
    p.add_argument("--pretrained", type=Path, default=None,
                   help="the backbone's ImageNet TFLite release (or converted *.weights.h5); "
                        "default: the one for --backbone in ../shared/pretrained")
    p.add_argument("--output-stride", type=int, default=16, choices=(8, 16))
    p.add_argument("--feature-channels", type=int, default=NetworkConfig.feature_channels,
                   help="channels of the 1x1 reduction that feeds the ConvLSTM")
    p.add_argument("--lstm-units", type=int, default=NetworkConfig.lstm_units)
    p.add_argument("--skip-channels", type=int, default=None,
                   help="multi-level features: channels from the stride-8 block joined to the "
                        f"stride-16 features (0: off; default {NetworkConfig.skip_channels} at "
                        "output stride 16, 0 at 8)")
    p.add_argument("--heads", type=int, default=NetworkConfig.heads,
                   help="heads on the one backbone, each trained on its own loss; the map is their "
                        "mean (an ensemble that runs the backbone once; default 1)")
    p.add_argument("--epochs-frozen", type=int, default=5)
    p.add_argument("--epochs-finetune", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-finetune", type=float, default=1e-4)
    p.add_argument("--schedule", choices=("plateau", "cosine"), default="plateau",
                   help="learning rate in each phase: plateau (x0.3 after 2 epochs without a lower "
                        "validation loss) or cosine (from the phase's rate down to 0 at its end)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep-epochs", action="store_true",
                   help="also save each epoch's weights (<phase>_epochNN.weights.h5) to score a fixed epoch")
    p.add_argument("--limit", type=int, default=0, help="use only N train and N val images (smoke runs)")
    p.add_argument("--steps", type=int, default=0, help="cap steps per epoch (smoke runs)")
    p.add_argument("--val-dataset", default=None, metavar="NAME",
                   help="leave this dataset (folder name) out of training and validate on all of "
                        "it (default: the hash split, 10%% of each dataset)")
    p.add_argument("--canvas", type=canvas_arg, default=(CANVAS_WIDTH, CANVAS_HEIGHT), metavar="WxH",
                   help=f"the landscape training canvas, multiples of 16 (default "
                        f"{CANVAS_WIDTH}x{CANVAS_HEIGHT}); portrait cuts stay "
                        f"{CANVAS_HEIGHT}x{CANVAS_WIDTH}")
    p.add_argument("--augment", choices=AUGMENTATIONS, default="flip",
                   help="flip: horizontal flips; strong: also zoomed crops and colour jitter")
    p.add_argument("--portrait-share", type=float, default=0.25, metavar="P",
                   help="train this share of batches on random 3:4 cuts of the photos on the "
                        "240x320 canvas that portrait photos run on (default 0.25; 0: the "
                        "landscape canvas only, as before 2026-12-06); the cuts' targets are "
                        "the fixations, never --teacher maps")
    p.add_argument("--teacher", type=Path, action="append", default=[], metavar="MODEL",
                   help="distillation: an exported model (.tflite or its folder) whose raw maps "
                        "are blended into the training densities; repeat for an ensemble (their "
                        "mean). Teachers must not have seen the validation images")
    p.add_argument("--teacher-weight", type=float, default=0.5,
                   help="share of the teachers' mean map in each training density (default 0.5)")
    p.add_argument("--sat-weight", type=float, default=0.0,
                   help="add this times the summed-area-table distance (losses.sat_distance) to "
                        "the loss, so where the mass sits at a window's scale counts (default 0)")
    p.add_argument("--nss-weight", type=float, default=0.0,
                   help="subtract this times NSS at the fixation counts from the loss (SAM's third "
                        "term; default 0)")
    p.add_argument("--threads", type=int, default=0,
                   help="TensorFlow threads per op and across ops (0: TensorFlow's default)")
    return p.parse_args(argv)


def canvas_arg(value: str) -> tuple[int, int]:
    """argparse type of a WxH canvas option (train's --canvas, export's two): (w, h), both
    multiples of 16, the network's stride."""
    try:
        size = tuple(int(v) for v in value.lower().split("x"))
    except ValueError:
        size = ()
    if len(size) != 2 or any(v < 16 or v % 16 for v in size):
        raise argparse.ArgumentTypeError(f"must be WxH, multiples of 16, not {value}")
    return size


def load_data(args):
    """Prepared arrays for train and validation, cached in <out>/data.npz (with its split)."""
    cache = args.out / "data.npz"
    split_name = f"holdout:{args.val_dataset}" if args.val_dataset else "hash10"
    if args.canvas != (CANVAS_WIDTH, CANVAS_HEIGHT):
        split_name += "@{}x{}".format(*args.canvas)
    if cache.exists() and not args.limit:
        d = np.load(cache)
        cached = str(d["split"]) if "split" in d else "hash10"
        if cached == split_name:
            return (d["xt"], d["yt"]), (d["xv"], d["yv"])
        print(f"{cache} holds split {cached}, not {split_name}: preparing again", flush=True)
    train, val = split_records(args)
    print(f"preparing {len(train)} train / {len(val)} validation images", flush=True)
    xt, yt = prepare_all(train, args.canvas)
    xv, yv = prepare_all(val, args.canvas)
    if not args.limit:
        np.savez(cache, xt=xt, yt=yt, xv=xv, yv=yv, split=np.array(split_name))
    return (xt, yt), (xv, yv)


def split_records(args):
    """The (train, validation) records, in the order of the prepared arrays."""
    train, val = split(load_datasets(args.datasets), val_dataset=args.val_dataset)
    if args.limit:
        train, val = train[:args.limit], val[:args.limit]
    return train, val


def distill_targets(args, xt: np.ndarray, yt: np.ndarray) -> np.ndarray:
    """Training targets with the teachers' mean map blended in (validation keeps the fixations)."""
    from smartcrop.model.distill import blend, image_regions, teacher_maps

    records = train_records(args, len(xt))
    start = time.time()
    maps = teacher_maps(xt, image_regions(records), args.teacher)
    print(f"teacher maps from {len(args.teacher)} model(s) in {time.time() - start:.0f} s", flush=True)
    return blend(yt, maps, args.teacher_weight)


def train_records(args, n: int) -> list:
    """The training records, checked against the `n` cached prepared images they must match."""
    records = split_records(args)[0]
    if len(records) != n:
        raise ValueError(f"{len(records)} train records but {n} prepared images; "
                         f"remove {args.out / 'data.npz'}")
    return records


def portrait_sources(args, n: int):
    """The training photos prepared for portrait cuts (`data.prepare_portrait_all`), in the
    order of the prepared arrays; made again on each run (about 30 s and 0.6 GB per 1,000 photos)."""
    start = time.time()
    sources = prepare_portrait_all(train_records(args, n))
    print(f"portrait sources for {n} images in {time.time() - start:.0f} s", flush=True)
    return sources


def load_backbone_weights(model: keras.Model, pretrained: Path) -> None:
    backbone = backbone_of(model)
    if pretrained.suffix == ".tflite":
        load_tflite_into(backbone, pretrained)
    else:
        source = build_backbone(backbone_name(backbone), 32)
        source.load_weights(pretrained)
        backbone.set_weights(source.get_weights())


def run_phase(model, name, epochs, lr, train_data, val_data, args) -> None:
    """Fit one phase, resuming from its backup; its final weights mark it done."""
    done = args.out / f"{name}.weights.h5"
    if done.exists():
        model.load_weights(done)
        print(f"{name}: already done, loaded {done}", flush=True)
        return
    if epochs <= 0:
        return
    if args.schedule == "cosine":  # a schedule of optimizer steps, so resuming continues it
        steps = epochs * (args.steps or len(train_data))
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=make_loss(args.sat_weight, args.nss_weight),
                  metrics=[cc_metric, kl_metric, nss_metric])
    callbacks = [
        _LogRate(),  # before the CSV logger, which writes what it adds
        keras.callbacks.BackupAndRestore(str(args.out / f"backup_{name}")),
        keras.callbacks.CSVLogger(str(args.out / f"log_{name}.csv"), append=True),
        keras.callbacks.ModelCheckpoint(str(args.out / "best.weights.h5"), monitor="val_cc",
                                        mode="max", save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=_best_cc(args.out)),
        _BestScore(args.out),
    ]
    if args.keep_epochs:
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(args.out / f"{name}_epoch{{epoch:02d}}.weights.h5"), save_weights_only=True))
    if args.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2))
    start = time.time()
    model.fit(train_data, validation_data=val_data, epochs=epochs, callbacks=callbacks,
              steps_per_epoch=args.steps or None, verbose=1 if sys.stdout.isatty() else 2)
    model.save_weights(done)
    print(f"{name}: {epochs} epochs in {time.time() - start:.0f} s", flush=True)


def _best_cc(out: Path) -> float | None:
    path = out / "best.json"
    return json.loads(path.read_text())["val_cc"] if path.exists() else None


class _LogRate(keras.callbacks.Callback):
    """Put the optimizer's current learning rate in each epoch's logs (Keras leaves it out
    when the rate is a schedule)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class _BestScore(keras.callbacks.Callback):
    """Remember the best val_cc across phases so the best checkpoint is never overwritten by a worse one."""

    def __init__(self, out: Path):
        super().__init__()
        self.out = out

    def on_epoch_end(self, epoch, logs=None):
        best = _best_cc(self.out)
        if logs and (best is None or logs["val_cc"] > best):
            (self.out / "best.json").write_text(json.dumps({k: float(v) for k, v in logs.items()}))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    if args.pretrained is None:
        args.pretrained = Path(DEFAULT_PRETRAINED[args.backbone])
    if args.skip_channels is None:
        args.skip_channels = NetworkConfig.skip_channels if args.output_stride == 16 else 0
    config = NetworkConfig(backbone=args.backbone, output_stride=args.output_stride,
                           feature_channels=args.feature_channels, lstm_units=args.lstm_units,
                           skip_channels=args.skip_channels, heads=args.heads)
    (args.out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    (args.out / "args.json").write_text(json.dumps(vars(args), default=str, indent=2))
    try:
        (xt, yt), (xv, yv) = load_data(args)
    except ValueError as e:  # a dataset not in the shared layout, or a split that leaves one out
        sys.exit(f"smartcrop-train: error: {e}")
    if args.teacher:
        yt = distill_targets(args, xt, yt)
    portrait = portrait_sources(args, len(xt)) if args.portrait_share else None
    train_data = FixationBatches(xt, yt, args.batch_size, training=True, seed=args.seed,
                                 augment=args.augment, portrait=portrait,
                                 portrait_share=args.portrait_share)
    val_data = FixationBatches(xv, yv, args.batch_size, training=False)
    # Portrait batches are 240x320: the model then takes either canvas.
    shape = (None, None, 3) if portrait else xt.shape[1:]
    model = build_saliency_model(config, input_shape=shape, per_head=True)
    load_backbone_weights(model, args.pretrained)
    backbone = backbone_of(model)
    backbone.trainable = False
    run_phase(model, "frozen", args.epochs_frozen, args.lr, train_data, val_data, args)
    backbone.trainable = True
    run_phase(model, "finetune", args.epochs_finetune, args.lr_finetune, train_data, val_data, args)
    model.save_weights(args.out / "last.weights.h5")
    print(f"done: best {_best_cc(args.out)}", flush=True)


if __name__ == "__main__":
    main()
