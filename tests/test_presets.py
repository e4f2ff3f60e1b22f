"""Social-media presets: names and groups expand to size targets, each size once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smartcrop import presets
from smartcrop.options import parse_size


def test_every_preset_is_a_valid_size_with_a_use_and_a_source():
    for name, (w, h, use) in presets.PRESETS.items():
        assert parse_size(f"{w}x{h}").size == (w, h) and use, name
        assert name.split("-")[0] in presets.SOURCES, name


def test_required_platforms_are_there():
    sizes = {name: (w, h) for name, (w, h, _) in presets.PRESETS.items()}
    assert sizes["instagram-square"] == (1080, 1080) and sizes["instagram-portrait"] == (1080, 1350)
    assert sizes["instagram-landscape"] == (1080, 566) and sizes["instagram-story"] == (1080, 1920)
    for group in ("facebook", "x", "linkedin", "pinterest", "youtube", "og"):
        assert presets.expand([group]), group


def test_groups_expand_in_table_order_and_sizes_are_not_repeated():
    labels = [t.label for t in presets.expand(["instagram", "facebook", "instagram-story"])]
    assert labels[:4] == ["1080x1080", "1080x1350", "1080x566", "1080x1920"]
    assert len(labels) == len(set(labels))  # facebook-post = instagram-portrait, stories shared
    assert [t.label for t in presets.expand(["Open-Graph"])] == ["1200x630"]


def test_unknown_preset_names_the_closest():
    with pytest.raises(ValueError, match=r"unknown preset 'instagam'.*did you mean instagram"):
        presets.expand(["instagam"])


def test_listing_has_every_preset_the_date_and_sources():
    text = presets.listing()
    for name, (w, h, _) in presets.PRESETS.items():
        assert name in text and f"{w}x{h}" in text
    assert presets.CHECKED in text and all(url.split()[0] in text for url in presets.SOURCES.values())


def test_readme_preset_table_matches_the_code():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Social-media presets"):]
    rows = [line for line in section[:section.index("\n\n", section.index("| preset |"))].splitlines()
            if line.startswith("| `")]
    shown = {}
    for row in rows:
        names_cell, sizes_cell = row.split("|")[1:3]
        names = re.findall(r"`([^`]+)`", names_cell.split("(")[0])
        names = [names[0].split("-")[0] + n if n.startswith("-") else n for n in names]  # `-link`
        sizes = [tuple(map(int, s.strip().split("×"))) for s in sizes_cell.split("/")]
        shown.update(zip(names, sizes, strict=True))
    assert shown == {name: (w, h) for name, (w, h, _) in presets.PRESETS.items()}
