"""Batch engines: run a planned list of inputs through the per-image core, report as results arrive.

The per-image work (one input in; crops and records out) is `smartcrop.pipeline.Cropper`; an
engine only decides where and how many run at once. `local` is a thread pool in this process.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartcrop.pipeline import ImageResult


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
