"""The Ray engine: the same per-image core on a Ray cluster, through Ray Data (the `ray` extra).

The driver plans the items once (paths and output names, by the local engine's rules), makes a
dataset of them with `from_items` (not `read_images`: that decodes on read and drops EXIF) and
maps batches through an autoscaling actor pool; each actor loads the model once. Workers read,
crop and write the outputs themselves and return each input's records as JSON; the driver
streams them to the manifest and the progress bar as they arrive (completion order).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from smartcrop.engines import Summary, plan, process
from smartcrop.options import CropOptions
from smartcrop.pipeline import Cropper, ImageResult, InputItem
from smartcrop.report import report_files
from smartcrop.storage import StoredPath, as_location, location, written_before

# Inputs per actor call: small, so records stream back soon and a retried call redoes little.
ROWS_PER_CALL = 4
# A local cluster's shared-memory object store; Ray's default is 30% of RAM. Rows and records
# are small (paths and JSON), so this is plenty.
OBJECT_STORE_BYTES = 256 * 2**20
# Set before ray.init unless the user set them: no token file or warning for a local cluster,
# no C++ log lines on stderr.
QUIET_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_BACKEND_LOG_LEVEL": "fatal"}
# Environment passed to workers of an existing cluster, which do not inherit the driver's:
# object-storage endpoint and credentials.
FORWARDED_ENV = ("AWS_", "GOOGLE_")


class CropActor:
    """One per worker process: loads the model once, then crops batches of planned items."""

    def __init__(self, options: CropOptions, output: str, started: float):
        import ray

        from smartcrop.saliency import SaliencyModel

        out = as_location(output)
        if ray.get_runtime_context().was_current_actor_reconstructed:
            # This process replaces one that was killed, and Ray retries the killed call here:
            # outputs written by the failed attempt are redone, not refused as existing.
            out = written_before(out, started)
        # One CPU per actor; the model input is made the same way whatever the thread count.
        model = SaliencyModel(options.weights, threads=1, workers=1, batch_size=1)
        self.cropper = Cropper(options, out, model)

    def __call__(self, batch: dict) -> dict:
        records = []
        for path, stem, error in zip(batch["path"], batch["stem"], batch["error"], strict=True):
            item = InputItem(as_location(str(path)), Path(str(stem)), str(error) or None)
            records.append(json.dumps(process(self.cropper, item).records, ensure_ascii=False))
        return {"index": batch["index"], "records": records}


def run_batch(options: CropOptions, inputs: Sequence[str | Path | StoredPath],
              output: str | Path | StoredPath,
              on_result: Callable[[ImageResult], None] = lambda r: None,
              on_plan: Callable[[list[InputItem], list], None] = lambda items, ignored: None,
              listed: Sequence[str] | None = None, address: str | None = None,
              num_cpus: int | None = None) -> Summary:
    """Crop every input on a Ray cluster: the session already open in this process if any,
    else the cluster at `address`, else a local one started here (with `num_cpus` logical
    CPUs, default all cores) and stopped at the end.

    Inputs and output are Paths, or strings (``"s3://bucket/photos"``: object storage; see
    `storage.location`).

    Interrupting (KeyboardInterrupt) stops the job: the driver disconnects, which ends its
    actors; finished outputs are complete, unfinished ones absent (temporary files of writes
    cut short are removed once the cluster is down).
    """
    start = time.perf_counter()
    # Outputs written from here on are this run's (object stores keep whole seconds).
    run_began = math.floor(time.time()) - 1
    inputs, output = [location(p) for p in inputs], location(output)  # "s3://b/k" given as a str
    ignored: list[Path | StoredPath] = []
    items = plan(options, inputs, output, listed, ignored)
    on_plan(items, ignored)
    summary = Summary()
    if items:
        import ray

        ours = not ray.is_initialized()  # a caller's own Ray session is used as it is
        try:
            with _interruptible() as interrupted:
                try:
                    if ours:
                        _connect(address, num_cpus)
                    for index, records in _results(items, options, output, run_began):
                        result = ImageResult(items[index], records)
                        summary.add(result)
                        on_result(result)
                        if interrupted:
                            raise KeyboardInterrupt
                    if interrupted:  # the KeyboardInterrupt was lost inside Ray: stop anyway
                        raise KeyboardInterrupt
                finally:
                    if ours:
                        ray.shutdown()
        finally:
            roots = [output, options.save_saliency, options.debug, report_files(options.report)]
            _remove_partial_writes(items, [r for r in roots if isinstance(r, Path)], run_began)
    summary.seconds = time.perf_counter() - start
    return summary


def _connect(address: str | None, num_cpus: int | None) -> None:
    import ray

    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    quiet = {"log_to_driver": False, "logging_level": "ERROR", "include_dashboard": False}
    main = threading.current_thread() is threading.main_thread()
    term = signal.getsignal(signal.SIGTERM) if main else None
    with _native_stderr_silenced():
        if address:
            env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
            ray.init(address=address, runtime_env={"env_vars": env}, **quiet)
        else:
            ray.init(num_cpus=num_cpus, object_store_memory=OBJECT_STORE_BYTES, **quiet)
    if term is not None:
        # ray.init installs a SIGTERM handler that exits with status 15 (and its C++ core one that
        # prints a stack dump): the caller's own (the CLI's: stop as on Ctrl-C) is put back.
        signal.signal(signal.SIGTERM, term)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # Ray Data's own INFO/WARNING lines ("execution finished", "progress bars disabled"): our
    # bar and summary line report the run.
    logging.getLogger("ray.data").setLevel(logging.ERROR)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class _Interrupted:
    """True once Ctrl-C (or SIGTERM) reached the driver. Our handler sets it; so does the signal's
    number in the wakeup pipe, which Python's C-level handler writes whatever Python-level
    handler is installed (Ray takes SIGINT over for a while, its DeferSigint, and can drop it),
    and so does a stop signal left pending because a native thread blocked it (taken here)."""

    def __init__(self, pipe: int | None = None, watch: bool = True):
        self.seen = False
        self._pipe = pipe
        self._watch = watch  # False: the caller handles SIGINT; never become true
        self._stdout = sys.stdout

    def set(self) -> None:
        if not self.seen:
            self.seen = True
            sys.stdout = io.StringIO()  # Ray's "(raylet) Task ... failed" lines: our own kills

    def __bool__(self) -> bool:
        if not self.seen and self._pipe is not None:
            try:
                numbers = os.read(self._pipe, 4096)
            except (BlockingIOError, OSError):
                numbers = b""
            if signal.SIGINT in numbers or signal.SIGTERM in numbers:
                self.set()
        if not self.seen and self._watch and hasattr(signal, "sigtimedwait"):
            pending = signal.sigpending() & STOP_SIGNALS
            if pending and signal.sigtimedwait(pending, 0) is not None:
                self.set()
        return self.seen


@contextmanager
def _interruptible():
    """Yields an `_Interrupted` that becomes true on Ctrl-C, which still raises
    KeyboardInterrupt. From the interrupt until the block ends (Ray shut down), stdout is muted:
    Ray's error listener would print the kills of our own actors there. Only where SIGINT has
    Python's default handler, in the main thread; else it never becomes true."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield _Interrupted(watch=False)
        return
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    if previous_fd != -1:  # someone else's (an event loop's): leave it theirs
        signal.set_wakeup_fd(previous_fd)
    interrupted = _Interrupted(read if previous_fd == -1 else None)

    def handler(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if previous_fd == -1:
            signal.set_wakeup_fd(-1)
        os.close(read)
        os.close(write)
        sys.stdout = interrupted._stdout


def _remove_partial_writes(items: list[InputItem], roots: list[Path], since: float) -> None:
    """Remove the temporary files (`.NAME.RANDOM.part`, images.write_atomic) of writes cut
    short by a killed worker (Ctrl-C, a lost node): names of this run's items (`.beach_16x9.jpg.…`,
    `.beach.png.…`), written since the run began, in its local output folders. Called after the
    run: with a cluster started here, once it is down; in a caller's session, Ray may still be
    ending interrupted actors, so a write cut short just after this can remain."""
    names: dict[Path, list[str]] = {}
    for item in items:
        names.setdefault(item.stem.parent, []).extend((f".{item.stem.name}_", f".{item.stem.name}."))
    for root in roots:
        for sub, prefixes in names.items():
            for part in (root / sub).glob(".*.part"):
                try:
                    if part.name.startswith(tuple(prefixes)) and part.stat().st_mtime >= since:
                        part.unlink()
                except FileNotFoundError:
                    pass


@contextmanager
def _native_stderr_silenced():
    """File descriptor 2 to /dev/null while Ray starts: its C++ core logs a line at start-up
    ("Set ray log level from environment variable …") before the level applies. Failures
    still surface, as the Python exception ray.init raises."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _results(items: list[InputItem], options: CropOptions, output: Path | StoredPath, run_began: float):
    """(index, records) per item, as the cluster finishes them."""
    import ray

    rows = [{"index": i, "path": str(it.path), "stem": it.stem.as_posix(), "error": it.error or ""}
            for i, it in enumerate(items)]
    # An autoscaling pool up to one actor per cluster CPU: from_items has no read task that
    # would need a CPU of its own (a fixed pool taking every CPU starves one and hangs).
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    actors = max(1, min(cpus, -(-len(items) // ROWS_PER_CALL)))
    ds = ray.data.from_items(rows).map_batches(
        CropActor, batch_size=ROWS_PER_CALL, num_cpus=1,
        fn_constructor_kwargs={"options": options, "output": str(output), "started": run_began},
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors))
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for index, records in zip(batch["index"], batch["records"], strict=True):
            yield int(index), json.loads(records)
