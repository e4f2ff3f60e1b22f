"""The tools compared: smartcrop (its CLI), libvips attention, smartcrop.py and a Pillow centre crop.

Each tool runs one job (targets over a list of photos, outputs into a folder) and returns a
Sample. Peers are found here, or installed when allowed; a missing peer is reported, not fatal.
"""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

JPEG_QUALITY = 90
PYVIPS_REQUIREMENT = "pyvips>=2.2"
SMARTCROP_PY_REQUIREMENT = "smartcrop==0.5.0"  # smartcrop.py; PyPI name clashes with ours
LIBVIPS_APT = "apt-get install -y --no-install-recommends libvips42"
PEER_DRIVER = Path(__file__).resolve().parent / "peer_smartcrop_py.py"


@dataclass(frozen=True)
class Target:
    """One output per photo: an aspect ratio, or an exact size (1:1 for the thumbnails)."""

    label: str  # "16:9" or "1080x1080"
    aspect: float
    size: tuple[int, int] | None = None

    def cli_args(self) -> list[str]:
        """The smartcrop CLI option that asks for this target."""
        return ["--size", self.label] if self.size else ["--ratio", self.label]

    def as_json(self) -> list:
        return [self.label, self.aspect, list(self.size) if self.size else None]


@dataclass(frozen=True)
class Sample:
    """One timed run of one tool on one job."""

    seconds: float
    photos: int
    peak_rss_kib: int | None = None  # for tools run as a child process
    inner_seconds: float | None = None  # the child's own timing, without interpreter start-up


@dataclass
class Tool:
    """A named way to run a job; `run` is None (and `note` says why) when it is missing."""

    name: str
    run: Callable[[list[Path], Path, tuple[Target, ...]], Sample] | None
    note: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)


def largest_window(width: int, height: int, aspect: float) -> tuple[int, int]:
    """Largest (w, h) of `aspect` inside the image (the rule smartcrop's window strategy uses)."""
    if width / height >= aspect:
        return min(width, max(1, round(height * aspect))), height
    return width, min(height, max(1, round(width / aspect)))


def output_name(photo: Path, target: Target) -> str:
    """``<stem>_16x9.jpg``, the naming smartcrop uses."""
    return f"{photo.stem}_{target.label.replace(':', 'x')}.jpg"


def run_child(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run `cmd`; return wall seconds, the child's own peak RSS (KiB) and its stdout.

    Uses wait4, so the peak is this child's, not the maximum over every child so far.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {proc.returncode}: "
                           f"{stderr.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss, stdout.decode()


# -- smartcrop (this project), through its CLI -----------------------------------------------
# ru_maxrss outlives exec and starts at the forking parent's RSS: after libvips has run, this
# process holds hundreds of MB, which every child would then report as its own peak. So the
# CLI runs under this wrapper (as `python -m smartcrop` would) and writes its own high-water
# mark, VmHWM, which exec does reset, to the file named by HWM_ENV.
HWM_ENV = "SMARTCROP_BENCH_HWM"
HWM_WRAPPER = f"""
import atexit, os, runpy, sys
def _hwm():
    path = os.environ.get('{HWM_ENV}')
    if not path or not os.path.exists('/proc/self/status'):
        return
    with open('/proc/self/status') as f:
        kib = next(line.split()[1] for line in f if line.startswith('VmHWM:'))
    with open(path, 'w') as out:
        out.write(kib)
atexit.register(_hwm)
sys.argv[0] = 'smartcrop'
runpy.run_module('smartcrop', run_name='__main__', alter_sys=True)
"""


def smartcrop_command(inputs: list[Path], out: Path, targets: tuple[Target, ...]) -> list[str]:
    """The CLI invocation the benchmark times (default --jobs); `python -m smartcrop` with
    its peak memory recorded (HWM_WRAPPER)."""
    args = [a for t in targets for a in t.cli_args()]
    return [sys.executable, "-c", HWM_WRAPPER, *map(str, inputs), str(out), *args,
            "--quality", str(JPEG_QUALITY), "--format", "jpeg", "--quiet", "--overwrite"]


def cli_inputs(photos: list[Path]) -> list[Path]:
    """The photos' folder when they are all of it (as a user would run it), else the files."""
    folder = photos[0].parent
    return [folder] if set(photos) == set(folder.glob("*.jpg")) else photos


def smartcrop_tool(repo: Path) -> Tool:
    """smartcrop run as `python -m smartcrop` from the checkout, with its default --jobs.

    Its modules are byte-compiled first, as `pip install` does: a checkout run where
    PYTHONDONTWRITEBYTECODE is set would compile them again at every start (~30 ms here).
    """
    compileall.compile_dir(repo / "smartcrop", quiet=1)
    env = {**os.environ, "PYTHONPATH": str(repo)}

    def run(photos: list[Path], out: Path, targets: tuple[Target, ...]) -> Sample:
        cmd = smartcrop_command(cli_inputs(photos), out, targets)
        hwm = out.parent / f"{out.name}.hwm"
        hwm.unlink(missing_ok=True)
        seconds, rss, _ = run_child(cmd, repo, {**env, HWM_ENV: str(hwm)})
        # Without /proc (not Linux) only ru_maxrss is left, an upper bound.
        return Sample(seconds, len(photos), int(hwm.read_text()) if hwm.is_file() else rss)

    return Tool("smartcrop", run, version=_smartcrop_version(repo))


def _smartcrop_version(repo: Path) -> str:
    """Package version and the first digits of the shipped model's hash."""
    version = "?"
    for line in (repo / "smartcrop" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            version = line.split("=")[1].strip().strip('"')
    manifest = repo / "weights" / "saliency.json"
    if manifest.is_file():
        sha = json.loads(manifest.read_text())["files"]["saliency.tflite"]["sha256"]
        version += f", model {sha[:12]}"
    return version


# -- libvips attention, in process --------------------------------------------------------------
def _import_pyvips(install: bool):
    """pyvips, installed into this interpreter's environment when missing and allowed."""
    try:
        import pyvips
    except ImportError:
        if not install:
            raise
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PYVIPS_REQUIREMENT],
                       check=True)
        import pyvips
    return pyvips


