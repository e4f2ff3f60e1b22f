"""The benchmark corpus: dataset photos upscaled to 12 MP, plus the same photos at native size.

Built once and cached (``.cache/bench/corpus-<key>/``); the key covers the chosen sources and
every build setting, so a change of either builds a fresh corpus beside the old one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

SOURCE_GLOB = "datasets/*/images/*.jpg"  # relative to the shared folder
MIN_SOURCE_PIXELS = 300_000  # skips the 256x256 thumbnails some datasets hold
LANDSCAPE_SIZE = (4032, 3024)  # 12.2 MP, a phone camera's 4:3 frame
PORTRAIT_SIZE = (3024, 4032)
PORTRAIT_EVERY = 4  # every 4th photo (index 3, 7, ...) becomes portrait
JPEG_QUALITY = 92
RESAMPLE = Image.Resampling.LANCZOS
BUILD_VERSION = 1  # bump when the way photos are made changes


@dataclass(frozen=True)
class Corpus:
    """A folder holding only the benchmark's photos, in a fixed order."""

    name: str
    folder: Path
    photos: tuple[Path, ...]

    def megapixels(self) -> float:
        """Mean size of the photos in megapixels."""
        sizes = [Image.open(p).size for p in self.photos]
        return sum(w * h for w, h in sizes) / len(sizes) / 1e6


def _dataset_photos(shared: Path) -> dict[str, list[Path]]:
    """Photos per dataset, both in sorted order."""
    found: dict[str, list[Path]] = {}
    for path in sorted(shared.glob(SOURCE_GLOB)):
        found.setdefault(path.parent.parent.name, []).append(path)
    return found


def _big_enough(path: Path) -> bool:
    """True when the photo has at least MIN_SOURCE_PIXELS (header only)."""
    with Image.open(path) as im:
        return im.size[0] * im.size[1] >= MIN_SOURCE_PIXELS


def pick_sources(shared: Path, count: int) -> list[Path]:
    """`count` photos taken round-robin over the datasets, each in sorted name order."""
    queues = [iter(p for p in paths if _big_enough(p)) for paths in _dataset_photos(shared).values()]
    picked: list[Path] = []
    while queues and len(picked) < count:
        for queue in list(queues):
            path = next(queue, None)
            if path is None:
                queues.remove(queue)
            elif len(picked) < count:
                picked.append(path)
    if len(picked) < count:
        raise ValueError(f"only {len(picked)} photos of at least {MIN_SOURCE_PIXELS} pixels "
                         f"under {shared / SOURCE_GLOB}, {count} asked for")
    return picked


def _key(sources: list[Path]) -> str:
    """Short hash of the sources and build settings: names the cached corpus."""
    text = json.dumps([BUILD_VERSION, LANDSCAPE_SIZE, PORTRAIT_EVERY, JPEG_QUALITY, RESAMPLE.name,
                       [f"{p.parent.parent.name}/{p.name}" for p in sources]])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def centre_fit(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Centre-crop `im` to the aspect of `size`, then resize to exactly `size`."""
    return ImageOps.fit(im, size, method=RESAMPLE, centering=(0.5, 0.5))


def _upscale(source: Path, target: Path, portrait: bool) -> None:
    """Write `source` at 12 MP (portrait: its centre 3:4 part) as JPEG q92."""
    with Image.open(source) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    size = PORTRAIT_SIZE if portrait else LANDSCAPE_SIZE
    centre_fit(upright, size).save(target, "JPEG", quality=JPEG_QUALITY)


def _photo_name(index: int, source: Path, portrait: bool) -> str:
    """``03_osie_1002_p.jpg``: order, dataset, source name, and p for portrait."""
    return f"{index:02d}_{source.parent.parent.name}_{source.stem}{'_p' if portrait else ''}.jpg"


def _build(sources: list[Path], root: Path) -> None:
    """Make both corpus folders under `root`; the manifest is written last, as the done mark."""
    if root.exists():
        shutil.rmtree(root)  # an earlier build was interrupted
    (root / "12mp").mkdir(parents=True)
    (root / "native").mkdir()
    for i, source in enumerate(sources):
        portrait = i % PORTRAIT_EVERY == PORTRAIT_EVERY - 1
        name = _photo_name(i, source, portrait)
        _upscale(source, root / "12mp" / name, portrait)
        shutil.copyfile(source, root / "native" / _photo_name(i, source, False))
    manifest = {"sources": [str(p) for p in sources], "landscape": LANDSCAPE_SIZE,
                "portrait": PORTRAIT_SIZE, "portrait_every": PORTRAIT_EVERY,
                "jpeg_quality": JPEG_QUALITY, "resample": RESAMPLE.name}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _load(root: Path, name: str) -> Corpus:
    """The corpus in `root/name`, photos sorted by name."""
    folder = root / name
    return Corpus(name, folder, tuple(sorted(folder.glob("*.jpg"))))


def build_corpora(shared: Path, cache: Path, count: int) -> tuple[Corpus, Corpus]:
    """The 12 MP and native corpora of `count` photos, built unless cached."""
    sources = pick_sources(shared, count)
    root = cache / f"corpus-{count}-{_key(sources)}"
    if not (root / "manifest.json").is_file():
        print(f"bench: building the corpus in {root} ({count} photos, once)", flush=True)
        _build(sources, root)
    return _load(root, "12mp"), _load(root, "native")


def warm_page_cache(corpus: Corpus) -> None:
    """Read every photo once so that no tool pays for the first, cold read."""
    for path in corpus.photos:
        path.read_bytes()
