"""Config files: TOML read with tomllib, keys checked and mapped to option names."""

from __future__ import annotations

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
