"""Eye-fixation datasets in the shared layout: records, a reproducible split, ground-truth maps.

Pure numpy + Pillow, shared by training and evaluation. Layout: ``<dataset>/images/<name>``
and ``<dataset>/fixations.csv`` with columns image, subject, x, y, duration_ms.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Density-map blur: about one degree of visual angle, ~3% of the image's long side here.
SIGMA_FRACTION = 0.03
VALIDATION_PERCENT = 10


@dataclass(frozen=True)
class FixationRecord:
    """One image of a dataset and all observers' fixations on it (pixel x, y)."""

    dataset: str
    name: str
    path: Path
    width: int
    height: int
    fixations: np.ndarray  # (N, 2) float, x then y

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.name}"


def load_dataset(root: str | Path) -> list[FixationRecord]:
    """Read one dataset folder; raises ValueError, naming the file and the reason, if it is not
    in the shared layout (every image listed must have its file in images/)."""
    root = Path(root)
    table = root / "fixations.csv"
    if not table.is_file() or not (root / "images").is_dir():
        raise ValueError(f"{root}: not a dataset folder (needs images/ and fixations.csv)")
    points = read_fixations(table)
    missing = [name for name in points if not (root / "images" / name).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ValueError(f"{table}: {len(missing)} of {len(points)} images listed have no file in "
                         f"{root / 'images'}: {shown}")
    records = []
    for name in sorted(points):
        path = root / "images" / name
        try:
            with Image.open(path) as im:
                width, height = im.size
        except OSError as e:  # Pillow's UnidentifiedImageError among them
            raise ValueError(f"{path}: cannot read the image ({e})") from None
        records.append(FixationRecord(root.name, name, path, width, height,
                                      np.asarray(points[name], dtype=np.float64)))
    return records


REQUIRED_COLUMNS = ("image", "x", "y")


def read_fixations(table: Path) -> dict[str, list[tuple[float, float]]]:
    """Each image's (x, y) fixations, in file order. Accepts what spreadsheets write: a UTF-8
    BOM, `;` or tab separators, spaces around values; raises ValueError naming the file (and
    line) for anything else, so a bad row never becomes a traceback or a silent zero."""
    try:
        text = table.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{table}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    lines = text.splitlines(keepends=True)
    if not any(line.strip() for line in lines):
        raise ValueError(f"{table}: no fixations (the file is empty)")
    try:  # the header line alone decides the separator: only the three a CSV export uses
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    header = [name.strip() for name in next(rows)]
    absent = [c for c in REQUIRED_COLUMNS if c not in header]
    if absent:
        raise ValueError(f"{table}: missing column{'s' * (len(absent) > 1)} {', '.join(absent)} "
                         f"(found: {', '.join(header)}; needs {', '.join(REQUIRED_COLUMNS)})")
    columns = [header.index(c) for c in REQUIRED_COLUMNS]
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if not any(value.strip() for value in row):
            continue  # blank lines, as spreadsheets leave at the end
        where = f"{table} line {rows.line_num}"
        if len(row) <= max(columns):
            raise ValueError(f"{where}: {len(row)} values for {len(header)} columns")
        name, x, y = (row[i].strip() for i in columns)
        if not name:
            raise ValueError(f"{where}: no image name")
        points[name].append((_coordinate(x, "x", where), _coordinate(y, "y", where)))
    if not points:
        raise ValueError(f"{table}: no fixations (only the header)")
    return points


def _coordinate(value: str, column: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{where}: {column} is not a number ({value!r})")
    return number


def load_datasets(roots) -> list[FixationRecord]:
    return [r for root in roots for r in load_dataset(root)]


def unlisted_images(root: str | Path, records) -> list[str]:
    """Image files in `root`/images that `records` (the dataset's) do not cover, so have no
    fixations and are left out: worth a note, as a truncated fixations.csv looks just like this."""
    images = Path(root) / "images"
    listed = {r.path for r in records}
    kinds = Image.registered_extensions()
    return [p.relative_to(images).as_posix() for p in sorted(images.rglob("*"))
            if p.is_file() and p.suffix.lower() in kinds and not p.name.startswith(".")
            and p not in listed]


def outside_fixations(records) -> tuple[int, int, tuple | None]:
    """(outside, total, example): how many fixations lie more than a pixel outside their image
    (sub-pixel strays at an edge are tracker rounding), of how many, and the one farthest out
    in the image with the most outside as (record, x, y), None when there are none. Such
    fixations count at the border of every map and outside every crop."""
    outside, total, worst = 0, 0, (0, None)
    for r in records:
        x, y = r.fixations[:, 0], r.fixations[:, 1]
        beyond = np.maximum.reduce([-1 - x, x - r.width - 1, -1 - y, y - r.height - 1])
        n = int((beyond > 0).sum())
        outside, total = outside + n, total + len(x)
        if n > worst[0]:
            i = int(np.argmax(beyond))
            worst = (n, (r, float(x[i]), float(y[i])))
    return outside, total, worst[1]


def is_validation(record: FixationRecord, percent: int = VALIDATION_PERCENT) -> bool:
    """Stable split by a hash of ``dataset/name``: the same on every machine and run."""
    digest = hashlib.sha256(record.key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def split(records, percent: int = VALIDATION_PERCENT, val_dataset: str | None = None):
    """(train, validation); every dataset present must appear in both parts.

    With `val_dataset`, leave-one-dataset-out instead: that whole dataset validates and the
    others train, which predicts unseen photos better than a split within each dataset.
    """
    if val_dataset is not None:
        return holdout_split(records, val_dataset)
    train = [r for r in records if not is_validation(r, percent)]
    val = [r for r in records if is_validation(r, percent)]
    for name in {r.dataset for r in records}:
        if not any(r.dataset == name for r in train) or not any(r.dataset == name for r in val):
            raise ValueError(f"split leaves dataset {name} out of one part")
    return train, val


def holdout_split(records, val_dataset: str):
    """(train, validation) with every image of `val_dataset` in validation, none in training."""
    names = sorted({r.dataset for r in records})
    if val_dataset not in names:
        raise ValueError(f"validation dataset {val_dataset!r} is not among the datasets "
                         f"given ({', '.join(names) or 'none'})")
    if len(names) < 2:
        raise ValueError(f"holding out {val_dataset!r} leaves no dataset to train on")
    train = [r for r in records if r.dataset != val_dataset]
    val = [r for r in records if r.dataset == val_dataset]
    return train, val


def fixation_counts(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width) map counting the fixations that fall in each pixel."""
    counts = np.zeros((height, width), dtype=np.float64)
    if len(points):
        xs = np.clip(points[:, 0].astype(int), 0, width - 1)
        ys = np.clip(points[:, 1].astype(int), 0, height - 1)
        np.add.at(counts, (ys, xs), 1.0)
    return counts


def _gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    idx = np.arange(n)
    return np.exp(-0.5 * ((idx[:, None] - idx[None, :]) / sigma) ** 2)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with zero padding (as matrix products, exact and fast enough)."""
    h, w = image.shape
    return _gaussian_matrix(h, sigma) @ image @ _gaussian_matrix(w, sigma)


def density_map(points: np.ndarray, width: int, height: int,
                sigma: float | None = None) -> np.ndarray:
    """Fixations blurred with a Gaussian (default sigma: 3% of the long side), summing to 1."""
    sigma = SIGMA_FRACTION * max(width, height) if sigma is None else sigma
    density = gaussian_blur(fixation_counts(points, width, height), sigma)
    total = density.sum()
    return density / total if total > 0 else density


def block_sum(image: np.ndarray, factor: int) -> np.ndarray:
    """Sum non-overlapping factor x factor blocks (shape must divide)."""
    h, w = image.shape
    return image.reshape(h // factor, factor, w // factor, factor).sum(axis=(1, 3))
