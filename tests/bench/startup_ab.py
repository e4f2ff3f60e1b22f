"""(d) for two models side by side: one-photo CLI calls alternated between weight folders.

The bench's own command (`tools.smartcrop_command`, start-up included) on one photo, one 16:9
crop, `--runs` times per folder, alternating so that the machine's drift hits both alike.

    .venv/bin/python tests/bench/startup_ab.py PHOTO --weights weights --weights OLD_DIR [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tools  # noqa: E402
from bench import CROP_16_9, REPO, fresh_dir  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("photo", type=Path)
    p.add_argument("--weights", type=Path, action="append", required=True)
    p.add_argument("--runs", type=int, default=9)
    args = p.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    times: dict[Path, list[float]] = {w: [] for w in args.weights}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for weights in args.weights:
                out = fresh_dir(Path(tmp) / "out")
                cmd = [*tools.smartcrop_command([args.photo], out, CROP_16_9.targets),
                       "--weights", str(weights.resolve())]
                times[weights].append(tools.run_child(cmd, REPO, env)[0])
    for weights, t in times.items():
        samples = ", ".join(f"{x:.2f}" for x in t)
        print(f"{weights}: median {statistics.median(t):.3f} s of {len(t)} ({samples})")


if __name__ == "__main__":
    main()
