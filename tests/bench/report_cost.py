"""What --report costs a batch, and how fast its page opens in headless Chromium.

``.venv/bin/python tests/bench/report_cost.py PHOTOS_DIR [--runs 2]`` crops the folder to four
targets (9:16, 1:1, 16:9, 1080x1350) with and without ``--report``, alternating, and prints the
median wall and CPU time of each and the difference. Then it opens the report in headless Chromium
(``--dump-dom``, no network) and prints the process's wall time and the page's own render time.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = ["--ratio", "9:16", "--ratio", "1:1", "--ratio", "16:9", "--size", "1080x1350"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def crop(photos: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one batch; CPU time (user + system, all threads) is steadier than
    wall time on a shared machine."""
    cmd = [sys.executable, "-m", "smartcrop", str(photos), str(out / "crops"), *TARGETS, "--overwrite",
           "-q", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu


def in_process(photos: Path, out: Path) -> None:
    """The report's own CPU time inside one batch, against the batch's: steadier than comparing
    two batches on a busy machine. Every call of the report's code is timed by its thread's CPU
    clock; the batch by the process's."""
    from smartcrop import pipeline, report
    from smartcrop.engines.local import run_batch
    from smartcrop.options import CropOptions, parse_ratio, parse_size

    spent = []
    real = report.write_thumbnails

    def timed(*args, **kw):
        start = time.thread_time()
        real(*args, **kw)
        spent.append(time.thread_time() - start)

    targets = (parse_ratio("9:16"), parse_ratio("1:1"), parse_ratio("16:9"), parse_size("1080x1350"))
    page = out / "inproc.html"
    options = CropOptions(targets=targets, overwrite=True, report=page)
    writer = report.ReportWriter(page, [t.label for t in targets])
    adding = []

    def add(result):
        start = time.thread_time()
        writer.add(result.item.stem, result.records)
        adding.append(time.thread_time() - start)

    original = report.write_thumbnails
    report.write_thumbnails = timed
    try:
        start = time.process_time()
        run_batch(options, [photos], out / "inproc", add, pipeline.load_model(options))
        t0 = time.process_time()
        writer.write()
        write = time.process_time() - t0
        total = time.process_time() - start
    finally:
        report.write_thumbnails = original
    own = sum(spent) + sum(adding) + write
    print(f"in-process: batch CPU {total:.1f} s, of which the report {own:.2f} s "
          f"({own / (total - own):.1%} added): sprites {1000 * sum(spent) / len(spent):.1f} ms CPU "
          f"per input, records {1000 * sum(adding) / len(adding):.2f} ms per input, "
          f"page {write * 1000:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photos", type=Path)
    p.add_argument("--runs", type=int, default=2, help="0: only the in-process measurement")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        in_process(args.photos, out)
        page = out / "report.html"
        plain, report = [], []
        if not args.runs:
            return
        for _ in range(args.runs):
            plain.append(crop(args.photos, out, []))
            report.append(crop(args.photos, out, ["--report", str(page)]))
        for k, what in enumerate(("wall", "CPU")):
            a, b = statistics.median(r[k] for r in plain), statistics.median(r[k] for r in report)
            print(f"batch {what} time without --report: {a:.1f} s, with: {b:.1f} s ({(b - a) / a:+.1%}); "
                  f"runs {[round(r[k], 1) for r in plain]} / {[round(r[k], 1) for r in report]}")
        files = out / "report_files"
        size = sum(f.stat().st_size for f in files.rglob("*") if f.is_file())
        print(f"report_files: {sum(1 for _ in files.rglob('*.*'))} files, {size / 1e6:.1f} MB")
        chromium = shutil.which("chromium")
        if not chromium:
            print("no chromium: page not opened")
            return
        for run in range(2):
            start = time.perf_counter()
            dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={out / f'profile{run}'}",
                                  "--dump-dom", page.as_uri()], capture_output=True, text=True,
                                 check=True, timeout=60).stdout
            wall = time.perf_counter() - start
            render = re.search(r'data-render-ms="(\d+)"', dom)
            flags = re.findall(r'<section class="item( flagged)?"', dom)
            first_plain = next((i for i, f in enumerate(flags) if not f), len(flags))
            ms = render.group(1) if render else "?"
            print(f"chromium --dump-dom: {wall:.2f} s wall, page render {ms} ms, "
                  f"{len(flags)} inputs on page 1, flagged first: "
                  f"{all(f for f in flags[:first_plain]) and not any(flags[first_plain:])}")


if __name__ == "__main__":
    main()
