"""Crop targets and run options: parsed and checked once at the edge, then passed as one frozen value."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

STRATEGIES = ("window", "box")
FITS = ("crop", "pad", "auto")
BACKGROUNDS = ("auto", "blur")  # or a colour, #rrggbb
FORMATS = ("keep", "jpeg", "png", "webp", "avif")
METADATA = ("none", "rights", "all")  # what outputs carry (smartcrop.metadata); never GPS
DEFAULT_MAX_PIXELS = 200_000_000
# Enlarging a crop more than this fails its output (README, "Exact sizes"): 3-4x looks soft
# but passes on a phone; at 4.8x the source's JPEG blocks show, at 6.4x it is blur.
DEFAULT_MAX_UPSCALE = 4.0

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_RATIO = re.compile(rf"^\s*{_NUMBER}\s*(?:[:xX/]\s*{_NUMBER})?\s*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SIZE = re.compile(r"^\s*(\d+)\s*[xX:]\s*(\d+)\s*$")


@dataclass(frozen=True)
class Target:
    """One requested output: an aspect ratio, or an exact size (whose aspect it implies)."""

    aspect: float
    label: str  # "16:9", "1.91:1" for ratios; "1080x1350" for sizes
    size: tuple[int, int] | None = None

    @property
    def tag(self) -> str:
        """File-name suffix: ``16x9``, ``1.91x1``, ``1080x1350``."""
        return self.label.replace(":", "x")

    @property
    def flag(self) -> str:
        """The option that asks for it, for messages: ``--ratio 16:9``, ``--size 1080x1350``."""
        return f"{'--size' if self.size else '--ratio'} {self.label}"

    def record_fields(self) -> dict:
        return {"size": list(self.size)} if self.size else {"ratio": self.label}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def parse_ratio(text: str) -> Target:
    """Accept ``16:9``, ``16x9``, ``16/9``, ``1.91:1`` or ``1.91``; raise ValueError otherwise."""
    m = _RATIO.match(text)
    if not m:
        raise ValueError(f"invalid ratio {text!r}: use W:H such as 16:9, 1.91:1 or 1.91")
    w = float(m.group(1))
    h = float(m.group(2)) if m.group(2) is not None else 1.0
    if w <= 0 or h <= 0 or not math.isfinite(w / h) or not 0.01 <= w / h <= 100:
        raise ValueError(f"invalid ratio {text!r}: both sides positive, aspect within 1:100..100:1")
    if w.is_integer() and h.is_integer():
        f = Fraction(int(w), int(h))  # 32:18 -> 16:9
        w, h = f.numerator, f.denominator
    return Target(aspect=w / h, label=f"{_fmt(w)}:{_fmt(h)}")


def to_ratio(value: object, size_hint: str = "--size {}") -> Target:
    """A ratio target from the CLI or the API: text as `parse_ratio` takes it, or a number W for
    W:1. Text that looks like pixels is refused with `size_hint` (it would quietly become its
    reduced ratio); anything else is a TypeError, as a regex error would not say what to give."""
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise TypeError(f'a ratio is a string such as "16:9" or a number such as 1.91, '
                        f"not {type(value).__name__} {value!r}")
    if not isinstance(value, str):
        return parse_ratio(str(value))  # 1.5 -> 1.5:1, Fraction(16, 9) -> 16:9
    if looks_like_size(value):
        raise ValueError(f"{value!r} looks like pixels: did you mean {size_hint.format(value.strip())}? "
                         f"(a ratio is W:H such as 1:1 or 16:9)")
    return parse_ratio(value)


def looks_like_size(text: str) -> bool:
    """A ratio written as a pixel size (``1080x1080``): an ``x`` between two whole numbers of 100
    or more. ``1920:1080`` is taken as the ratio it spells."""
    m = _SIZE.match(text)
    return bool(m) and "x" in text.lower() and int(m.group(1)) >= 100 and int(m.group(2)) >= 100


def valid_background(text: str) -> bool:
    """Whether `text` is a --background: auto, blur or a colour #rrggbb."""
    return isinstance(text, str) and (text in BACKGROUNDS or bool(_COLOUR.match(text)))


