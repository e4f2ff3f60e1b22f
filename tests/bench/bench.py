"""Benchmark smartcrop against libvips attention, smartcrop.py and a Pillow centre crop.

Usage (from the repository root)::

    .venv/bin/python tests/bench/bench.py [--photos 24] [--runs 3] [--out bench-results]

Builds (once, cached in .cache/bench/) a corpus of dataset photos upscaled to 12 MP plus the
same photos at native size, runs every job with every tool (tools alternated per run, median
of the runs), measures smartcrop's start-up and peak memory and its per-stage times, and writes
<out>/bench.md and <out>/bench.json. Peers missing here are installed (pip) unless --no-install,
or reported and left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import corpus as corpus_mod
import report
import stages
import tools
from tools import Sample, Target, Tool

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "bench"
DEFAULT_SHARED = REPO.parent / "shared"
MIN_STARTUP_RUNS = 3  # (d) is cheap: never fewer samples than this


@dataclass(frozen=True)
class Job:
    """A set of outputs per photo, run on one corpus."""

    id: str
    title: str
    targets: tuple[Target, ...]


CROPS_3 = Job("a", "3 crops per photo (1:1, 16:9, 9:16)",
              (Target("1:1", 1.0), Target("16:9", 16 / 9), Target("9:16", 9 / 16)))
CROP_16_9 = Job("b", "one 16:9 crop per photo", (Target("16:9", 16 / 9),))
THUMB = Job("c", "1080×1080 thumbnail per photo", (Target("1080x1080", 1.0, (1080, 1080)),))
PLAN = ((CROPS_3, "12mp"), (CROP_16_9, "12mp"), (THUMB, "12mp"), (CROPS_3, "native"))
CORPUS_LABELS = {"12mp": "12 MP", "native": "0.5 MP (native)"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=int, default=24, help="photos in the corpus (default 24)")
    p.add_argument("--runs", type=int, default=3, help="runs per tool and job; the median is kept")
    p.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.md/.json")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                   help="folder holding datasets/*/images/*.jpg (default ../shared)")
    p.add_argument("--no-install", action="store_true", help="only detect peers, install nothing")
    p.add_argument("--no-stages", action="store_true", help="skip the per-stage breakdown")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args(argv)
    if args.photos < 1 or args.runs < 1:
        p.error("--photos and --runs must be at least 1")
    return args


def require_shared(shared: Path) -> None:
    """Stop with a clear message when the datasets the corpus is made from are absent."""
    if not shared.is_dir():
        sys.exit(f"bench: {shared} is absent: the benchmark corpus is made from the photos in "
                 f"its datasets/*/images/ (give another place with --shared)")
    if not any(shared.glob(corpus_mod.SOURCE_GLOB)):
        sys.exit(f"bench: no photos at {shared / corpus_mod.SOURCE_GLOB}: the benchmark corpus is "
                 f"made from ../shared/datasets (give another place with --shared)")


def make_tools(install: bool) -> tuple[list[Tool], list[str]]:
    """smartcrop and every peer; notes say which peers are missing and how to get them."""
    found = [tools.smartcrop_tool(REPO), tools.vips_tool(install),
             tools.smartcrop_py_tool(CACHE, install), tools.pillow_tool(os.cpu_count() or 1)]
    notes = [f"{t.name} is MISSING and left out: {t.note}" for t in found if t.run is None]
    for n in notes:
        print(f"bench: {n}", file=sys.stderr)
    return found, notes


def fresh_dir(path: Path) -> Path:
    """`path`, emptied."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def count_outputs(out: Path) -> int:
    """JPEGs written under `out`."""
    return sum(1 for _ in out.rglob("*.jpg"))


def timed_run(tool: Tool, photos: list[Path], job: Job, scratch: Path) -> Sample:
    """One run of `tool` on `job`, outputs checked; the output folder is emptied first."""
    out = fresh_dir(scratch / tool.name.replace(" ", "-"))
    sample = tool.run(photos, out, job.targets)
    written, expected = count_outputs(out), len(photos) * len(job.targets)
    if written != expected:
        raise RuntimeError(f"{tool.name} wrote {written} outputs, {expected} expected")
    return sample


def summarise(samples: list[Sample]) -> dict:
    """Median seconds and photos per second over the runs."""
    median_s = statistics.median(s.seconds for s in samples)
    return {"median_s": median_s, "images_per_s": samples[0].photos / median_s,
            "samples": [asdict(s) for s in samples]}


def run_job(job: Job, corpus: corpus_mod.Corpus, available: list[Tool], runs: int,
            scratch: Path) -> dict:
    """All tools on one job, alternating the order per run; adds each tool's ratio to libvips."""
    photos = list(corpus.photos)
    samples: dict[str, list[Sample]] = {t.name: [] for t in available}
    errors: dict[str, str] = {}
    for r in range(runs):
        order = available[r % len(available):] + available[:r % len(available)]
        for tool in (t for t in order if t.name not in errors):
            print(f"bench: ({job.id}) {corpus.name} run {r + 1}/{runs}: {tool.name}", flush=True)
            try:
                samples[tool.name].append(timed_run(tool, photos, job, scratch))
            except (RuntimeError, OSError) as e:
                errors[tool.name] = str(e)
                print(f"bench: {tool.name} failed on ({job.id}): {e}", file=sys.stderr)
    results = {name: summarise(s) for name, s in samples.items() if name not in errors}
    results.update({name: {"error": msg} for name, msg in errors.items()})
    base = results.get(report.BASELINE, {}).get("images_per_s")
    for res in results.values():
        if base and "images_per_s" in res:
            res["vs_libvips"] = res["images_per_s"] / base
    return {"id": job.id, "title": job.title, "corpus": corpus.name,
            "corpus_label": CORPUS_LABELS[corpus.name], "photos": len(photos),
            "targets": [t.label for t in job.targets], "tools": results}


