"""Model throughput by interpreter layout and batch size: is --batch-size worth it here?

``.venv/bin/python tests/bench/batching.py [MODEL.tflite]`` runs 32 canvases through LiteRT for
each (interpreters x threads, batch) layout, the interpreters in parallel threads as the CLI
runs them, and prints the aggregate milliseconds per image.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

MODEL = Path(__file__).resolve().parents[2] / "weights" / "saliency.tflite"
IMAGES = 32
LAYOUTS = [(2, 1, 1), (2, 1, 2), (2, 1, 4), (1, 2, 1), (1, 2, 2), (1, 2, 4)]


def interpreter(model: Path, batch: int, threads: int) -> Interpreter:
    interp = Interpreter(model_path=str(model), num_threads=threads)
    detail = interp.get_input_details()[0]
    interp.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
    interp.allocate_tensors()
    return interp


def run(interp: Interpreter, calls: int) -> None:
    detail = interp.get_input_details()[0]
    x = np.random.default_rng(0).uniform(0, 255, detail["shape"]).astype(np.float32)
    for _ in range(calls):
        interp.set_tensor(detail["index"], x)
        interp.invoke()


def main(model: Path = MODEL) -> None:
    for count, threads, batch in LAYOUTS:
        interps = [interpreter(model, batch, threads) for _ in range(count)]
        for interp in interps:
            run(interp, 1)  # warm-up
        start = time.perf_counter()
        workers = [threading.Thread(target=run, args=(i, IMAGES // count // batch)) for i in interps]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        ms = (time.perf_counter() - start) * 1000 / IMAGES
        print(f"{count} interpreter(s) x {threads} thread(s), batch {batch}: {ms:.1f} ms/image")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL)