def parse_size(text: str) -> Target:
    """Accept ``1080x1350`` (width x height, pixels); raise ValueError otherwise."""
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"invalid size {text!r}: use WIDTHxHEIGHT such as 1080x1350")
    w, h = int(m.group(1)), int(m.group(2))
    if w > 65535 or h > 65535:
        raise ValueError(f"invalid size {text!r}: at most 65535 pixels per side")
    if not 0.01 <= w / h <= 100:  # as parse_ratio: a crop search needs room across both sides
        raise ValueError(f"invalid size {text!r}: aspect within 1:100..100:1")
    return Target(aspect=w / h, label=f"{w}x{h}", size=(w, h))


@dataclass(frozen=True)
class CropOptions:
    """Everything a run needs, checked by the CLI (or API caller) before any work starts."""

    targets: tuple[Target, ...]
    strategy: str = "window"
    format: str = "keep"
    quality: int = 90
    upscale: bool = True  # --size outputs are exactly WxH, enlarged when the crop is smaller
    dry_run: bool = False
    skip_existing: bool = False
    overwrite: bool = False
    save_saliency: Path | None = None
    debug: Path | None = None
    weights: Path | None = None
    jobs: int = 2
    batch_size: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS
    report: Path | None = None  # --report: the HTML contact sheet (thumbnails beside it)
    focus: tuple = ()  # --focus: smartcrop.focus.Focus overrides, checked against the batch
    fit: str = "crop"  # crop | pad (letterbox the whole image) | auto (pad when a crop loses too much)
    background: str = "auto"  # behind padded images: auto | blur | #rrggbb
    max_upscale: float = DEFAULT_MAX_UPSCALE  # an output needing more enlargement fails
    metadata: str = "none"  # none | rights (artist, copyright, credit) | all (less GPS)
    faces: bool = True  # --faces/--no-faces: detect faces and keep them whole in crops
    thorough: bool = False  # --thorough: two models' flip-averaged maps, a tiled face search (slower)

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("give at least one --ratio, --size or --preset")
        labels = [t.label for t in self.targets]
        repeated = [x for i, x in enumerate(labels) if labels.count(x) > 1 and labels.index(x) == i]
        if repeated:
            raise ValueError(f"duplicate target{'s' if len(repeated) > 1 else ''}: {', '.join(repeated)}")
        by_tag: dict[str, Target] = {}
        for t in self.targets:  # a ratio and a size can share a file name: 16:9 and 16x9
            first = by_tag.setdefault(t.tag, t)
            if first is not t:
                raise ValueError(f"{first.flag} and {t.flag} would write the same file name (…_{t.tag})")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {self.strategy!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {self.format!r}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be 1..100, not {self.quality}")
        if self.jobs < 1 or self.batch_size < 1:
            raise ValueError("jobs and batch size must be at least 1")
        if self.max_pixels < 1:
            raise ValueError("max pixels must be positive")
        if self.fit not in FITS:
            raise ValueError(f"fit must be one of {FITS}, not {self.fit!r}")
        if not valid_background(self.background):
            raise ValueError(f"background must be auto, blur or a colour #rrggbb, not {self.background!r}")
        if self.focus:
            from smartcrop.focus import check_targets  # focus imports this module

            check_targets(self.focus, self.targets)
        if self.metadata not in METADATA:
            raise ValueError(f"metadata must be one of {METADATA}, not {self.metadata!r}")
        if not (self.max_upscale >= 1 and math.isfinite(self.max_upscale)):
            raise ValueError(f"max upscale must be a number >= 1, not {self.max_upscale}")
        if self.skip_existing and self.overwrite:
            raise ValueError("--skip-existing and --overwrite exclude each other")
