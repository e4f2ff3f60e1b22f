"""The local engine: a bounded thread pool in this process, results in input order."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from smartcrop.engines import Summary, plan, process
from smartcrop.faces import FaceDetector
from smartcrop.options import CropOptions
from smartcrop.pipeline import Cropper, ImageResult, InputItem
from smartcrop.saliency import SaliencyModel
from smartcrop.storage import StoredPath, location


def run(cropper: Cropper, items: Sequence[InputItem]) -> Iterator[ImageResult]:
    """One ImageResult per item, in order; jobs x batch size images in flight at once."""
    # Each model call can take batch_size images, so that many per job are in flight.
    workers = cropper.options.jobs * cropper.options.batch_size
    if workers == 1:
        yield from (process(cropper, it) for it in items)
        return
    with ThreadPoolExecutor(workers) as pool:
        # Bounded look-ahead keeps memory flat on big batches.
        window = workers * 2
        futures = [pool.submit(process, cropper, it) for it in items[:window]]
        try:
            for i in range(len(items)):
                result = futures[i].result()
                if i + window < len(items):
                    futures.append(pool.submit(process, cropper, items[i + window]))
                futures[i] = None
                yield result
        finally:  # interrupted or abandoned: queued images are dropped, running ones finish
            for f in futures:
                if f is not None:
                    f.cancel()


def run_batch(options: CropOptions, inputs: Sequence[str | Path | StoredPath],
              output: str | Path | StoredPath,
              on_result: Callable[[ImageResult], None] = lambda r: None,
              model: SaliencyModel | None = None,
              on_plan: Callable[[list[InputItem], list], None] = lambda items, ignored: None,
              listed: Sequence[str] | None = None,
              detector: FaceDetector | None = None) -> Summary:
    """Crop every input; `on_plan` sees the input list once (walked once) and the files the walk
    left out as not images, `on_result` each image's records as they finish. `listed`: see
    `collect_inputs`. Inputs and output are Paths, or strings (``"s3://bucket/photos"``: object
    storage; see `storage.location`)."""
    start = time.perf_counter()
    inputs, output = [location(p) for p in inputs], location(output)  # "s3://b/k" given as a str
    ignored: list[Path | StoredPath] = []
    items = plan(options, inputs, output, listed, ignored)
    on_plan(items, ignored)
    summary = Summary()
    for result in run(Cropper(options, output, model, detector), items):
        summary.add(result)
        on_result(result)
    summary.seconds = time.perf_counter() - start
    return summary
