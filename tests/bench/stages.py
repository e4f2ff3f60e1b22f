"""Where smartcrop's time goes: each stage of one image timed in-process, with its own functions.

The stages are the pipeline's, in its order (smartcrop.pipeline.Cropper.process), run one image
at a time with the interpreter threads the CLI gives each worker by default.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = ("read header", "model's decode (JPEG shrunk on load)", "model input from that decode",
          "model inference", "face detection", "crop search", "full decode for the crops",
          "crop + encode + write")


def _import_smartcrop(repo: Path) -> dict[str, Any]:
    """This checkout's smartcrop modules (not an installed copy)."""
    sys.path.insert(0, str(repo))
    from smartcrop import allocator, cropping, faces, images, options, saliency

    return {"allocator": allocator, "cropping": cropping, "faces": faces, "images": images,
            "options": options, "saliency": saliency}


def _timed(fn: Callable[[], Any], into: list[float]) -> Any:
    """Call `fn`, append its duration in ms to `into`, return its result."""
    start = time.perf_counter()
    result = fn()
    into.append((time.perf_counter() - start) * 1000)
    return result


def _default_jobs(options_module) -> int:
    """The CLI's default --jobs, read from CropOptions."""
    return next(f.default for f in dataclasses.fields(options_module.CropOptions) if f.name == "jobs")


def _one_photo(sc: dict[str, Any], model, detector, photo: Path, aspects: dict[str, float],
               out: Path, times: dict[str, list[float]]) -> tuple[Any, tuple[int, int]]:
    """Run the pipeline's stages on one photo, timing each; return the model input and the
    photo's size."""
    images, cropping, saliency = sc["images"], sc["cropping"], sc["saliency"]
    t = times
    info = _timed(lambda: images.read_info(photo, sc["options"].DEFAULT_MAX_PIXELS), t[STAGES[0]])
    # As the pipeline: the model's input always comes from decode_for_model (1/2 scale for a
    # 12 MP JPEG); full-size crops then need a decode of their own.
    decoded = _timed(lambda: images.decode_for_model(photo, info), t[STAGES[1]])
    small = _timed(lambda: images.shrink_for_model(decoded, model.input_size(*decoded.size)), t[STAGES[2]])
    smap = _timed(lambda: model.predict(small), t[STAGES[3]])
    size = (info.width, info.height)
    # same small image; since 2026-12-07 the pipeline also takes the unsure faces (`find`)
    if hasattr(detector, "find"):
        found_faces, unsure = _timed(lambda: detector.find(small, size), t[STAGES[4]])
        extra = {"candidates": [[f.left, f.top, f.width, f.height] for f in unsure]}
    else:  # a baseline checkout from before
        found_faces, extra = _timed(lambda: detector.detect(small, size), t[STAGES[4]]), {}
    rows = [[f.left, f.top, f.width, f.height] for f in found_faces]

    def search() -> dict:  # as the pipeline: one work map, a box and its score per target
        work = saliency.work_map(smap, *size)
        found = {k: cropping.find_box(work, size, a, faces=rows, **extra) for k, a in aspects.items()}
        for box in found.values():
            cropping.coverage(work, size, box)
        return found

    boxes = _timed(search, t[STAGES[5]])
    full = _timed(lambda: images.load_full(photo, info.orientation), t[STAGES[6]])

    def encode() -> None:
        for key, b in boxes.items():
            crop = full.crop((b.left, b.top, b.left + b.width, b.top + b.height))
            images.save_atomic(crop, out / f"{photo.stem}_{key}.jpg", 90, full.info.get("icc_profile"))

    _timed(encode, t[STAGES[7]])
    return small, size


def _thorough(sc: dict[str, Any], threads: int, smalls: list, runs: int) -> dict[str, float]:
    """Median ms per photo of the two stages --thorough changes (the two-model, flip-averaged
    inference, the tiled face search), on the default stages' model inputs (`smalls`: (input,
    photo size))."""
    images = sc["images"]
    model = sc["saliency"].SaliencyModel(threads=threads, workers=1, flip=True, ensemble=True)
    detector = sc["faces"].FaceDetector(tiles=True)
    model.predict(smalls[0][0])  # warm-up, untimed, both canvases
    model.predict(smalls[0][0].transpose(images.Image.Transpose.TRANSPOSE))
    detector.detect(smalls[0][0])
    infer: list[float] = []
    detect: list[float] = []
    for _ in range(runs):
        for small, size in smalls:
            _timed(lambda: model.predict(small), infer)  # noqa: B023 (called at once)
            _timed(lambda: detector.detect(small, size), detect)  # noqa: B023
    return {"model inference, --thorough (two models, flip-averaged)": statistics.median(infer),
            "face detection, --thorough (whole photo and quarters)": statistics.median(detect)}


def stage_breakdown(repo: Path, photos: list[Path], aspects: dict[str, float], runs: int) -> dict:
    """Median ms per photo of each stage over `runs` passes, plus the model's load time."""
    sc = _import_smartcrop(repo)
    # The malloc tuning the CLI applies. It stays for the rest of this process: the stages run
    # after every timed job.
    sc["allocator"].keep_freed_blocks()
    threads = max(1, (os.cpu_count() or 1) // _default_jobs(sc["options"]))
    load: list[float] = []
    model = _timed(lambda: sc["saliency"].SaliencyModel(threads=threads, workers=1), load)
    detector = _timed(lambda: sc["faces"].FaceDetector(), load)  # one thread, as each CLI job's
    warm = sc["images"].load_for_model(photos[0], sc["images"].read_info(
        photos[0], sc["options"].DEFAULT_MAX_PIXELS), model.input_size())
    model.predict(warm)  # warm-up, untimed; the turned image makes the portrait interpreter
    model.predict(warm.transpose(sc["images"].Image.Transpose.TRANSPOSE))
    detector.detect(warm)
    times: dict[str, list[float]] = {s: [] for s in STAGES}
    with tempfile.TemporaryDirectory(dir=photos[0].parent.parent) as tmp:
        for _ in range(runs):
            smalls = [_one_photo(sc, model, detector, photo, aspects, Path(tmp), times)
                      for photo in photos]
    medians = {s: statistics.median(v) for s, v in times.items()}
    return {"median_ms": medians, "total_ms": sum(medians.values()), "model_load_ms": load[0],
            "face_model_load_ms": load[1],
            "thorough_ms": _thorough(sc, threads, smalls, runs),
            "interpreter_threads": threads, "outputs_per_photo": len(aspects),
            "samples_per_stage": len(times[STAGES[0]])}
