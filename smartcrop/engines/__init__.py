"""Batch engines: run a planned list of inputs through the per-image core, report as results arrive.

The per-image work (one input in; crops and records out) is `smartcrop.pipeline.Cropper`; an
engine only decides where and how many run at once. `local` is a thread pool in this process;
`ray` runs the same core on a Ray cluster (the `ray` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from smartcrop import storage
from smartcrop.options import CropOptions
from smartcrop.pipeline import Cropper, ImageResult, InputItem, collect_inputs
from smartcrop.report import report_files
from smartcrop.storage import StoredPath, local_copy


@dataclass
class Summary:
    """Counts and wall time of one batch, for the closing line."""

    images: int = 0
    outputs: int = 0
    skipped: int = 0
    failures: int = 0
    seconds: float = 0.0

    def add(self, result: ImageResult) -> None:
        """Count one input's records."""
        self.images += 1
        self.failures += result.failed
        self.outputs += sum(r["status"] == "ok" for r in result.records)
        self.skipped += sum(r["status"] == "skipped" for r in result.records)


def plan(options: CropOptions, inputs: Sequence[Path | StoredPath], output: Path | StoredPath,
         listed: Sequence[str] | None = None, ignored: list | None = None) -> list[InputItem]:
    """The batch's items and output names, decided once (on the driver, for a cluster); the
    output and extra folders are never walked as inputs. Files the walk left out as not
    images, and listed paths in those folders, go to `ignored` (see `collect_inputs`)."""
    extras = [p for p in (options.save_saliency, options.debug, report_files(options.report)) if p]
    return collect_inputs(inputs, output, extras, listed, ignored)


def process(cropper: Cropper, item: InputItem) -> ImageResult:
    """`cropper.process(item)`, an object-storage input first fetched to a local copy (whose
    name in the records stays the URI); an object that cannot be fetched is an error record."""
    if not isinstance(item.path, StoredPath) or item.error:
        return cropper.process(item)
    try:
        with local_copy(item.path) as local:
            result = cropper.process(replace(item, path=local))
    except OSError as e:  # pyarrow's errors are OSErrors: missing object, access denied, network
        reason = "no such object" if isinstance(e, FileNotFoundError) else storage.reason(e)
        return cropper.process(replace(item, error=f"cannot read object: {reason}"))
    result.item = item
    return result
