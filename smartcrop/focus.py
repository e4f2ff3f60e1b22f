"""Reviewer overrides (``--focus FILE``): a point or a box per input that the crop must follow.

A file is CSV or JSON Lines, one override a line, in upright image pixels:

    photos/team.jpg,640,360                 # centre every crop of this input on (640, 360)
    photos/team.jpg,100,80,900,500,9:16     # the 9:16 crop holds this box (left,top,width,height)
    {"input": "photos/dog.jpg", "point": [300, 200], "target": "1:1"}
    {"input": "photos/dog.jpg", "box": [10, 20, 300, 200]}

Blank lines and lines starting with ``#`` are ignored, as is a CSV header starting ``input``.
CSV fields are stripped of surrounding spaces unless quoted: a quoted field is kept as it is
(``"#1.jpg"``, ``" 2.jpg"``, a comma, a quote doubled, a line break), as `csv_line` writes
names that need it. A line for one target beats a line for all targets of the same input.
Parsing checks the file alone; `check` checks it against the batch (inputs, image sizes,
targets) before any work.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from smartcrop.options import Target, parse_ratio, parse_size


@dataclass(frozen=True)
class Focus:
    """One override line: where it came from, what input and target, and the point or box."""

    where: str  # "file.csv:3", for error messages
    input: str  # as written in the file (a path like the manifest's `input`)
    point: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    target: str | None = None  # a target label as written ("9:16", "1080x1350"); None = all

    @property
    def key(self) -> str:
        return input_key(self.input)

    @property
    def fingerprint(self) -> str:
        """12 hex digits naming what the override asks for (recorded as the record's `focus`)."""
        kind, values = ("point", self.point) if self.point else ("box", self.box)
        what = {kind: [float(v) for v in values]}
        text = json.dumps({**what, "target": self.target}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def line(self) -> str:
        """The override as a CSV line (what the report offers to copy)."""
        return csv_line(self.input, self.point or self.box, self.target)


def input_key(path) -> str:
    """Inputs match by absolute, normalised path: ``./a.jpg`` and ``a.jpg`` are the same input.
    Object-storage inputs (``s3://bucket/a.jpg``, storage.StoredPath) match by their URI."""
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else str(path)
    if "://" in text:
        return text
    return os.path.normcase(os.path.abspath(text))


def csv_line(input_path: str, values: Sequence[float], target: str | None = None) -> str:
    """One focus-file line in CSV, input quoted only where it must be: where `read_focus`
    would read it otherwise (see `_csv_field`)."""
    fields = [input_path, *(_number(v) for v in values)] + ([target] if target else [])
    return ",".join(_csv_field(f) for f in fields)


def _csv_field(text: str) -> str:
    """A field as written, or quoted (quotes doubled) where read unquoted it would change: a
    leading ``#`` (a comment) or ``{`` (JSON Lines, on a first line), space at either end
    (stripped), a comma, quote or line break, or the header's word ``input``."""
    if text and not (text[0] in "#{" or text[0].isspace() or text[-1].isspace()
                     or any(c in text for c in ',"\r\n') or text.lower() == "input"):
        return text
    return '"' + text.replace('"', '""') + '"'


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.10g}"


def read_focus(path: Path) -> tuple[Focus, ...]:
    """Parse a focus file (CSV or JSON Lines, told apart by the first line); ValueError names
    the file and line of the first problem."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # a CR in a quoted name stays
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read focus file {path}: {getattr(e, 'strerror', None) or e}") from None
    # Only CR, LF and CRLF end lines (str.splitlines also breaks at U+2028 and others, which
    # a name may hold).
    lines = [(n, line) for n, line in enumerate(_LINE_BREAK.split(text), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return ()
    if lines[0][1].lstrip().startswith("{"):
        return tuple(_from_json(f"{path}:{n}", line) for n, line in lines)
    entries = []
    for k, (n, row) in enumerate(_csv_rows(text, str(path))):
        if k == 0 and not row[0][1] and row[0][0].lower() == "input":
            continue  # header
        entries.append(_from_row(f"{path}:{n}", [f for f, _ in row]))
    return tuple(entries)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SPACE = re.compile(r"[^\S\r\n]*")  # white space within a line
_UNQUOTED = re.compile(r"[^,\r\n]*")  # an unquoted field, to its comma or the line's end


def _csv_rows(text: str, path: str) -> Iterator[tuple[int, list[tuple[str, bool]]]]:
    """The CSV records of `text`: the line each starts on, and its fields as (text, quoted).

    A quoted field is kept verbatim (a doubled quote is one quote; line breaks and spaces
    stay), an unquoted one is stripped; spaces around a quoted field are ignored. Blank lines
    and lines whose first character other than space is an unquoted ``#`` are skipped. (The
    csv module cannot say whether a field was quoted, which both rules need.)
    """
    i, line, n = 0, 1, len(text)
    while i < n:
        start = _SPACE.match(text, i).end()
        if start == n:
            return
        if text[start] in "\r\n#":  # a blank line or a comment: to the end of the line
            end = _LINE_BREAK.search(text, start)
            i = end.end() if end else n
            line += 1
            continue
        first, fields = line, []
        while True:  # one field each time round
            k = _SPACE.match(text, i).end()
            if k < n and text[k] == '"':
                parts, k = [], k + 1
                while True:
                    q = text.find('"', k)
                    if q < 0:
                        raise ValueError(f"{path}:{first}: a quoted field is not closed (a \" missing)")
                    parts.append(text[k:q])
                    if text.startswith('"', q + 1):  # a doubled quote
                        parts.append('"')
                        k = q + 2
                        continue
                    k = q + 1
                    break
                value = "".join(parts)
                line += len(_LINE_BREAK.findall(value))
                k = _SPACE.match(text, k).end()
                if k < n and text[k] not in ",\r\n":
                    raise ValueError(f"{path}:{first}: text after a quoted field (quote it all, "
                                     f"doubling the quotes inside)")
                fields.append((value, True))
            else:
                end = _UNQUOTED.match(text, k).end()
                fields.append((text[k:end].strip(), False))
                k = end
            if k < n and text[k] == ",":
                i = k + 1
                continue
            brk = _LINE_BREAK.match(text, k)
            i = brk.end() if brk else n
            line += 1
            break
        yield first, fields


def _from_row(where: str, row: list[str]) -> Focus:
    if len(row) not in (3, 4, 5, 6) or not row[0]:
        raise ValueError(f"{where}: expected input,x,y or input,left,top,width,height "
                         f"(then optionally a target), got {len(row)} fields")
    values = row[1:]
    target = None
    if len(values) in (3, 5):
        target = values.pop()
    return _make(where, row[0], values, "point" if len(values) == 2 else "box", target)


def _from_json(where: str, line: str) -> Focus:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not JSON ({e.msg})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("input"), str) or not obj["input"]:
        raise ValueError(f'{where}: expected an object with "input" and "point" or "box"')
    unknown = set(obj) - {"input", "point", "box", "target"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if ("point" in obj) == ("box" in obj):
        raise ValueError(f'{where}: give "point": [x, y] or "box": [left, top, width, height]')
    kind = "point" if "point" in obj else "box"
    target = obj.get("target")
    if target is not None and not isinstance(target, str):
        raise ValueError(f'{where}: "target" must be a string such as "9:16"')
    values = obj[kind]
    if not isinstance(values, list):
        raise ValueError(f'{where}: "{kind}" must be a list of numbers')
    return _make(where, obj["input"], values, kind, target)


def _make(where: str, input_path: str, values: list, kind: str, target: str | None) -> Focus:
    want = 2 if kind == "point" else 4
    try:
        nums = [float(v) for v in values if not isinstance(v, bool)]
    except (TypeError, ValueError):
        nums = []
    if len(nums) != want or len(values) != want or not all(math.isfinite(v) for v in nums):
        names = "x,y" if kind == "point" else "left,top,width,height"
        raise ValueError(f"{where}: {kind} must be {want} numbers ({names}), got {values}")
    if kind == "box" and (nums[2] <= 0 or nums[3] <= 0):
        raise ValueError(f"{where}: box width and height must be positive, got {values}")
    if any(v < 0 for v in nums):
        raise ValueError(f"{where}: {kind} {values} is outside the image (negative)")
    return Focus(where, input_path, point=tuple(nums) if kind == "point" else None,
                 box=tuple(nums) if kind == "box" else None, target=target or None)


def resolve_target(text: str, targets: Sequence[Target]) -> Target | None:
    """The run's target that a line's target as written names, else None. A target named
    exactly, by its label or file-name tag ("4:5", "4x5", "1080x1350"), is that one, even where
    another target has the same aspect: a run with --ratio 4:5 and --size 1080x1350 tells their
    lines apart. Only otherwise is the text parsed ("8:10" names 4:5, "1080x1350" names 4:5
    in a run without that size)."""
    text = text.strip()
    exact = next((t for t in targets if text in (t.label, t.tag)), None)
    if exact is not None:
        return exact
    for t in targets:
        try:
            parsed = parse_size(text) if t.size else parse_ratio(text)
        except ValueError:
            continue
        if parsed.label == t.label:
            return t
    return None


def check(entries: Iterable[Focus], inputs: Iterable[str | os.PathLike],
          targets: Sequence[Target], image_size) -> None:
    """Check overrides against the batch before work starts; ValueError names the line.

    `inputs` are the batch's input paths; `image_size(path)` gives an input's upright
    (width, height) (a header read) or raises ValueError/OSError for an unreadable file.
    """
    check_targets(entries, targets)
    known = {input_key(p): p for p in inputs}
    seen: dict[tuple[str, Target | None], str] = {}
    for f in entries:
        if f.key not in known:
            raise ValueError(f"{f.where}: input {f.input} is not in this batch")
        which = (f.key, resolve_target(f.target, targets) if f.target is not None else None)
        if which in seen:
            raise ValueError(f"{f.where}: {f.input} already has an override"
                             f"{' for ' + f.target if f.target else ''} at {seen[which]}")
        seen[which] = f.where
        try:
            w, h = image_size(known[f.key])
        except (OSError, ValueError):
            continue  # the file itself is unreadable: its error record says why
        if f.point and not (f.point[0] <= w and f.point[1] <= h):
            raise ValueError(f"{f.where}: point {_values(f.point)} is outside {f.input} ({w}x{h})")
        if f.box and not (f.box[0] + f.box[2] <= w and f.box[1] + f.box[3] <= h):
            raise ValueError(f"{f.where}: box {_values(f.box)} is outside {f.input} ({w}x{h})")


def check_targets(entries: Iterable[Focus], targets: Sequence[Target]) -> None:
    """Every override's target, where it names one, is one of the run's; ValueError otherwise."""
    for f in entries:
        if f.target is not None and resolve_target(f.target, targets) is None:
            labels = ", ".join(t.label for t in targets)
            raise ValueError(f"{f.where}: target {f.target} is not one of this run's ({labels})")


def _values(v: Sequence[float]) -> str:
    return ",".join(_number(x) for x in v)


def by_input(entries: Iterable[Focus]) -> dict[str, list[Focus]]:
    """Overrides grouped by input key, for the per-image lookup."""
    table: dict[str, list[Focus]] = {}
    for f in entries:
        table.setdefault(f.key, []).append(f)
    return table


def pick(entries: Sequence[Focus], target: Target, targets: Sequence[Target]) -> Focus | None:
    """The override for one of the run's `targets` of an input: its own line first (see
    `resolve_target`), else the all-targets line."""
    own = [f for f in entries if f.target is not None and resolve_target(f.target, targets) == target]
    if own:
        return own[0]
    return next((f for f in entries if f.target is None), None)