def startup(photo: Path, runs: int, scratch: Path) -> dict:
    """(d): wall time of the smartcrop CLI on one 12 MP photo, one 16:9 crop, start-up included."""
    times = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(max(runs, MIN_STARTUP_RUNS)):
        out = fresh_dir(scratch / "startup")
        cmd = tools.smartcrop_command([photo], out, CROP_16_9.targets)
        times.append(tools.run_child(cmd, REPO, env)[0])
    return {"median_s": statistics.median(times), "samples_s": times,
            "what": f"12 MP, one 16:9 crop, median of {len(times)}"}


def peak_rss(job_a: dict) -> dict:
    """(e): the largest peak RSS of the smartcrop CLI over the runs of (a) on 12 MP."""
    samples = job_a["tools"].get("smartcrop", {}).get("samples", [])
    kib = [s["peak_rss_kib"] for s in samples if s.get("peak_rss_kib")]
    if not kib:
        return {"peak_mb": None, "what": "not measured"}
    return {"peak_mb": max(kib) * 1024 / 1e6, "what": f"highest of {len(kib)} run(s), the child's own VmHWM"}


def corpus_facts(shared: Path, big: corpus_mod.Corpus, native: corpus_mod.Corpus) -> dict:
    """What the report says about the corpus."""
    datasets = sorted({p.name.split("_")[1] for p in big.photos})
    return {"photos": len(big.photos), "source": str(shared / corpus_mod.SOURCE_GLOB),
            "datasets": ", ".join(datasets), "folder_12mp": str(big.folder),
            "folder_native": str(native.folder), "mp_12": big.megapixels(),
            "mp_native": native.megapixels(), "portrait_every": corpus_mod.PORTRAIT_EVERY,
            "jpeg_quality": corpus_mod.JPEG_QUALITY}


def verdicts(results: dict) -> list[dict]:
    """Every target with its measured value and PASS/FAIL."""
    found = [(f"({j['id']}) {j['corpus_label']}", report.ratio_verdict(j)) for j in results["jobs"]]
    found.append(("(d) start-up", report.startup_verdict(results["startup"]["median_s"])))
    found.append(("(e) peak RSS", report.rss_verdict(results["rss"]["peak_mb"])))
    return [{"what": w, "value": v.value, "target": v.target, "result": v.word} for w, v in found]


def write_outputs(results: dict, out: Path) -> str:
    """Write bench.json and bench.md into `out`; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(results)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return text


METHOD_NOTES = (
    "smartcrop and smartcrop.py are timed as child processes, interpreter and model start-up "
    "included (smartcrop.py's own in-process time is in bench.json as inner_seconds); libvips and "
    "the Pillow centre crop run in this process",
    "every tool writes JPEG q90 without chroma subsampling (libvips does so by itself at Q ≥ 90); "
    "libvips makes the thumbnails with thumbnail(crop=attention), which shrinks on load and "
    "resizes with Lanczos3; smartcrop and the Pillow centre crop shrink on load by JPEG draft "
    "decoding and resize with Pillow's bicubic (README, Resizing: the two filters differ by "
    "less than JPEG q90 loses)",
)


def noise_notes(machine: dict) -> list[str]:
    """Warn when the machine was busy before or during the benchmark."""
    load = max(machine["load_average_start"][0], machine["load_average_end"][0])
    if load > 0.5:
        return [f"the machine was busy (1-min load average up to {load} on {machine['cpu_count']} "
                "CPUs): other work competed for the CPUs, so timings are noisy; ratios between "
                "tools, measured side by side, hold better than absolute figures"]
    return []


def main(argv: list[str] | None = None) -> int:
    """Run everything; 0 when done (with --check: 1 when a target is missed)."""
    args = parse_args(argv)
    shared = args.shared.resolve()
    require_shared(shared)
    machine = report.machine_facts(REPO)
    try:
        big, native = corpus_mod.build_corpora(shared, CACHE, args.photos)
    except ValueError as e:
        sys.exit(f"bench: {e}")
    all_tools, notes = make_tools(not args.no_install)
    available = [t for t in all_tools if t.run is not None]
    scratch = CACHE / "out"
    corpora = {"12mp": big, "native": native}
    jobs = []
    for job, name in PLAN:
        corpus_mod.warm_page_cache(corpora[name])
        jobs.append(run_job(job, corpora[name], available, args.runs, scratch))
    results = {"machine": machine, "runs": args.runs, "corpus": corpus_facts(shared, big, native),
               "tools": [{"name": t.name, "version": t.version, "note": t.note, **t.extra}
                         for t in all_tools],
               "tool_order": [t.name for t in all_tools], "jobs": jobs,
               "startup": startup(big.photos[0], args.runs, scratch), "rss": peak_rss(jobs[0])}
    if not args.no_stages:
        print("bench: per-stage breakdown", flush=True)
        results["stages"] = stages.stage_breakdown(
            REPO, list(big.photos), {t.label.replace(":", "x"): t.aspect for t in CROPS_3.targets},
            args.runs)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["notes"] = notes + list(METHOD_NOTES) + noise_notes(machine)
    results["verdicts"] = verdicts(results)
    shutil.rmtree(scratch, ignore_errors=True)
    print(write_outputs(results, args.out))
    print(f"bench: wrote {args.out / 'bench.md'} and {args.out / 'bench.json'}", file=sys.stderr)
    failed = any(v["result"] == "FAIL" for v in results["verdicts"])
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
