"""Parsing of --ratio / --size and the checks CropOptions makes on construction."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from smartcrop.options import FORMATS, STRATEGIES, CropOptions, Target, parse_ratio, parse_size, to_ratio


@pytest.mark.parametrize("text, aspect, label, tag", [
    ("16:9", 16 / 9, "16:9", "16x9"),
    ("16x9", 16 / 9, "16:9", "16x9"),
    ("16X9", 16 / 9, "16:9", "16x9"),
    ("16/9", 16 / 9, "16:9", "16x9"),
    (" 16 : 9 ", 16 / 9, "16:9", "16x9"),
    ("32:18", 16 / 9, "16:9", "16x9"),
    ("9:16", 9 / 16, "9:16", "9x16"),
    ("1:1", 1.0, "1:1", "1x1"),
    ("4:4", 1.0, "1:1", "1x1"),
    ("1.91:1", 1.91, "1.91:1", "1.91x1"),
    ("1.91", 1.91, "1.91:1", "1.91x1"),
    ("4:5", 0.8, "4:5", "4x5"),
    ("2.0:1", 2.0, "2:1", "2x1"),
    ("2", 2.0, "2:1", "2x1"),
    (".5", 0.5, "0.5:1", "0.5x1"),
    ("1:100", 0.01, "1:100", "1x100"),
    ("100:1", 100.0, "100:1", "100x1"),
])
def test_parse_ratio_accepts(text, aspect, label, tag):
    target = parse_ratio(text)
    assert target.aspect == pytest.approx(aspect)
    assert target.label == label
    assert target.tag == tag
    assert target.size is None
    assert target.record_fields() == {"ratio": label}


@pytest.mark.parametrize("text", [
    "0:1", "1:0", "0", "abc", "16:", ":9", "-1:2", "1:-2", "1:1000", "1000:1", "16:9:1", "", "  ",
    "1e3", "16;9", "16 9", "nan", "inf",
])
def test_parse_ratio_rejects(text):
    with pytest.raises(ValueError, match="invalid ratio"):
        parse_ratio(text)


@pytest.mark.parametrize("text, size", [
    ("1080x1350", (1080, 1350)),
    ("1080X1350", (1080, 1350)),
    ("1080:1350", (1080, 1350)),
    (" 1200 x 628 ", (1200, 628)),
    ("1x1", (1, 1)),
    ("65535x65535", (65535, 65535)),
    ("1x100", (1, 100)),
    ("10000x100", (10000, 100)),
])
def test_parse_size_accepts(text, size):
    target = parse_size(text)
    assert target.size == size
    assert target.aspect == pytest.approx(size[0] / size[1])
    assert target.label == f"{size[0]}x{size[1]}" == target.tag
    assert target.record_fields() == {"size": list(size)}


@pytest.mark.parametrize("text", ["0x5", "5x0", "10", "axb", "10x", "x10", "-5x5", "1.5x2", "65536x10", ""])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.parametrize("value, label", [("16:9", "16:9"), ("1920:1080", "16:9"), ("99x100", "99:100"),
                                          (1.5, "1.5:1"), (2, "2:1"), (Fraction(4, 5), "4:5")])
def test_to_ratio_takes_text_and_numbers(value, label):
    assert to_ratio(value).label == label


def test_to_ratio_refuses_pixels_and_other_types():
    with pytest.raises(ValueError, match=r"^'1080x1080' looks like pixels: did you mean --size 1080x1080\?"):
        to_ratio("1080x1080")
    with pytest.raises(TypeError, match="not list"):
        to_ratio([16, 9])


@pytest.mark.parametrize("text", ["1x200", "10000x1", "65535x600"])
def test_parse_size_refuses_aspects_a_ratio_may_not_have(text):
    with pytest.raises(ValueError, match=rf"^invalid size '{text}': aspect within 1:100\.\.100:1$"):
        parse_size(text)


# --- CropOptions ------------------------------------------------------------------------------

TARGETS = (parse_ratio("16:9"), parse_size("1080x1350"))


def test_crop_options_defaults():
    options = CropOptions(targets=TARGETS)
    assert options.strategy == "window" and options.format == "keep" and options.quality == 90
    assert not (options.skip_existing or options.overwrite or options.dry_run)
    assert options.upscale and options.max_upscale == 4.0  # exact sizes by default


@pytest.mark.parametrize("factor", [0.5, 0.99, float("nan"), float("inf")])
def test_max_upscale_checked(factor):
    with pytest.raises(ValueError, match="max upscale"):
        CropOptions(targets=TARGETS, max_upscale=factor)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_crop_options_accepts_every_strategy_and_format(strategy, fmt):
    options = CropOptions(targets=TARGETS, strategy=strategy, format=fmt)
    assert (options.strategy, options.format) == (strategy, fmt)


@pytest.mark.parametrize("kwargs, message", [
    ({"targets": ()}, "at least one"),
    ({"targets": (parse_ratio("16:9"), parse_ratio("32:18"))}, "duplicate"),
    ({"targets": (parse_ratio("16x9"), parse_ratio("1:1"), parse_ratio("16/9"))}, "duplicate"),
    ({"strategy": "smart"}, "strategy"),
    ({"strategy": "Window"}, "strategy"),
    ({"format": "gif"}, "format"),
    ({"format": "jpg"}, "format"),
    ({"quality": 0}, "quality"),
    ({"quality": 101}, "quality"),
    ({"jobs": 0}, "jobs"),
    ({"batch_size": 0}, "batch"),
    ({"max_pixels": 0}, "max pixels"),
    ({"skip_existing": True, "overwrite": True}, "exclude"),
])
def test_crop_options_rejects(kwargs, message):
    kwargs = {"targets": TARGETS, **kwargs}
    with pytest.raises(ValueError, match=message):
        CropOptions(**kwargs)


@pytest.mark.parametrize("quality", [1, 100])
def test_crop_options_quality_bounds_are_inclusive(quality):
    assert CropOptions(targets=TARGETS, quality=quality).quality == quality


def test_crop_options_a_ratio_and_a_size_of_its_aspect_are_distinct_targets():
    options = CropOptions(targets=(parse_ratio("4:5"), parse_size("1080x1350")))
    assert [t.label for t in options.targets] == ["4:5", "1080x1350"]


@pytest.mark.parametrize("ratio, size", [("16:9", "16x9"), ("4:5", "4x5"), ("851:315", "851x315")])
def test_crop_options_refuse_a_ratio_and_a_size_writing_the_same_file(ratio, size):
    with pytest.raises(ValueError) as e:
        CropOptions(targets=(parse_ratio(ratio), parse_size("1080x1350"), parse_size(size)))
    assert str(e.value) == f"--ratio {ratio} and --size {size} would write the same file name (…_{size})"


def test_crop_options_duplicates_name_only_the_repeated_targets():
    with pytest.raises(ValueError) as e:
        CropOptions(targets=tuple(map(parse_ratio, ("1:1", "1:1", "4:5", "16:9", "32:18"))))
    assert str(e.value) == "duplicate targets: 1:1, 16:9"
    with pytest.raises(ValueError) as e:
        CropOptions(targets=(parse_size("800x800"), parse_ratio("1:1"), parse_size("800x800")))
    assert str(e.value) == "duplicate target: 800x800"


def test_crop_options_is_frozen():
    options = CropOptions(targets=TARGETS, debug=Path("dbg"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.strategy = "box"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.targets = ()  # type: ignore[misc]
    changed = dataclasses.replace(options, strategy="box")
    assert changed.strategy == "box" and options.strategy == "window"
    with pytest.raises(ValueError):
        dataclasses.replace(options, overwrite=True, skip_existing=True)


def test_target_is_frozen_and_hashable():
    target = parse_ratio("16:9")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.aspect = 1.0  # type: ignore[misc]
    assert target == Target(aspect=16 / 9, label="16:9")
    assert len({target, parse_ratio("32:18"), parse_ratio("16x9")}) == 1
