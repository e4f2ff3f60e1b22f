"""The benchmark's report: machine facts, targets with PASS/FAIL, and the Markdown table."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RATIO_GOAL = 1.5  # smartcrop's throughput over libvips's, jobs (a)-(c)
STARTUP_GOAL_S = 1.0  # (d)
RSS_GOAL_MB = 600.0  # (e), MB = 10^6 bytes
BASELINE = "libvips"


@dataclass(frozen=True)
class Verdict:
    """A measured value beside its target."""

    value: float | None
    target: str
    passed: bool | None  # None: could not be measured

    @property
    def word(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1e6, 1)
    except OSError:
        pass
    return None


def _git_revision(repo: Path) -> str:
    """HEAD's short hash, with '+dirty' when the package has uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--", "smartcrop", "weights") else "")


def machine_facts(repo: Path) -> dict:
    """CPU, memory, load, Python, date and the exact command line of this run."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(sys.orig_argv),
        "cwd": os.getcwd(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_gb": _mem_total_gb(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "smartcrop_revision": _git_revision(repo),
    }


# -- targets ---------------------------------------------------------------------------------
def ratio_verdict(job: dict) -> Verdict:
    """smartcrop's throughput over libvips's for one job, against RATIO_GOAL."""
    ratio = job["tools"].get("smartcrop", {}).get("vs_libvips")
    target = f"smartcrop ≥ {RATIO_GOAL}× {BASELINE}"
    return Verdict(ratio, target, None if ratio is None else ratio >= RATIO_GOAL)


def startup_verdict(seconds: float | None) -> Verdict:
    return Verdict(seconds, f"≤ {STARTUP_GOAL_S} s", None if seconds is None else seconds <= STARTUP_GOAL_S)


def rss_verdict(mb: float | None) -> Verdict:
    return Verdict(mb, f"≤ {RSS_GOAL_MB:g} MB", None if mb is None else mb <= RSS_GOAL_MB)


# -- Markdown ----------------------------------------------------------------------------------
def _num(x: float | None, digits: int = 2) -> str:
    """A number with `digits` significant-ish decimals, or an em dash."""
    if x is None:
        return "—"
    return f"{x:.{digits}f}" if x < 100 else f"{x:.0f}"


def _throughput_cell(result: dict | None) -> str:
    """``1.23 (0.45×)``: photos per second and the ratio to libvips."""
    if not result:
        return "missing"
    if result.get("error"):
        return "error"
    ratio = result.get("vs_libvips")
    return f"{_num(result['images_per_s'])} ({_num(ratio)}×)" if ratio else _num(result["images_per_s"])


def throughput_table(jobs: list[dict], tool_names: list[str]) -> list[str]:
    """One row per job and corpus, one column per tool."""
    lines = ["| job | corpus | " + " | ".join(tool_names) + " | target | result |",
             "|---|---|" + "---:|" * len(tool_names) + "---|---|"]
    for job in jobs:
        cells = [_throughput_cell(job["tools"].get(name)) for name in tool_names]
        v = ratio_verdict(job)
        lines.append(f"| ({job['id']}) {job['title']} | {job['corpus_label']} | " + " | ".join(cells)
                     + f" | {v.target} | **{v.word}** |")
    return lines


def single_table(startup: dict, rss: dict) -> list[str]:
    """(d) start-up wall time and (e) peak RSS, with their targets."""
    d, e = startup_verdict(startup.get("median_s")), rss_verdict(rss.get("peak_mb"))
    return ["| metric | value | target | result |", "|---|---:|---|---|",
            f"| (d) one-photo CLI call, wall time incl. start-up ({startup.get('what', '')}) | "
            f"{_num(d.value)} s | {d.target} | **{d.word}** |",
            f"| (e) peak RSS of (a) on 12 MP, smartcrop CLI ({rss.get('what', '')}) | "
            f"{_num(e.value, 0)} MB | {e.target} | **{e.word}** |"]


def stage_table(stages: dict) -> list[str]:
    """Median ms per photo for each stage, with its share of the total."""
    total = stages["total_ms"]
    lines = ["| stage | median ms / photo | share |", "|---|---:|---:|"]
    for name, ms in stages["median_ms"].items():
        lines.append(f"| {name} | {ms:.1f} | {ms / total:.0%} |")
    lines.append(f"| **sum of medians** | **{total:.1f}** | |")
    for name, ms in stages.get("thorough_ms", {}).items():  # in place of the default stage
        lines.append(f"| {name} | {ms:.1f} | |")
    return lines


def markdown(results: dict) -> str:
    """The whole report as Markdown."""
    m, c = results["machine"], results["corpus"]
    out = ["# smartcrop benchmark", "",
           f"- date: {m['date']}; revision {m['smartcrop_revision']}",
           f"- machine: {m['cpu_model']}, {m['cpu_count']} CPUs ({m['cpus_usable']} usable), "
           f"{m['mem_total_gb']} GB; load average at start {m['load_average_start']}, "
           f"at end {m.get('load_average_end')}",
           f"- command: `{m['command']}`",
           f"- corpus: {c['photos']} photos from {c['source']} ({c['datasets']}); "
           f"12 MP set {c['mp_12']:.1f} MP mean (4032×3024, every {c['portrait_every']}th 3024×4032 "
           f"portrait), JPEG q{c['jpeg_quality']}; native set {c['mp_native']:.2f} MP mean",
           f"- runs: {results['runs']} per tool and job, tools alternated per run, median shown; "
           "throughput is input photos per second, (×) is the ratio to libvips",
           "- tools: " + "; ".join(f"{t['name']}: {t['version'] or t['note']}" for t in results["tools"]),
           "", "## Throughput", "", *throughput_table(results["jobs"], results["tool_order"]),
           "", "## smartcrop alone", "", *single_table(results["startup"], results["rss"])]
    if results.get("stages"):
        s = results["stages"]
        out += ["", f"## Per-stage breakdown: smartcrop, 12 MP, {s['outputs_per_photo']} crops per photo",
                "", f"In-process, one photo at a time, {s['interpreter_threads']} interpreter thread(s) "
                f"(the CLI's per-worker default), {s['samples_per_stage']} samples per stage; "
                f"model load {s['model_load_ms']:.0f} ms once per process.", "", *stage_table(s)]
    if results["notes"]:
        out += ["", "## Notes", "", *[f"- {n}" for n in results["notes"]]]
    return "\n".join(out) + "\n"
