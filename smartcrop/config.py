"""``--config FILE`` / ``./smartcrop.toml``: option values for a run, read with stdlib tomllib.

Keys are the long option names without dashes (``ratio``, ``size``, ``preset``, ``format``,
``max-upscale`` or ``max_upscale``, ...). The CLI turns them into click defaults, so a flag on
the command line always wins over the file.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

DEFAULT_NAME = "smartcrop.toml"


def read(path: Path) -> dict:
    """The file's table; ValueError naming the file for unreadable files and TOML errors."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ValueError(f"{path}: cannot read config: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None


def to_defaults(table: dict, options: dict[str, tuple[str, bool]], path: Path) -> dict:
    """Map the file's keys to click parameter names, checking each key.

    `options` maps each allowed key (long option name, e.g. ``max-upscale``) to its
    parameter name and whether it is repeatable. Repeatable options take a list (or one
    value). Raises ValueError naming the first unknown key.
    """
    defaults = {}
    for key, value in table.items():
        name = key.replace("_", "-")
        if name not in options:
            close = difflib.get_close_matches(name, list(options), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{path}: unknown key {key!r}{hint}; keys are the long option names: "
                             f"{', '.join(sorted(options))}")
        param, repeatable = options[name]
        if isinstance(value, dict):
            raise ValueError(f"{path}: {key!r} must be a value, not a table")
        if repeatable:
            value = value if isinstance(value, list) else [value]
        elif isinstance(value, list):
            raise ValueError(f"{path}: {key!r} takes one value, not a list")
        defaults[param] = [str(v) for v in value] if repeatable else value
    return defaults
