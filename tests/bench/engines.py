"""Local engine against Ray on one machine: wall time, phases and peak memory (README, "Scaling out").

    python tests/bench/engines.py --photos 24 [--two-nodes]
    python tests/bench/engines.py --naming 200000

Runs the bench corpus (dataset photos at 12 MP, tests/bench/corpus.py) through
  local     the CLI's default engine (threads, --jobs 2), in this process;
  ray       a local Ray cluster started for the run (one actor per CPU);
  2 nodes   (--two-nodes) a head and a second node started with `ray start` on this machine,
            1 CPU each, joined with --ray-address, and stopped with `ray stop` (which stops
            every Ray process on the machine: run it where no other Ray job runs).
Each run writes --ratio 16:9 --size 1080x1350 to a fresh folder. Phases for Ray: start (ray.init),
first result (actor start and model load, first batch), steady rate (results after the first),
shutdown. Peak memory is the summed PSS (shared pages split among the processes sharing them)
of this process and every Ray process, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from corpus import build_corpora  # noqa: E402

from smartcrop.engines import local  # noqa: E402
from smartcrop.engines import ray as ray_engine  # noqa: E402
from smartcrop.options import CropOptions, parse_ratio, parse_size  # noqa: E402
from smartcrop.pipeline import load_model  # noqa: E402

TARGETS = (parse_ratio("16:9"), parse_size("1080x1350"))


def _ray_pids() -> list[int]:
    """This process and every Ray process on the machine (raylet, gcs_server, ray:: workers)."""
    pids = [os.getpid()]
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if b"ray::" in cmd or b"/ray/" in cmd or b"raylet" in cmd or b"gcs_server" in cmd:
            pids.append(int(proc.name))
    return pids


def _pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (libraries, the object store) split among sharers."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakMemory:
    """Peak summed PSS (MB) of this process and every Ray process, sampled every 0.2 s."""

    def __init__(self, ray_processes: bool = True):
        self.peak, self._stop = 0.0, threading.Event()
        self._ray = ray_processes  # the local engine: this process only (no /proc scan in its GIL)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            pids = set(_ray_pids()) if self._ray else {os.getpid()}
            self.peak = max(self.peak, sum(_pss_mb(p) for p in pids))
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_local(photos: Path, out: Path) -> dict:
    options = CropOptions(targets=TARGETS, jobs=2)
    with PeakMemory(ray_processes=False) as mem:
        t0 = time.perf_counter()
        model = load_model(options)
        summary = local.run_batch(options, [photos], out, model=model)
        wall = time.perf_counter() - t0
    return {"engine": "local", "images": summary.images, "failures": summary.failures,
            "wall_s": round(wall, 2), "img_per_s": round(summary.images / wall, 2),
            "peak_mb": round(mem.peak)}


def run_ray(photos: Path, out: Path, address: str | None, label: str) -> dict:
    import ray

    options = CropOptions(targets=TARGETS)
    stamps = []
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        ray_engine._connect(address, None)
        t_init = time.perf_counter() - t0
        nodes = len([n for n in ray.nodes() if n["Alive"]])
        cpus = ray.cluster_resources().get("CPU")
        summary = ray_engine.run_batch(options, [photos], out, lambda r: stamps.append(time.perf_counter()))
        t_done = time.perf_counter()
        ray.shutdown()
        t_end = time.perf_counter()
    first = stamps[0] - t0 - t_init
    rest = (stamps[-1] - stamps[0]) or float("nan")
    return {"engine": label, "nodes": nodes, "cpus": cpus, "images": summary.images,
            "failures": summary.failures, "wall_s": round(t_end - t0, 2),
            "img_per_s": round(summary.images / (t_end - t0), 2), "start_s": round(t_init, 2),
            "first_result_s": round(first, 2),
            "steady_img_per_s": round((len(stamps) - 1) / rest, 2),
            "shutdown_s": round(t_end - t_done, 2), "peak_mb": round(mem.peak)}


def start_two_nodes(tmp: Path) -> str:
    """`ray start --head` and a second `ray start --address` on this machine, 1 CPU each."""
    port = 6390
    env = {**os.environ, **ray_engine.QUIET_ENV}
    ray_bin = str(Path(sys.executable).parent / "ray")
    subprocess.run([ray_bin, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                    f"--object-store-memory={ray_engine.OBJECT_STORE_BYTES}", f"--temp-dir={tmp}/head"],
                   check=True, env=env, capture_output=True)
    subprocess.run([ray_bin, "start", f"--address=127.0.0.1:{port}", "--num-cpus=1",
                    f"--object-store-memory={ray_engine.OBJECT_STORE_BYTES}"],
                   check=True, env=env, capture_output=True)
    return f"127.0.0.1:{port}"


def naming_pass(n: int) -> dict:
    """The driver's planning cost: collect_inputs on `n` listed keys, then the dataset rows."""
    import resource

    from smartcrop.pipeline import collect_inputs
    from smartcrop.storage import StoredPath

    keys = [f"{i // 1000:04d}/{i % 1000:03d}/IMG_{i:07d}.jpg" for i in range(n)]
    t, c = time.perf_counter(), time.process_time()
    items = collect_inputs([StoredPath("s3://photos/in")], StoredPath("s3://crops/out"), listed=keys)
    rows = [{"index": i, "path": str(it.path), "stem": it.stem.as_posix(), "error": it.error or ""}
            for i, it in enumerate(items)]
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"keys": len(rows), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "cpu_us_per_key": round(cpu / n * 1e6, 1),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "bench")
    parser.add_argument("--two-nodes", action="store_true")
    parser.add_argument("--only", choices=("local", "ray", "2nodes"))
    parser.add_argument("--naming", type=int, metavar="KEYS",
                        help="Only time the driver's naming pass over this many listed keys.")
    args = parser.parse_args()
    if args.naming:
        print(json.dumps(naming_pass(args.naming)))
        return
    corpus, _ = build_corpora(args.shared, args.cache, args.photos)
    tmp = Path(tempfile.mkdtemp(prefix="smartcrop-engines-"))
    results = []
    try:
        if args.only in (None, "local"):
            results.append(run_local(corpus.folder, tmp / "local"))
            print(json.dumps(results[-1]), flush=True)
        if args.only in (None, "ray"):
            results.append(run_ray(corpus.folder, tmp / "ray", None, "ray, 1 node"))
            print(json.dumps(results[-1]), flush=True)
        if args.two_nodes or args.only == "2nodes":
            address = start_two_nodes(tmp)
            try:
                results.append(run_ray(corpus.folder, tmp / "ray2", address, "ray, 2 nodes"))
                print(json.dumps(results[-1]), flush=True)
            finally:
                subprocess.run([str(Path(sys.executable).parent / "ray"), "stop"], capture_output=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
