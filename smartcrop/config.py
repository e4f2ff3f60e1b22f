"""``--config FILE`` / ``./smartcrop.toml``: option values for a run, read with stdlib tomllib.

Keys are the long option names without dashes (``ratio``, ``size``, ``preset``, ``format``,
``max-upscale`` or ``max_upscale``, ...). The CLI turns them into click defaults, so a flag on
the command line always wins over the file.
"""

from __future__ import annotations

import datetime
import difflib
import tomllib
from pathlib import Path

DEFAULT_NAME = "smartcrop.toml"


class BadValue(ValueError):
    """A key's value is of a TOML type its option does not take (``manifest = 5``)."""


def _whole(v):
    """An int for a TOML integer, or for a float that is a whole number (``max-pixels = 1e9``)."""
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise TypeError


def _number(v):
    if isinstance(v, (int, float)):
        return v
    raise TypeError


def _text(v):
    if isinstance(v, str):
        return v
    raise TypeError


def _flag(v):
    if isinstance(v, bool):
        return v
    raise TypeError


def _ratio(v):
    if isinstance(v, (str, int, float)):
        return str(v)  # 1.91 -> "1.91", as on the command line
    raise TypeError


# What each kind of option takes from the file: a check/convert (TypeError: the wrong type) and
# the words for the error. Booleans are never numbers here, although bool is an int in Python.
KINDS = {
    "flag": (_flag, "true or false"),
    "int": (_whole, "a whole number"),
    "number": (_number, "a number"),
    "path": (_text, "a string (a path)"),
    "string": (_text, "a string"),
    "ratio": (_ratio, 'a string such as "16:9" or a number such as 1.91'),
}


def _shown(value) -> str:
    """A value as the TOML file wrote it: true, 5, 85.5, "text", 2026-01-01, [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def _typed(value, kind: str, key: str, path: Path):
    """`value` checked against (and converted for) the option's kind; BadValue naming the key."""
    convert, words = KINDS[kind]
    if not isinstance(value, bool) or kind == "flag":
        try:
            return convert(value)
        except TypeError:
            pass
    raise BadValue(f"{path}: invalid value for {key!r}: expected {words}, got {_shown(value)}")


def read(path: Path) -> dict:
    """The file's table; ValueError naming the file for unreadable files and TOML errors."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ValueError(f"{path}: cannot read config: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None


def to_defaults(table: dict, options: dict[str, tuple], path: Path) -> dict:
    """Map the file's keys to click parameter names, checking each key and its value's type.

    `options` maps each allowed key (long option name, e.g. ``max-upscale``) to its
    parameter name, whether it is repeatable and, optionally, its kind (a key of KINDS;
    default "string" for repeatable options, else unchecked). Repeatable options take a list
    (or one value). Raises ValueError naming the first unknown key, BadValue (a ValueError)
    naming the first value of the wrong type.
    """
    defaults = {}
    for key, value in table.items():
        name = key.replace("_", "-")
        if name not in options:
            close = difflib.get_close_matches(name, list(options), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{path}: unknown key {key!r}{hint}; keys are the long option names: "
                             f"{', '.join(sorted(options))}")
        param, repeatable, *kind = options[name]
        kind = kind[0] if kind else "string" if repeatable else None
        if isinstance(value, dict):
            raise ValueError(f"{path}: {key!r} must be a value, not a table")
        if repeatable:
            value = value if isinstance(value, list) else [value]
        elif isinstance(value, list):
            raise ValueError(f"{path}: {key!r} takes one value, not a list")
        if kind is None:
            defaults[param] = value
        elif repeatable:
            defaults[param] = [_typed(v, kind, key, path) for v in value]
        else:
            defaults[param] = _typed(value, kind, key, path)
    return defaults