def vips_tool(install: bool) -> Tool:
    """libvips `smartcrop(interesting=attention)`; thumbnails via `thumbnail(crop=attention)`."""
    try:
        pyvips = _import_pyvips(install)
        pyvips.Image.black(1, 1).avg()  # loads the library: fails here when libvips is absent
    except ImportError:
        return Tool("libvips", None, f"pyvips is not installed (pip install '{PYVIPS_REQUIREMENT}')")
    except Exception as e:  # no libvips: cffi raises OSError or a plain Exception
        return Tool("libvips", None, f"libvips unavailable ({type(e).__name__}: {str(e)[:120]}); "
                                     f"install it with: {LIBVIPS_APT}")

    def one_photo(photo: Path, out: Path, targets: tuple[Target, ...]) -> None:
        image = None
        for t in targets:
            dest = f"{out / output_name(photo, t)}[Q={JPEG_QUALITY}]"
            if t.size:  # shrink-on-load, then crop by attention: libvips's fast path
                pyvips.Image.thumbnail(str(photo), t.size[0], height=t.size[1],
                                       crop="attention").write_to_file(dest)
                continue
            if image is None:
                image = pyvips.Image.new_from_file(str(photo))  # decoded once per photo
            w, h = largest_window(image.width, image.height, t.aspect)
            image.smartcrop(w, h, interesting="attention").write_to_file(dest)

    def run(photos: list[Path], out: Path, targets: tuple[Target, ...]) -> Sample:
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        for photo in photos:
            one_photo(photo, out, targets)
        return Sample(time.perf_counter() - start, len(photos))

    version = f"libvips {'.'.join(str(pyvips.version(i)) for i in range(3))}, pyvips {pyvips.__version__}"
    return Tool("libvips", run, version=version, extra={"pyvips_api_mode": bool(pyvips.API_mode)})


# -- smartcrop.py, in its own virtualenv -------------------------------------------------------
def _peer_version(python: Path, cwd: Path) -> str | None:
    """smartcrop.py's version as seen by `python`, or None when it cannot import it."""
    code = ("import importlib.metadata as m, smartcrop; smartcrop.SmartCrop; "
            "print(m.version('smartcrop'))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _make_peer_venv(venv: Path) -> None:
    """Create `venv` and install smartcrop.py into it."""
    print(f"bench: installing {SMARTCROP_PY_REQUIREMENT} into {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    SMARTCROP_PY_REQUIREMENT], check=True, cwd=venv)


def smartcrop_py_tool(cache: Path, install: bool) -> Tool:
    """smartcrop.py driven by peer_smartcrop_py.py, the whole job in one child process."""
    venv = cache / "peer-venv"
    python = venv / "bin" / "python"
    version = _peer_version(python, cache) if python.exists() else None
    if version is None and install:
        try:
            _make_peer_venv(venv)
        except (OSError, subprocess.CalledProcessError) as e:
            return Tool("smartcrop.py", None, f"could not install {SMARTCROP_PY_REQUIREMENT}: {e}")
        version = _peer_version(python, cache)
    if version is None:
        return Tool("smartcrop.py", None, f"not installed: {sys.executable} -m venv {venv} && "
                                          f"{python} -m pip install '{SMARTCROP_PY_REQUIREMENT}'")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(photos: list[Path], out: Path, targets: tuple[Target, ...]) -> Sample:
        spec = out.parent / f"{out.name}.spec.json"
        spec.write_text(json.dumps({"photos": [str(p) for p in photos], "out": str(out),
                                    "targets": [t.as_json() for t in targets]}))
        seconds, rss, stdout = run_child([str(python), str(PEER_DRIVER), str(spec)], cache, env)
        return Sample(seconds, len(photos), rss, json.loads(stdout)["seconds"])

    return Tool("smartcrop.py", run, version=f"smartcrop.py {version}")


# -- Pillow centre crop: the I/O floor -----------------------------------------------------------
def _centre_crop_photo(photo: Path, out: Path, targets: tuple[Target, ...]) -> None:
    """Decode once (reduced by JPEG draft when every target is a small size), write centre crops."""
    with Image.open(photo) as im:
        if all(t.size for t in targets):
            im.draft("RGB", max(t.size for t in targets))
        image = ImageOps.exif_transpose(im).convert("RGB")
    for t in targets:
        w, h = largest_window(image.width, image.height, t.aspect)
        left, top = (image.width - w) // 2, (image.height - h) // 2
        crop = image.crop((left, top, left + w, top + h))
        if t.size:  # smartcrop's filter (libvips uses Lanczos): the floor does what it does
            crop = crop.resize(t.size, Image.Resampling.BICUBIC)
        crop.save(out / output_name(photo, t), "JPEG", quality=JPEG_QUALITY, subsampling=0)


def pillow_tool(threads: int) -> Tool:
    """Centre crops with Pillow on `threads` threads (Pillow releases the GIL while it codes)."""

    def run(photos: list[Path], out: Path, targets: tuple[Target, ...]) -> Sample:
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda p: _centre_crop_photo(p, out, targets), photos))
        return Sample(time.perf_counter() - start, len(photos))

    return Tool("Pillow centre", run, version=f"Pillow {Image.__version__}, {threads} threads")
