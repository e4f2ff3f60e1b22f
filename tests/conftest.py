"""Shared fixtures: one saliency model per session, small photos, CLI and manifest helpers, a teacher."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent


def photo(size: tuple[int, int] = (320, 240), centre: tuple[float, float] | None = None,
          seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A photo-like image: blurred grey-green backdrop, a bright red face-like disc with detail."""
    w, h = size
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, h)[:, None, None] * np.ones((1, w, 1))
    base = 110 + 30 * rows * np.array([0.6, 1.0, 0.7]) + rng.normal(0, 4, (h, w, 3))
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    im = im.filter(ImageFilter.GaussianBlur(2))
    cx, cy = centre if centre else (0.5 * w, 0.5 * h)
    r = max(1.0, 0.18 * min(w, h))
    d = ImageDraw.Draw(im)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(235, 40, 30), outline=(255, 255, 255), width=2)
    e = r * 0.22  # eyes and mouth: high-contrast detail inside the disc
    for ex in (cx - r * 0.4, cx + r * 0.4):
        d.ellipse((ex - e, cy - r * 0.35 - e, ex + e, cy - r * 0.35 + e), fill=(255, 255, 255))
        d.ellipse((ex - e / 2, cy - r * 0.35 - e / 2, ex + e / 2, cy - r * 0.35 + e / 2), fill=(0, 0, 0))
    d.rectangle((cx - r * 0.45, cy + r * 0.35, cx + r * 0.45, cy + r * 0.5), fill=(20, 10, 10))
    return im.convert(mode) if mode != "RGB" else im


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under `root`, keyed by relative path."""
    return {p.relative_to(root).as_posix(): sha256(p) for p in sorted(Path(root).rglob("*"))
            if p.is_file() and not p.is_symlink()}


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def parse_manifest(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_module(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """`python -m smartcrop ARGS` in a subprocess (real exit code, real stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "smartcrop", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env, **kw)


@pytest.fixture(scope="session")
def model():
    """The shipped LiteRT model, loaded once (two interpreters: the CLI's default --jobs 2)."""
    from smartcrop.saliency import SaliencyModel

    return SaliencyModel(threads=1, workers=2)


@pytest.fixture(scope="session")
def training_canvas_teacher(tmp_path_factory) -> Path:
    """The shipped weights exported (float) on the training canvas, as a distillation teacher
    must be: the shipped files run on a larger one. The path of its .tflite file."""
    pytest.importorskip("tensorflow")
    from smartcrop.canvas import CANVAS_HEIGHT, CANVAS_WIDTH
    from smartcrop.model.export import load_model, to_tflite
    from smartcrop.model.network import NetworkConfig

    weights = ROOT / "weights"
    manifest = json.loads((weights / "saliency.json").read_text())
    model = load_model(weights / "saliency.weights.h5", NetworkConfig(**manifest["config"]),
                       (CANVAS_WIDTH, CANVAS_HEIGHT))
    path = tmp_path_factory.mktemp("teacher") / "saliency.tflite"
    path.write_bytes(to_tflite(model, "float"))
    return path


@pytest.fixture
def make_image(tmp_path) -> Callable[..., Path]:
    """Write a photo-like image: make_image("trips/beach.jpg", size=(320, 240), mode="RGB", **save)."""

    def make(rel: str | Path, size: tuple[int, int] = (320, 240), mode: str = "RGB",
             root: Path | None = None, seed: int = 0, fmt: str | None = None, **save) -> Path:
        path = (root or tmp_path / "in") / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        photo(size, seed=seed, mode=mode).save(path, format=fmt, **save)
        return path

    return make


@pytest.fixture
def cli(model, monkeypatch):
    """Invoke smartcrop.cli.main in-process with the session's model; returns click's Result.

    `result.records` holds the parsed manifest when `--manifest -` was given.
    """
    from click.testing import CliRunner

    import smartcrop.pipeline
    from smartcrop.cli import main

    monkeypatch.setattr(smartcrop.pipeline, "load_model", lambda options: model)

    def invoke(*args):
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        result.records = parse_manifest(result.stdout) if "-" in map(str, args) else []
        return result

    return invoke


def png_bytes(size: tuple[int, int] = (8, 8), mode: str = "L") -> bytes:
    import io

    buf = io.BytesIO()
    Image.new(mode, size, 100).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A tiny real PNG whose IHDR claims width x height (CRC fixed), so only the header is sane."""
    import struct
    import zlib

    data = bytearray(png_bytes((1, 1)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def exif_jpeg(path: Path, orientation: int, size: tuple[int, int] = (320, 200), **kw) -> Path:
    """A JPEG stored `size` (w, h) with EXIF orientation `orientation`."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    photo(size, **kw).save(path, exif=exif)
    return path


# The transpose that stores an upright photo so that EXIF orientation N turns it back upright.
_STORE = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
          8: Image.Transpose.ROTATE_270}


def oriented(path: Path, orientation: int, upright: Image.Image) -> Path:
    """`upright` written turned, with the EXIF orientation that turns it back (TIFF: as a tag)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    method = _STORE[orientation]
    stored = upright.transpose(method) if method is not None else upright
    if path.suffix == ".tif":
        stored.save(path, tiffinfo={0x0112: orientation})
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(path, exif=exif, **({"quality": 95} if path.suffix == ".jpg" else {}))
    return path


def install_paths(kind: str, base: Path) -> dict[str, str]:
    """The paths (purelib, data, ...) of this platform's `kind` ("prefix", "user") install
    scheme at `base`, as pip would use them for --prefix BASE or a user base of BASE."""
    import sysconfig

    bases = dict.fromkeys(("base", "platbase", "userbase", "installed_base", "installed_platbase"),
                          str(base))
    return sysconfig.get_paths(sysconfig.get_preferred_scheme(kind), vars=bases)


def srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def animation(path: Path, n: int = 4, size: tuple[int, int] = (160, 120), **save) -> Path:
    """An animated GIF/WebP of `n` distinct frames (a disc moving, background colour changing)."""
    frames = []
    for i in range(n):
        im = photo(size, centre=(size[0] * (0.2 + 0.2 * i), size[1] / 2), seed=i)
        tint = Image.new("RGB", size, (40 * i, 0, 255 - 40 * i))
        frames.append(Image.blend(im, tint, 0.3))
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0, **save)
    return path
