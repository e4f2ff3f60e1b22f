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
    """One ImageResult per item, in order; jobs x batch size images in flight at once.

    Interrupted (a KeyboardInterrupt while it waits for a result, or thrown in by the caller at
    one it yielded): the images not started are dropped, the running ones finish, and their
    results are yielded before the KeyboardInterrupt is raised again, so that every output
    written is reported. Abandoned (closed): queued images are dropped, running ones finish."""
    # Each model call can take batch_size images, so that many per job are in flight. One is in
    # a thread of the pool too: an interrupt lets it finish (and be reported), as with more;
    # cut short in this thread, the outputs it had written would have no record.
    workers = cropper.options.jobs * cropper.options.batch_size
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
        except KeyboardInterrupt:
            for f in futures:
                if f is not None:
                    f.cancel()  # those not started; the running ones write their outputs
            for f in futures:
                if f is not None and not f.cancelled():
                    try:
                        yield _finished(f)
                    except KeyboardInterrupt:  # another Ctrl-C: the rest finish all the same
                        pass
            raise
        finally:  # abandoned (or done): queued images are dropped, running ones finish
            for f in futures:
                if f is not None:
                    f.cancel()


def _finished(future) -> ImageResult:
    """The result of a running image, waited for also through another Ctrl-C: the pool waits for
    it whatever happens, and its outputs are then written, so its records are still wanted."""
    while True:
        try:
            return future.result()
        except KeyboardInterrupt:
            continue


def _report_rest(results: Iterator[ImageResult], summary, on_result) -> None:
    """After an interrupt outside `run` (in `on_result`): the results of the images that were
    running, which `run` yields once the interrupt is thrown into it, reported as the others."""
    try:
        result = results.throw(KeyboardInterrupt)
        while True:
            summary.add(result)
            try:
                on_result(result)
            except KeyboardInterrupt:  # another Ctrl-C: the rest are written all the same
                pass
            result = next(results)
    except (KeyboardInterrupt, StopIteration):
        return


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
    results = run(Cropper(options, output, model, detector), items)
    try:
        for result in results:
            summary.add(result)
            on_result(result)
    except KeyboardInterrupt:  # one in `run` has yielded the running images' results; else now
        _report_rest(results, summary, on_result)
        raise
    summary.seconds = time.perf_counter() - start
    return summary
