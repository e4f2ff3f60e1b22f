"""Config files: TOML read with tomllib, keys checked and mapped to option names."""

from __future__ import annotations

import re

import pytest

from smartcrop import config

KEYS = {"ratio": ("ratio", True), "format": ("fmt", False), "max-upscale": ("max_upscale", False),
        "overwrite": ("overwrite", False)}


def test_keys_map_to_parameters_repeatables_to_lists(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('ratio = "16:9"\nformat = "webp"\nmax_upscale = 2.5\noverwrite = true\n')
    got = config.to_defaults(config.read(path), KEYS, path)
    assert got == {"ratio": ["16:9"], "fmt": "webp", "max_upscale": 2.5, "overwrite": True}


@pytest.mark.parametrize(("text", "message"), [
    ("formt = 'png'", r"unknown key 'formt' \(did you mean 'format'\?\)"),
    ("[ratio]\nx = 1", "must be a value, not a table"),
    ("format = ['png', 'jpeg']", "takes one value, not a list"),
    ("ratio = ", "not valid TOML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        config.to_defaults(config.read(path), KEYS, path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read config"):
        config.read(tmp_path / "nope.toml")


def test_values_are_checked_against_the_kind_of_option(tmp_path):
    keys = {"quality": ("quality", False, "int"), "manifest": ("manifest", False, "path"),
            "dry-run": ("dry_run", False, "flag"), "max-upscale": ("max_upscale", False, "number"),
            "ratio": ("ratio", True, "ratio"), "size": ("size", True)}
    path = tmp_path / "a.toml"
    path.write_text('quality = 85.0\nmanifest = "m.jsonl"\ndry-run = true\nmax-upscale = 2\n'
                    'ratio = [1.91, "16:9"]\nsize = "10x10"\n')
    assert config.to_defaults(config.read(path), keys, path) == {
        "quality": 85, "manifest": "m.jsonl", "dry_run": True, "max_upscale": 2,
        "ratio": ["1.91", "16:9"], "size": ["10x10"]}
    for text, message in [("quality = 85.5", "'quality': expected a whole number, got 85.5"),
                          ("manifest = 5", "'manifest': expected a string (a path), got 5"),
                          ("dry-run = 1", "'dry-run': expected true or false, got 1"),
                          ("max-upscale = true", "'max-upscale': expected a number, got true"),
                          ("ratio = [true]", "'ratio': expected a string such as"),
                          ("size = 1979-05-27", "'size': expected a string, got 1979-05-27")]:
        path.write_text(text)
        with pytest.raises(config.BadValue, match="^" + re.escape(f"{path}: invalid value for {message}")):
            config.to_defaults(config.read(path), keys, path)
