"""Inference time of two or more exported models on one thread, run in turns, each on its own canvas.

Issue 14's ceiling is 15 ms per photo (int8, one thread), and a lever that costs more is judged
by its quality per millisecond. Each model gets its own LiteRT interpreter; the models take
turns, so a busy machine slows them alike and the ratio holds where the absolute times do
not. Prints the median and the fastest run of each, and each model's median over the first's.

    .venv/bin/python tests/bench/model_ms.py --weights weights --weights runs/main-heads2/export
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from smartcrop.saliency import _quiet_stderr, resolve_weights  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", type=Path, action="append", required=True, help="a model folder")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    from ai_edge_litert.interpreter import Interpreter

    interps = []
    for folder in args.weights:
        path, _ = resolve_weights(folder)
        with _quiet_stderr():
            interp = Interpreter(model_path=str(path), num_threads=args.threads)
        interp.allocate_tensors()
        interps.append(interp)
    # each model on its own canvas (models exported with different --canvas sizes compare too)
    canvases = [np.random.default_rng(0).uniform(0, 255, i.get_input_details()[0]["shape"]).astype(np.float32)
                for i in interps]
    times: list[list[float]] = [[] for _ in interps]
    for run in range(args.runs + 5):
        for interp, canvas, into in zip(interps, canvases, times, strict=True):
            interp.set_tensor(interp.get_input_details()[0]["index"], canvas)
            start = time.perf_counter()
            interp.invoke()
            if run >= 5:  # the first calls set up XNNPACK's packed weights
                into.append((time.perf_counter() - start) * 1000)
    base = statistics.median(times[0])
    print("| model | canvas | median ms | fastest ms | median / first's |\n|---|---|---|---|---|")
    for folder, canvas, t in zip(args.weights, canvases, times, strict=True):
        size, median = f"{canvas.shape[2]}x{canvas.shape[1]}", statistics.median(t)
        print(f"| {folder} | {size} | {median:.1f} | {min(t):.1f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
